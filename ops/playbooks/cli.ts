/**
 * `ops playbook <name> --env <env> [--dry-run] [--incident N] [playbook options]`
 *
 * Runs one incident playbook (runbook/RUNBOOK.md section 7) against an environment, printing each
 * step as it finishes and a one-line outcome last (the ops-playbook action reads it). With
 * --incident N and GITHUB_TOKEN/GITHUB_REPOSITORY set, one comment on issue N summarises the run.
 * Exit 0 when every step ran (findings are not failures), 1 when a step errored or an applied
 * action failed, 2 for bad arguments or an environment that cannot be loaded.
 *
 * broker-down:  [--force-restart] [--maintenance on|off] [--reason TEXT]
 * cost-spike:   [--tenant SLUG --rate-per-second N [--burst N]]
 *               [--tenant SLUG --retention-days N [--retention-for-days N]] [--reason TEXT]
 * growth-spike: (diagnosis and recommendations only)
 */
import { parseArgs } from 'node:util';
import { LOCAL_ENV_PATH } from '../../common/local-env.js';
import { SharedSources } from '../checks/shared-sources.js';
import type { CliIo } from '../cli.js';
import { databaseUrl, loadOpsTarget, type OpsTarget } from '../config/ops-target.js';
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
} from './playbook.js';

export const PLAYBOOKS: Record<string, Playbook> = {
  [brokerDown.name]: brokerDown,
  [costSpike.name]: costSpike,
  [growthSpike.name]: growthSpike,
};

export interface PlaybookCommandOptions {
  /** How long a restarted broker gets to become active. Default 30 s, polled every second. */
  restartWait?: { timeoutMs: number; pollMs: number };
}

const OPTIONS = {
  env: { type: 'string' },
  'dry-run': { type: 'boolean', default: false },
  incident: { type: 'string' },
  tenant: { type: 'string' },
  'rate-per-second': { type: 'string' },
  burst: { type: 'string' },
  'retention-days': { type: 'string' },
  'retention-for-days': { type: 'string' },
  maintenance: { type: 'string' },
  'force-restart': { type: 'boolean' },
  reason: { type: 'string' },
} as const;
const COMMON = new Set(['env', 'dry-run', 'incident']);
const SLUG = /^[a-z0-9][a-z0-9._-]{1,63}$/;

class UsageError extends Error {}

export async function runPlaybookCommand(
  argv: string[],
  io: CliIo,
  command: PlaybookCommandOptions = {},
): Promise<number> {
  const fail = (message: string) => {
    io.err(`ops playbook: ${message}\n`);
    return 2;
  };
  let playbook: Playbook;
  let options: PlaybookOptions;
  let envName: string;
  try {
    ({ playbook, options, envName } = parsePlaybookArgs(argv));
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))
      return fail((error as Error).message);
    throw error;
  }
  const processEnv = io.env ?? process.env;
  let target: OpsTarget;
  try {
    target = await loadOpsTarget(envName, {
      env: processEnv,
      mask: io.mask,
      localEnvPath: io.envPath ?? LOCAL_ENV_PATH,
      environmentsDir: io.environmentsDir,
    });
  } catch (error) {
    return fail((error as Error).message);
  }

  knowSecrets(target);
  const shared = new SharedSources(target);
  const now = io.now ?? Date.now;
  const print = (line: string) => io.out(`${line}\n`);
  try {
    const ctx: PlaybookContext = {
      target,
      options,
      sources: { ssh: () => shared.sshHost(), db: () => shared.dbPool() },
      now,
      restartWait: command.restartWait ?? { timeoutMs: 30_000, pollMs: 1_000 },
      facts: new Map(),
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

/**
 * Reads the environment's secrets before any step prints, so redaction knows them all: a step may
 * print a secret (a connection string in a log line) before the step that uses it has run.
 */
function knowSecrets(target: OpsTarget): void {
  try {
    databaseUrl(target);
  } catch {
    // not configured or not set: the steps that need it say so
  }
  if (target.config.ssh) target.secrets.readOptional(target.config.ssh.privateKeyEnv);
  target.secrets.readOptional('GITHUB_TOKEN');
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
    options: OPTIONS,
  });
  const known = Object.keys(PLAYBOOKS).join(', ');
  if (positionals.length !== 1)
    throw new UsageError(`give one playbook: ${known} (got ${positionals.join(' ') || 'none'})`);
  const playbook = PLAYBOOKS[positionals[0]!];
  if (!playbook)
    throw new UsageError(`unknown playbook ${JSON.stringify(positionals[0])}: known are ${known}`);
  if (!values.env) throw new UsageError('--env <environment> is required (e.g. --env prod)');
  const given = Object.keys(values).filter(
    (k) => values[k as keyof typeof values] !== undefined && !COMMON.has(k),
  );
  const foreign = given.filter((k) => !playbook.accepts.includes(k));
  if (foreign.length)
    throw new UsageError(
      `${playbook.name} does not take ${foreign.map((k) => `--${k}`).join(', ')}` +
        (playbook.accepts.length ? ` (it takes ${playbook.accepts.map((k) => `--${k}`).join(', ')})` : ''),
    );

  const options: PlaybookOptions = { dryRun: values['dry-run'] === true };
  if (values.incident !== undefined) options.incident = positiveInteger('--incident', values.incident);
  if (values.tenant !== undefined) {
    if (!SLUG.test(values.tenant))
      throw new UsageError(`--tenant must be a tenant slug (got ${JSON.stringify(values.tenant)})`);
    options.tenant = values.tenant;
  }
  if (values['rate-per-second'] !== undefined)
    options.ratePerSecond = positiveNumber('--rate-per-second', values['rate-per-second']);
  if (values.burst !== undefined) {
    if (options.ratePerSecond === undefined) throw new UsageError('--burst goes with --rate-per-second');
    options.burst = positiveNumber('--burst', values.burst);
    if (options.burst < options.ratePerSecond)
      throw new UsageError(
        `--burst (${options.burst}) must be at least --rate-per-second (${options.ratePerSecond})`,
      );
  }
  if (values['retention-days'] !== undefined)
    options.retentionDays = positiveInteger('--retention-days', values['retention-days']);
  if (values['retention-for-days'] !== undefined) {
    if (options.retentionDays === undefined)
      throw new UsageError('--retention-for-days goes with --retention-days');
    options.retentionForDays = positiveInteger('--retention-for-days', values['retention-for-days']);
  }
  if ((options.ratePerSecond !== undefined || options.retentionDays !== undefined) && !options.tenant)
    throw new UsageError('--rate-per-second and --retention-days need --tenant <slug>');
  if (options.tenant && options.ratePerSecond === undefined && options.retentionDays === undefined)
    throw new UsageError('--tenant needs --rate-per-second N and/or --retention-days N');
  if (values.maintenance !== undefined) {
    if (values.maintenance !== 'on' && values.maintenance !== 'off')
      throw new UsageError(`--maintenance must be on or off (got ${JSON.stringify(values.maintenance)})`);
    options.maintenance = values.maintenance;
  }
  if (values['force-restart']) options.forceRestart = true;
  if (values.reason !== undefined) options.reason = values.reason;
  return { playbook, options, envName: values.env };
}

function positiveInteger(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} must be a positive whole number (got ${JSON.stringify(text)})`);
  return n;
}

function positiveNumber(flag: string, text: string): number {
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || !Number.isFinite(n))
    throw new UsageError(`${flag} must be a positive number (got ${JSON.stringify(text)})`);
  return n;
}
