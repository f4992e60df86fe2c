/**
 * What every `npm run ops` command shares: the I/O it is given (the CLI, an action or a test) and
 * "load the environment, check it, or exit 2" in one place. Commands import this module, never
 * ops/cli.ts (which imports them).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { LOCAL_ENV_PATH } from '../common/local-env.js';
import { ENVIRONMENTS_DIR } from './config/environment-config.js';
import { loadOpsTarget, type OpsTarget } from './config/ops-target.js';
import { preflight } from './config/preflight.js';

export interface CliIo {
  out: (text: string) => void;
  err: (text: string) => void;
  now?: () => number;
  /** The sandbox's env.json (for `--env local`). */
  envPath?: string;
  /** Where secrets come from (default process.env) and how they are masked (in actions: core.setSecret). */
  env?: Record<string, string | undefined>;
  mask?: (value: string) => void;
  environmentsDir?: string;
  /** Where the local incident store keeps .ops/<env>/incidents.json (default: the working directory). */
  incidentsRoot?: string;
  /** The git checkout a deploy plans (default: the working directory). */
  cwd?: string;
}

/**
 * The environment `envName` with its secrets, once the preflight found every secret and setting
 * that `uses` reads in place; otherwise undefined after one line on stderr (the caller exits 2).
 * `uses` does what the command is about to do, short of connecting (see config/preflight.ts).
 */
export async function loadCommandTarget(
  prefix: string,
  envName: string,
  io: CliIo,
  uses: (target: OpsTarget) => unknown,
): Promise<OpsTarget | undefined> {
  try {
    const target = await loadOpsTarget(envName, {
      env: io.env ?? process.env,
      mask: io.mask,
      localEnvPath: io.envPath ?? LOCAL_ENV_PATH,
      environmentsDir: io.environmentsDir,
    });
    await preflight(target, uses, join(io.environmentsDir ?? ENVIRONMENTS_DIR, `${envName}.yaml`));
    return target;
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return undefined;
  }
}

/**
 * Prints a command's result, or with `--output FILE` writes it there (npm prints its own banner on
 * stdout, so `npm run ops -- ... --json | jq` needs `npm run -s` or a file). False when the file
 * could not be written; the result is printed instead, so it is not lost.
 */
export async function emitResult(
  prefix: string,
  text: string,
  output: string | undefined,
  io: CliIo,
): Promise<boolean> {
  if (output === undefined || output === '-') {
    io.out(text);
    return true;
  }
  try {
    await mkdir(dirname(output), { recursive: true });
    await writeFile(output, text);
    io.err(`${prefix}: output written to ${output}\n`);
    return true;
  } catch (error) {
    io.err(`${prefix}: --output ${output} not written (${(error as Error).message}); printing it instead\n`);
    io.out(text);
    return false;
  }
}
