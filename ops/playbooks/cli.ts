/**
 * `ops playbook <name> --env <env> [--apply] [--incident N] [playbook options]`; `--help` for each.
 *
 * Runs one incident playbook (runbook/RUNBOOK.md section 7) against an environment, printing each
 * step as it finishes and a one-line outcome last (the ops-playbook action reads it). A dry run
 * unless --apply: act steps only say what they would do (--dry-run is accepted and changes
 * nothing, for scripts written when applying was the default). With --incident N and
 * GITHUB_TOKEN/GITHUB_REPOSITORY set, one comment on issue N summarises the run. Exit 0 when every
 * step ran (findings are not failures), 1 when a step errored or an applied action failed, 2 for
 * bad arguments or an environment that is not ready (the preflight in cli-io.ts).
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { DEFAULT_TELEMETRY_LIMITS } from '../../common/telemetry.js';
import { SharedSources } from '../checks/shared-sources.js';
import {
  formatUsage,
  table,
  UsageError,
  usageMessage,
  wantsHelp,
  type CommandSpec,
  type OptionSpec,
} from '../cli-args.js';
import { loadCommandTarget, type CliIo } from '../cli-io.js';
import { archiveStoreFor } from '../archive/archive-target.js';
import { ENVIRONMENTS_DIR } from '../config/environment-config.js';
import { NotConfiguredError, type OpsTarget } from '../config/ops-target.js';
import { loadRunbookConfig } from '../config/runbook-config.js';
import { exerciseStages } from '../deploy/preflight-stage.js';
import { runSmokeStage, type SmokeStageOptions } from '../deploy/smoke.js';
import type { AzureClients } from '../sources/azure-clients.js';
import { brokerDown } from './broker-down.js';
import { costSpike } from './cost-spike.js';
import { growthSpike } from './growth-spike.js';
import { incidentCommentBody, postIncidentComment, workflowRunUrl } from './incident-comment.js';
import {
  runPlaybook,
  type Playbook,
  type PlaybookContext,
  type PlaybookOptions,
  type PlaybookRun,
  type PlaybookSources,
} from './playbook.js';
import { resizeVm } from './resize-vm.js';

export const PLAYBOOKS: Record<string, Playbook> = {
  [brokerDown.name]: brokerDown,
  [costSpike.name]: costSpike,
  [growthSpike.name]: growthSpike,
  [resizeVm.name]: resizeVm,
};

export interface PlaybookCommandOptions {
  /** How long a restarted broker gets to become active. Default 30 s, polled every second. */
  restartWait?: { timeoutMs: number; pollMs: number };
  /** Azure's clients; default the workflow's identity (SharedSources.azure). Tests: the stand-in. */
  azure?: (target: OpsTarget) => AzureClients;
  /** The smoke test's settings (attempts, interval, report directory; tests: a scripted cadence). */
  smoke?: Partial<Omit<SmokeStageOptions, 'target' | 'log' | 'before'>>;
}

