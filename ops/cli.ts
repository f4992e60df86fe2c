/**
 * `npm run ops -- <command> [options]`, `npm run ops -- <command> --help` for each command's usage.
 *
 * A cadence (`daily`, `weekly`, `monthly`, `golive`, `uptime`) runs its checks for an environment
 * (runbook/environments/<name>.yaml), reconciles the results with the incident issues (GitHub in a
 * workflow, a local store under .ops/<env>/ otherwise), prints the report (Markdown, or one JSON
 * object with --json), writes it under the report directory, and shows progress on stderr. The exit
 * code follows --fail-on: 1 when the verdict is that bad or worse, 0 otherwise; 2 for bad arguments
 * or an environment that is not ready (found by the preflight before any check runs).
 * `backup` is backup/cli.ts, `archive run|restore` is archive/cli.ts, `playbook <name>` is playbooks/cli.ts.
 */
import { parseArgs } from 'node:util';
import { runArchiveCommand } from './archive/cli.js';
import { runBackupCommand } from './backup/cli.js';
import { CADENCES, planCadence, type Cadence } from './cadences.js';
import {
  formatUsage,
  parseCommand,
  prefixOf,
  table,
  UsageError,
  wantsHelp,
  type CommandSpec,
  type OptionSpec,
} from './cli-args.js';
import { emitResult, loadCommandTarget, type CliIo } from './cli-io.js';
import { runDeployCommand } from './deploy/cli.js';
import { loadRunbookConfig, type RunbookConfig } from './config/runbook-config.js';
import type { CheckStatus } from './engine/check.js';
import { atLeast } from './engine/status.js';
import { createIncidentStore } from './incidents/create-incident-store.js';
import { incidentPolicy } from './incidents/policy.js';
import { formatIncidentSummary, reconcileIncidents, type IncidentSummary } from './incidents/reconcile.js';
import type { IncidentStore } from './incidents/store.js';
import { runPlaybookCommand } from './playbooks/cli.js';
import { runPreflightCommand } from './preflight/cli.js';
import { runProvisionCommand } from './provision/cli.js';
import { runCadence } from './run-cadence.js';

const INCIDENTS = ['github', 'local', 'off'] as const;
type IncidentsMode = (typeof INCIDENTS)[number];

const FAIL_ON = ['fail', 'warn', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

/** Every command word, for tests that go through them all. */
export const COMMANDS = [
  ...CADENCES,
  'backup',
  'archive',
  'playbook',
  'deploy',
  'preflight',
  'provision',
] as const;

const TOP: CommandSpec = {
  name: '',
  synopsis: '<command> [options]',
  about: [
    "The runbook's ops engine: what the scheduled and manual workflows run, from a terminal.",
    'Results go to stdout, progress to stderr. npm prints a banner on stdout: use `npm run -s ops`',
    'when piping (e.g. to jq), or --output FILE.',
  ],
  sections: [
    {
      heading: 'Commands',
      lines: table([
        [CADENCES.join(' | '), "run a cadence's checks, print the report, open and close incidents"],
        ['backup', "dump the environment's database into its backup store"],
        [
          'archive run',
          'run the daily archive now, optionally with a shorter retention (a dry run unless --apply)',
        ],
        ['archive restore', "bring a tenant's archived telemetry back into the database"],
        ['playbook <name>', 'run an incident playbook (a dry run unless --apply)'],
        ['deploy --plan | --stages', 'plan a deploy of HEAD, or run its built stages (database)'],
        ['preflight --env NAME', 'is the environment ready: Azure sign-in, subscription, secrets, names'],
        [
          'provision --env NAME [--what-if]',
          "the environment's Azure resources from infra/: what-if, then apply",
        ],
        ['help <command>', 'the usage of a command, like <command> --help'],
      ]),
    },
  ],
  options: {},
  exitCodes: { 0: 'the command succeeded', 1: 'it failed (each command says how in its --help)' },
  example: 'npm run ops -- daily --help',
};

const CADENCE_OPTIONS: Record<string, OptionSpec> = {
  env: {
    type: 'string',
    arg: 'NAME',
    default: 'local',
    help: 'runbook/environments/NAME.yaml; local is the running `npm run dev` sandbox',
  },
  json: {
    type: 'boolean',
    default: false,
    help: 'one JSON object (verdict, results, incidents, report path) instead of Markdown',
  },
  output: {
    type: 'string',
    arg: 'FILE',
    defaultText: 'stdout',
    help: 'write the report (or the JSON) to FILE instead of stdout',
  },
  incidents: {
    type: 'string',
    arg: 'MODE',
    defaultText: 'github in GitHub Actions, else local',
    help: 'github (issues), local (.ops/<env>/incidents.json) or off',
  },
  'fail-on': {
    type: 'string',
    arg: 'LEVEL',
    default: 'fail',
    help: 'exit 1 at this verdict or worse: fail (error counts as fail), warn, never',
  },
  'report-dir': {
    type: 'string',
    arg: 'DIR',
    default: 'reports',
    help: 'where the Markdown report is written',
  },
};

function cadenceSpec(cadence: Cadence): CommandSpec {
  let checks: string[];
  try {
    checks = loadRunbookConfig().cadences[cadence];
  } catch {
    checks = ['(runbook/runbook.yaml does not load: run the command to see why)'];
  }
  return {
    name: cadence,
    synopsis: `${cadence} [options]`,
    about: [
      `Runs the ${cadence} checks of runbook/runbook.yaml against an environment, reconciles incident`,
      'issues, prints the report and writes it under --report-dir. Checks the environment first:',
      'missing secrets or placeholder settings stop it before any check runs (exit 2).',
      '',
      ...wrap(`Checks: ${checks.join(', ')}`, 100),
    ],
    options: CADENCE_OPTIONS,
    exitCodes: { 0: 'the verdict is better than --fail-on', 1: 'the verdict is --fail-on or worse' },
    example: `npm run -s ops -- ${cadence} --env prod --json --output ${cadence}.json`,
  };
}

export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const at = commandIndex(argv);
  const command = at === -1 ? undefined : argv[at]!;
  const rest = at === -1 ? argv : [...argv.slice(0, at), ...argv.slice(at + 1)];
  if (command === 'playbook') return runPlaybookCommand(rest, io);
  if (command === 'backup') return runBackupCommand(rest, io);
  if (command === 'archive') return runArchiveCommand(rest, io);
  if (command === 'deploy') return runDeployCommand(rest, io);
  if (command === 'preflight') return runPreflightCommand(rest, io);
  if (command === 'provision') return runProvisionCommand(rest, io);
  if (command === 'help') return runCli(rest.length ? [...rest, '--help'] : ['--help'], io);
  if (command && (CADENCES as readonly string[]).includes(command))
    return runCadenceCommand(command as Cadence, rest, io);
  if (wantsHelp(argv)) {
    io.out(formatUsage(TOP));
    return 0;
  }
  const known = `${CADENCES.join(', ')}, backup, archive run|restore, playbook <name>, deploy, preflight or provision`;
  io.err(
    command
      ? `ops: unknown command "${command}": give ${known} (see npm run ops -- --help)\n`
      : `ops: give a command: ${known} (see npm run ops -- --help)\n`,
  );
  return 2;
}

