/**
 * `npm run ops -- <daily|weekly|monthly|golive|uptime> [--env local] [--json]
 *  [--incidents github|local|off] [--fail-on fail|warn|never] [--report-dir DIR]`
 * `npm run ops -- backup --env <env>` (backup/cli.ts), `npm run ops -- playbook <name> ...` (playbooks/cli.ts)
 *
 * Runs a cadence's checks for an environment (runbook/environments/<name>.yaml), reconciles the
 * results with the incident issues (GitHub in a workflow, a local store under .ops/<env>/
 * otherwise), prints the report (Markdown, or one JSON object with --json), writes it under the
 * report directory, and shows progress on stderr. The exit code follows --fail-on: 1 when the
 * verdict is that bad or worse, 0 otherwise; 2 for bad arguments or settings that cannot be loaded.
 */
import { parseArgs } from 'node:util';
import { LOCAL_ENV_PATH } from '../common/local-env.js';
import { CADENCES, type Cadence } from './cadences.js';
import { loadOpsTarget, type OpsTarget } from './config/ops-target.js';
import { loadRunbookConfig, type RunbookConfig } from './config/runbook-config.js';
import type { CheckStatus } from './engine/check.js';
import { createIncidentStore } from './incidents/create-incident-store.js';
import { incidentPolicy } from './incidents/policy.js';
import { formatIncidentSummary, reconcileIncidents, type IncidentSummary } from './incidents/reconcile.js';
import type { IncidentStore } from './incidents/store.js';
import { runBackupCommand } from './backup/cli.js';
import { runPlaybookCommand } from './playbooks/cli.js';
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
  /** Where the local incident store keeps .ops/<env>/incidents.json (default: the working directory). */
  incidentsRoot?: string;
}

const INCIDENTS = ['github', 'local', 'off'] as const;
type IncidentsMode = (typeof INCIDENTS)[number];

const FAIL_ON = ['fail', 'warn', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'playbook') return runPlaybookCommand(argv.slice(1), io);
  if (argv[0] === 'backup') return runBackupCommand(argv.slice(1), io);
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
        incidents: { type: 'string' },
      },
    });
  } catch (error) {
    io.err(`ops: ${(error as Error).message}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  const cadence = positionals[0];
  if (positionals.length !== 1 || !CADENCES.includes(cadence as Cadence)) {
    io.err(
      `ops: give one cadence: ${CADENCES.join(' | ')}, or backup, or playbook <name> (got ${positionals.join(' ') || 'none'})\n`,
    );
    return 2;
  }
  if (!FAIL_ON.includes(values['fail-on'] as FailOn)) {
    io.err(`ops: --fail-on must be ${FAIL_ON.join(', ')} (got ${values['fail-on']})\n`);
    return 2;
  }
  const processEnv = io.env ?? process.env;
  // In a workflow incidents are GitHub issues; elsewhere they go to the local store.
  const mode = (values.incidents ??
    (processEnv.GITHUB_ACTIONS === 'true' ? 'github' : 'local')) as IncidentsMode;
  if (!INCIDENTS.includes(mode)) {
    io.err(`ops: --incidents must be ${INCIDENTS.join(', ')} (got ${mode})\n`);
    return 2;
  }
  // Everything that can be wrong with the settings is found before any check runs.
  let target: OpsTarget;
  let runbook: RunbookConfig;
  let store: IncidentStore;
  try {
    runbook = loadRunbookConfig();
    target = await loadOpsTarget(values.env!, {
      env: processEnv,
      mask: io.mask,
      localEnvPath: io.envPath ?? LOCAL_ENV_PATH,
      environmentsDir: io.environmentsDir,
    });
    store = createIncidentStore({
      mode,
      env: target.name,
      rootDir: io.incidentsRoot,
      environment: processEnv as NodeJS.ProcessEnv,
      now: io.now,
    });
  } catch (error) {
    io.err(`ops: ${(error as Error).message}\n`);
    return 2;
  }

  let incidents: IncidentSummary | undefined;
  const { openAfter, closeAfter, maxOpenPerRun, warnIsFailure } = runbook.incidents;
  const run = await runCadence(cadence as Cadence, target, {
    reportDir: values['report-dir']!,
    runbook,
    now: io.now,
    progress: (line) => io.err(`ops: ${line}\n`),
    appendix: async (results) => {
      if (mode === 'off')
        return formatIncidentSummary({ mode, env: target.name } as IncidentSummary).join('\n');
      io.err(`ops: reconciling incidents (${mode})\n`);
      incidents = await reconcileIncidents(
        results,
        store,
        incidentPolicy({ openAfter, closeAfter, warnIsFailure, maxOpenedPerRun: maxOpenPerRun }),
        (io.now ?? Date.now)(),
      );
      for (const e of incidents.errors) io.err(`ops: incident store: ${e}\n`);
      return `## Incidents\n\n${formatIncidentSummary(incidents).join('\n')}\n`;
    },
  });
  io.out(
    values.json
      ? `${JSON.stringify({
          cadence,
          env: target.name,
          verdict: run.verdict,
          results: run.results,
          incidents: incidents ?? null,
          report: run.file,
        })}\n`
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