/** Every option of every playbook, with its usage text; each playbook takes COMMON and its own. */
const OPTIONS: Record<string, OptionSpec> = {
  env: {
    type: 'string',
    arg: 'NAME',
    required: true,
    help: 'runbook/environments/NAME.yaml: the environment to act on',
  },
  apply: {
    type: 'boolean',
    defaultText: 'a dry run',
    help: 'do what the act steps say; without it they only say what they would do',
  },
  'dry-run': { type: 'boolean', help: 'accepted for older scripts; a dry run is the default' },
  incident: {
    type: 'string',
    arg: 'N',
    help: 'comment the run on incident issue N (needs GITHUB_TOKEN and GITHUB_REPOSITORY)',
  },
  tenant: {
    type: 'string',
    arg: 'SLUG',
    help: 'the tenant a rate limit, retention cut or payload cap is for',
  },
  'rate-per-second': {
    type: 'string',
    arg: 'N',
    help: "limit the tenant's accepted messages per second (ops.tenant_rate_limits)",
  },
  burst: { type: 'string', arg: 'N', defaultText: '5 x the rate', help: 'burst of that rate limit' },
  'retention-days': {
    type: 'string',
    arg: 'N',
    help:
      "cost-spike: lower the tenant's retention to N days (never above its plan's); growth-spike: " +
      'run the archive now keeping at most N days of every tenant',
  },
  'retention-for-days': {
    type: 'string',
    arg: 'N',
    defaultText: '14',
    help: 'how long the lowered retention lasts',
  },
  'max-metrics': {
    type: 'string',
    arg: 'N',
    help: `at most N metrics (values at any depth) per message of the tenant, 1 to ${DEFAULT_TELEMETRY_LIMITS.maxMetrics}`,
  },
  'max-string-length': {
    type: 'string',
    arg: 'N',
    help: `string values of the tenant of at most N characters, 0 to ${DEFAULT_TELEMETRY_LIMITS.maxStringLength}`,
  },
  'limits-for-days': {
    type: 'string',
    arg: 'N',
    defaultText: 'until changed',
    help: 'how long those payload caps last',
  },
  'lift-limits': {
    type: 'boolean',
    help: "take the tenant's own payload caps away (back to the global limits)",
  },
  maintenance: {
    type: 'string',
    arg: 'on|off',
    help: 'switch ingest maintenance mode (503 + Retry-After; the bridge keeps every message)',
  },
  'force-restart': { type: 'boolean', help: 'restart mosquitto even when it is active' },
  size: {
    type: 'string',
    arg: 'SIZE',
    help: 'the VM size to resize to, as Azure names it (e.g. Standard_B2s)',
  },
  reason: {
    type: 'string',
    arg: 'TEXT',
    defaultText: 'the playbook and incident',
    help: 'recorded with what is changed',
  },
};
const COMMON = ['env', 'apply', 'dry-run', 'incident'];
const SLUG = /^[a-z0-9][a-z0-9._-]{1,63}$/;
/** As the environment schema's infra.vm.size. */
const VM_SIZE = /^Standard_[A-Za-z0-9_]+$/;

const EXAMPLES: Record<string, string> = {
  'broker-down': 'npm run ops -- playbook broker-down --env prod --maintenance on --apply --incident 12',
  'cost-spike': 'npm run ops -- playbook cost-spike --env prod --tenant acme --rate-per-second 20 --apply',
  'growth-spike': 'npm run ops -- playbook growth-spike --env prod --tenant acme --max-metrics 16',
  'resize-vm': 'npm run ops -- playbook resize-vm --env prod --size Standard_B2s',
};

const ABOUT = [
  'Runs an incident playbook (runbook/RUNBOOK.md section 7): diagnose steps read, act steps change',
  'something. A dry run unless --apply: act steps then only say what they would do. A step the',
  'environment cannot run (no SSH to a VM in the sandbox) is skipped with the reason.',
];

const EXIT_CODES = {
  0: 'every step ran (findings are not failures)',
  1: 'a step errored or an applied action failed',
};

export function playbookSpec(playbook?: Playbook): CommandSpec {
  if (!playbook)
    return {
      name: 'playbook',
      synopsis: 'playbook <name> --env NAME [--apply] [options]',
      about: ABOUT,
      sections: [
        {
          heading: 'Playbooks (npm run ops -- playbook <name> --help for their options)',
          lines: table(Object.values(PLAYBOOKS).map((p) => [p.name, p.title])),
        },
      ],
      options: Object.fromEntries(COMMON.map((k) => [k, OPTIONS[k]!])),
      exitCodes: EXIT_CODES,
      example: EXAMPLES['broker-down']!,
    };
  return {
    name: `playbook ${playbook.name}`,
    synopsis: `playbook ${playbook.name} --env NAME [--apply] [options]`,
    about: [
      `${playbook.title}.`,
      '',
      ...ABOUT,
      '',
      'Steps:',
      ...table(playbook.steps.map((s) => [`${s.kind} ${s.id}`, s.title])),
    ],
    options: Object.fromEntries([...COMMON, ...playbook.accepts].map((k) => [k, OPTIONS[k]!])),
    exitCodes: EXIT_CODES,
    example: EXAMPLES[playbook.name] ?? `npm run ops -- playbook ${playbook.name} --env prod`,
  };
}

