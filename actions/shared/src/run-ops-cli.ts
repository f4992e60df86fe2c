/**
 * Runs the ops CLI (ops/cli.ts `runCli`) in-process, capturing what it prints: stdout is the
 * result (Markdown or JSON), stderr is progress, passed on line by line as it comes.
 */
import type { CliIo } from '../../../ops/cli-io.js';

export type RunCli = (argv: string[], io: CliIo) => Promise<number>;

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/**
 * `mask` is handed to the CLI, which masks every secret it reads from its environment
 * configuration with it (in an action: core.setSecret).
 */
export async function runOpsCli(
  runCli: RunCli,
  argv: string[],
  progress: (line: string) => void,
  mask?: (value: string) => void,
): Promise<CliRun> {
  let out = '';
  let err = '';
  let pending = '';
  const io: CliIo = {
    ...(mask ? { mask } : {}),
    out: (text) => {
      out += text;
    },
    err: (text) => {
      err += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) progress(line);
    },
  };
  let code: number;
  try {
    code = await runCli(argv, io);
  } catch (error) {
    err += `ops: ${(error as Error).message}\n`;
    progress(`ops: ${(error as Error).message}`);
    code = 1;
  }
  if (pending) progress(pending);
  return { code, out, err };
}

/** The last lines of stderr, for a failure message that says why without the whole log. */
export function tailLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join('\n');
}
