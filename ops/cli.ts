/**
 * `npm run ops -- <daily|weekly|monthly|golive|uptime> [--env local] [--json] [--fail-on fail|warn|never]
 *  [--report-dir DIR]`
 *
 * Runs a cadence's checks for an environment (runbook/environments/<name>.yaml), prints the
 * report (Markdown, or one JSON object with --json), writes it under the report directory, and
 * shows progress on stderr. The exit code follows --fail-on: 1 when the verdict is that bad or
 * worse, 0 otherwise; 2 for bad arguments or an environment that cannot be loaded.
 */
import { parseArgs } from 'node:util';
import { LOCAL_ENV_PATH } from '../common/local-env.js';
import { CADENCES, type Cadence } from './cadences.js';
import { loadOpsTarget, type OpsTarget } from './config/ops-target.js';
import type { CheckStatus } from './engine/check.js';
import { runCadence } from './run-cadence.js';

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
}

const FAIL_ON = ['fail', 'warn', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        env: { type: 'string', default: 'local' },
        json: { type: 'boolean', default: false },
        'fail-on': { type: 'string', default: 'fail' },
        'report-dir': { type: 'string', default: 'reports' },
      },
    });
  } catch (error) {
    io.err(`ops: ${(error as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const cadence = positionals[0];
  if (positionals.length !== 1 || !CADENCES.includes(cadence as Cadence)) {
    io.err(`ops: give one cadence: ${CADENCES.join(' | ')} (got ${positionals.join(' ') || 'none'})\n`);
    return 2;
  }
  if (!FAIL_ON.includes(values['fail-on'] as FailOn)) {
    io.err(`ops: --fail-on must be ${FAIL_ON.join(', ')} (got ${values['fail-on']})\n`);
    return 2;
  }
  let target: OpsTarget;
  try {
    target = await loadOpsTarget(values.env!, {
      env: io.env,
      mask: io.mask,
      localEnvPath: io.envPath ?? LOCAL_ENV_PATH,
      environmentsDir: io.environmentsDir,
    });
  } catch (error) {
    io.err(`ops: ${(error as Error).message}\n`);
    return 2;
  }

  const run = await runCadence(cadence as Cadence, target, {
    reportDir: values['report-dir']!,
    now: io.now,
    progress: (line) => io.err(`ops: ${line}\n`),
  });
  io.out(
    values.json
      ? `${JSON.stringify({ cadence, env: target.name, verdict: run.verdict, results: run.results, report: run.file })}\n`
      : run.markdown,
  );
  io.err(`ops: report written to ${run.file}\n`);
  return exitCodeFor(run.verdict, values['fail-on'] as FailOn);
}

/** 1 when the run's verdict is as bad as --fail-on or worse (an `error` counts as a failure). */
export function exitCodeFor(v: CheckStatus, failOn: FailOn): 0 | 1 {
  if (failOn === 'never') return 0;
  const bad: CheckStatus[] = failOn === 'warn' ? ['fail', 'error', 'warn'] : ['fail', 'error'];
  return bad.includes(v) ? 1 : 0;
}