export async function runPlaybookCommand(
  argv: string[],
  io: CliIo,
  command: PlaybookCommandOptions = {},
): Promise<number> {
  const named = PLAYBOOKS[playbookWord(argv) ?? ''];
  if (wantsHelp(argv)) {
    io.out(formatUsage(playbookSpec(named)));
    return 0;
  }
  let playbook: Playbook;
  let options: PlaybookOptions;
  let envName: string;
  try {
    ({ playbook, options, envName } = parsePlaybookArgs(argv));
  } catch (error) {
    const message = usageMessage(error);
    if (message === undefined) throw error;
    io.err(`ops playbook: ${message} (see npm run ops -- playbook${named ? ` ${named.name}` : ''} --help)\n`);
    return 2;
  }
  const target = await loadCommandTarget('ops playbook', envName, io, (t) =>
    openSources(playbook, t, command, options),
  );
  if (!target) return 2;

  const shared = new SharedSources(target);
  const now = io.now ?? Date.now;
  const print = (line: string) => io.out(`${line}\n`);
  const progress = (line: string) => io.err(`${target.secrets.redact(line)}\n`);
  try {
    const ctx: PlaybookContext = {
      target,
      options,
      sources: playbookSources(shared, command, progress),
      now,
      restartWait: command.restartWait ?? { timeoutMs: 30_000, pollMs: 1_000 },
      facts: new Map(),
      environmentFile: join(io.environmentsDir ?? ENVIRONMENTS_DIR, `${envName}.yaml`),
      progress,
    };
    const run = await runPlaybook(playbook, ctx, print);
    if (options.incident !== undefined) {
      const line = await commentOnIncident(shared, target, options.incident, run);
      print(target.secrets.redact(line));
    }
    print(run.outcome);
    return run.exitCode;
  } finally {
    await shared.close();
  }
}

function playbookSources(
  shared: SharedSources,
  command: PlaybookCommandOptions,
  progress: (line: string) => void,
): PlaybookSources {
  const target = shared.target;
  let azure: ReturnType<PlaybookSources['azure']> | undefined;
  return {
    ssh: () => shared.sshHost(),
    db: () => shared.dbPool(),
    azure: () => {
      if (!command.azure) return shared.azure();
      const config = target.config.azure;
      if (!config) throw new NotConfiguredError('Azure subscription', target.name);
      azure ??= { ...command.azure(target), config };
      return azure;
    },
    smoke: (o = {}) =>
      runSmokeStage({
        reportDir: 'reports',
        ...command.smoke,
        ...(o.attempts !== undefined ? { attempts: o.attempts } : {}),
        before: o.before,
        target,
        log: (line) => progress(`smoke: ${line}`),
      }),
  };
}

/**
 * What the preflight exercises: the sources the playbook's steps use, built but not connected
 * (the smoke test's: its cadence planned). It also reads every secret before any step prints, so
 * redaction knows them all: a step may print a secret (a connection string in a log line) before
 * the step that uses it has run. The archive container only when the run will archive (`options`
 * given: --apply and --retention-days; without options, everything a playbook may read).
 */