/** Where the command word is: the first positional, so `--env prod daily` works as well. */
function commandIndex(argv: string[]): number {
  const stringOptions = Object.fromEntries(
    Object.entries(CADENCE_OPTIONS)
      .filter(([, o]) => o.type === 'string')
      .map(([name]) => [name, { type: 'string' as const }]),
  );
  const { tokens } = parseArgs({
    args: argv,
    strict: false,
    allowPositionals: true,
    tokens: true,
    options: stringOptions,
  });
  const first = tokens.find((t) => t.kind === 'positional' || t.kind === 'option-terminator');
  return first?.kind === 'positional' ? first.index : -1;
}

async function runCadenceCommand(cadence: Cadence, argv: string[], io: CliIo): Promise<number> {
  const spec = cadenceSpec(cadence);
  const prefix = prefixOf(spec);
  const processEnv = io.env ?? process.env;
  const parsed = parseCommand(argv, spec, io, ({ values, positionals }) => {
    if (positionals.length)
      throw new UsageError(`give one command (got ${[cadence, ...positionals].join(' ')})`);
    oneOf('--fail-on', values['fail-on'] as string, FAIL_ON);
    if (values.incidents !== undefined) oneOf('--incidents', values.incidents as string, INCIDENTS);
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as {
    env: string;
    json: boolean;
    output?: string;
    incidents?: IncidentsMode;
    'fail-on': FailOn;
    'report-dir': string;
  };
  // In a workflow incidents are GitHub issues; elsewhere they go to the local store.
  const mode: IncidentsMode = values.incidents ?? (processEnv.GITHUB_ACTIONS === 'true' ? 'github' : 'local');

  // Everything that can be wrong with the settings is found before any check runs.
  let runbook: RunbookConfig;
  try {
    runbook = loadRunbookConfig();
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }
  const target = await loadCommandTarget(prefix, values.env, io, (t) =>
    planCadence(cadence, t, runbook).close(),
  );
  if (!target) return 2;
  let store: IncidentStore;
  try {
    store = createIncidentStore({
      mode,
      env: target.name,
      rootDir: io.incidentsRoot,
      environment: processEnv as NodeJS.ProcessEnv,
      now: io.now,
    });
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }

  let incidents: IncidentSummary | undefined;
  const { openAfter, closeAfter, maxOpenPerRun, warnIsFailure } = runbook.incidents;
  const run = await runCadence(cadence, target, {
    reportDir: values['report-dir'],
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
  const text = values.json
    ? `${JSON.stringify({
        cadence,
        env: target.name,
        verdict: run.verdict,
        results: run.results,
        incidents: incidents ?? null,
        report: run.file,
      })}\n`
    : run.markdown;
  const written = await emitResult(prefix, text, values.output, io);
  io.err(`ops: report written to ${run.file}\n`);
  return written ? exitCodeFor(run.verdict, values['fail-on']) : 2;
}

function oneOf(flag: string, value: string, allowed: readonly string[]): void {
  if (!allowed.includes(value))
    throw new UsageError(`${flag} must be ${allowed.join(', ')} (got ${JSON.stringify(value)})`);
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = `  ${word}`;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line];
}

/** 1 when the run's verdict is as bad as --fail-on or worse (an `error` counts as a failure). */
export function exitCodeFor(v: CheckStatus, failOn: FailOn): 0 | 1 {
  if (failOn === 'never') return 0;
  return atLeast(v, failOn === 'warn' ? 'warn' : 'error') ? 1 : 0;
}