export async function openSources(
  playbook: Playbook,
  target: OpsTarget,
  command: PlaybookCommandOptions = {},
  options?: PlaybookOptions,
): Promise<void> {
  const shared = new SharedSources(target);
  const sources = playbookSources(shared, command, () => undefined);
  try {
    for (const need of playbook.needs) {
      try {
        if (need === 'database') sources.db();
        else if (need === 'ssh') sources.ssh();
        else if (need === 'archive') {
          if (!options || (!options.dryRun && options.retentionDays !== undefined)) archiveStoreFor(target);
        } else if (need === 'azure') {
          // Read so that placeholder names are named (the preflight records the settings read).
          const { config } = sources.azure();
          void [config.resourceGroup, config.vmName];
        } else await exerciseStages(target, ['smoke'], loadRunbookConfig());
      } catch {
        // Not configured here: the steps that need it are skipped and say why.
      }
    }
    target.secrets.readOptional('GITHUB_TOKEN');
  } finally {
    await shared.close();
  }
}

/** The playbook named on the command line, if any (for the right --help). */
function playbookWord(argv: string[]): string | undefined {
  const options = Object.fromEntries(
    Object.entries(OPTIONS).map(([k, o]) => [k, { type: o.type } as { type: 'string' | 'boolean' }]),
  );
  return parseArgs({ args: argv, strict: false, allowPositionals: true, options }).positionals[0];
}

async function commentOnIncident(
  shared: SharedSources,
  target: OpsTarget,
  issue: number,
  run: PlaybookRun,
): Promise<string> {
  if (!target.env.GITHUB_TOKEN || !target.env.GITHUB_REPOSITORY)
    return `incident #${issue}: no comment (GITHUB_TOKEN and GITHUB_REPOSITORY are not both set)`;
  try {
    const { client, env } = shared.github();
    const url = await postIncidentComment(
      client,
      env,
      issue,
      incidentCommentBody(run, workflowRunUrl(target.env, env)),
    );
    return `incident #${issue}: commented ${url}`;
  } catch (error) {
    return `incident #${issue}: comment not posted: ${(error as Error).message}`;
  }
}

export function parsePlaybookArgs(argv: string[]): {
  playbook: Playbook;
  options: PlaybookOptions;
  envName: string;
} {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: Object.fromEntries(Object.entries(OPTIONS).map(([k, o]) => [k, { type: o.type }])) as Record<
      string,
      { type: 'string' | 'boolean' }
    >,
  }) as { values: Record<string, string | boolean | undefined>; positionals: string[] };
  const str = (k: string) => values[k] as string | undefined;
  const known = Object.keys(PLAYBOOKS).join(', ');
  if (positionals.length !== 1)
    throw new UsageError(`give one playbook: ${known} (got ${positionals.join(' ') || 'none'})`);
  const playbook = PLAYBOOKS[positionals[0]!];
  if (!playbook)
    throw new UsageError(`unknown playbook ${JSON.stringify(positionals[0])}: known are ${known}`);
  const envName = str('env');
  if (!envName) throw new UsageError('--env <environment> is required (e.g. --env prod)');
  const given = Object.keys(values).filter((k) => values[k] !== undefined && !COMMON.includes(k));
  const foreign = given.filter((k) => !playbook.accepts.includes(k));
  if (foreign.length)
    throw new UsageError(
      `${playbook.name} does not take ${foreign.map((k) => `--${k}`).join(', ')}` +
        (playbook.accepts.length ? ` (it takes ${playbook.accepts.map((k) => `--${k}`).join(', ')})` : ''),
    );
  if (values.apply && values['dry-run'])
    throw new UsageError(
      '--apply and --dry-run contradict each other: give --apply to act, nothing for a dry run',
    );

  const options: PlaybookOptions = { dryRun: values.apply !== true };
  const incident = str('incident');
  if (incident !== undefined) options.incident = positiveInteger('--incident', incident);
  const tenant = str('tenant');
  if (tenant !== undefined) {
    if (!SLUG.test(tenant))
      throw new UsageError(`--tenant must be a tenant slug (got ${JSON.stringify(tenant)})`);
    options.tenant = tenant;
  }
  const rate = str('rate-per-second');
  if (rate !== undefined) options.ratePerSecond = positiveNumber('--rate-per-second', rate);
  const burst = str('burst');
  if (burst !== undefined) {
    if (options.ratePerSecond === undefined) throw new UsageError('--burst goes with --rate-per-second');
    options.burst = positiveNumber('--burst', burst);
    if (options.burst < options.ratePerSecond)
      throw new UsageError(
        `--burst (${options.burst}) must be at least --rate-per-second (${options.ratePerSecond})`,
      );
  }
  const retention = str('retention-days');
  if (retention !== undefined) options.retentionDays = positiveInteger('--retention-days', retention);
  const retentionFor = str('retention-for-days');
  if (retentionFor !== undefined) {
    if (options.retentionDays === undefined)
      throw new UsageError('--retention-for-days goes with --retention-days');
    options.retentionForDays = positiveInteger('--retention-for-days', retentionFor);
  }
  const maxMetrics = str('max-metrics');
  if (maxMetrics !== undefined)
    options.maxMetrics = wholeNumber('--max-metrics', maxMetrics, 1, DEFAULT_TELEMETRY_LIMITS.maxMetrics);
  const maxString = str('max-string-length');
  if (maxString !== undefined)
    options.maxStringLength = wholeNumber(
      '--max-string-length',
      maxString,
      0,
      DEFAULT_TELEMETRY_LIMITS.maxStringLength,
    );
  const limitsFor = str('limits-for-days');
  if (limitsFor !== undefined) {
    if (options.maxMetrics === undefined && options.maxStringLength === undefined)
      throw new UsageError('--limits-for-days goes with --max-metrics or --max-string-length');
    options.limitsForDays = positiveInteger('--limits-for-days', limitsFor);
  }
  if (values['lift-limits']) {
    if (options.maxMetrics !== undefined || options.maxStringLength !== undefined)
      throw new UsageError(
        '--lift-limits takes the caps away: not with --max-metrics or --max-string-length',
      );
    options.liftLimits = true;
  }
  // Options that act on one tenant need it, and a tenant needs one of them.
  const scoped = playbook.tenantScoped ?? [];
  if (scoped.some((k) => values[k] !== undefined) && !options.tenant)
    throw new UsageError(`${scoped.map((k) => `--${k}`).join(' and ')} need --tenant <slug>`);
  if (options.tenant && scoped.length && !scoped.some((k) => values[k] !== undefined))
    throw new UsageError(
      `--tenant needs ${scoped.map((k) => `--${k}${OPTIONS[k]?.type === 'boolean' ? '' : ' N'}`).join(' and/or ')}`,
    );
  const maintenance = str('maintenance');
  if (maintenance !== undefined) {
    if (maintenance !== 'on' && maintenance !== 'off')
      throw new UsageError(`--maintenance must be on or off (got ${JSON.stringify(maintenance)})`);
    options.maintenance = maintenance;
  }
  if (values['force-restart']) options.forceRestart = true;
  const reason = str('reason');
  if (reason !== undefined) options.reason = reason;
  const size = str('size');
  if (size !== undefined) {
    if (!VM_SIZE.test(size))
      throw new UsageError(`--size must be an Azure VM size like Standard_B2s (got ${JSON.stringify(size)})`);
    options.size = size;
  }
  const missing = (playbook.requires ?? []).filter((k) => values[k] === undefined);
  if (missing.length)
    throw new UsageError(
      `${playbook.name} needs ${missing.map((k) => `--${k} ${OPTIONS[k]!.arg ?? ''}`.trim()).join(', ')}` +
        ` (e.g. ${EXAMPLES[playbook.name] ?? ''})`,
    );
  return { playbook, options, envName };
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number (got ${JSON.stringify(text)})`);
  return n;
}

function wholeNumber(flag: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max)
    throw new UsageError(
      `${flag} must be a whole number from ${min} to ${max}, the global limit (got ${JSON.stringify(text)})`,
    );
  return n;
}

function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || !Number.isFinite(n))
    throw new UsageError(`${flag} must be a positive number (got ${JSON.stringify(text)})`);
  return n;
}
