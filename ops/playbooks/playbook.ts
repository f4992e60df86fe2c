/**
 * An incident playbook (runbook/RUNBOOK.md section 7) is a list of typed steps: `diagnose` steps
 * only read; `act` steps change something and, in a dry run (the default; `--apply` acts), only
 * say what they would do. The runner prints each step's lines as it finishes (secrets redacted),
 * records every applied `act` step in ops.audit_log, and ends with a one-line outcome that says
 * what was applied, if anything. A step the environment cannot run (no SSH in the sandbox) is
 * `skipped` with the reason, as in the cadences.
 */
import type pg from 'pg';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { NotConfiguredError, type OpsTarget } from '../config/ops-target.js';
import type { HealthBefore, SmokeStageResult } from '../deploy/smoke.js';
import type { AzureClients } from '../sources/azure-clients.js';
import type { SshHostSource } from '../sources/ssh-host.js';

export type StepKind = 'diagnose' | 'act';
/** `dry-run`: an act step that only said what it would do; `skipped`: not asked for or not possible. */
export type StepStatus = 'ok' | 'warn' | 'fail' | 'error' | 'skipped' | 'dry-run';

export interface StepResult {
  status: StepStatus;
  /** What the step found or did, one fact per line. */
  lines: string[];
  /** For act steps: what was done (or would be), in a few words, for the outcome line. */
  summary?: string;
  /** For applied act steps: the ops.audit_log row (no row when undefined). */
  audit?: { action: string; target: string; detail: Record<string, unknown> };
}

export interface PlaybookOptions {
  /** True unless --apply: act steps only say what they would do. */
  dryRun: boolean;
  incident?: number;
  tenant?: string;
  ratePerSecond?: number;
  burst?: number;
  /** cost-spike: the tenant's temporary retention; growth-spike: every tenant's, for one archive run. */
  retentionDays?: number;
  /** How long a lowered retention lasts (days). */
  retentionForDays?: number;
  /** growth-spike: at most this many metrics (values at any depth) per message of the tenant. */
  maxMetrics?: number;
  /** growth-spike: string values of the tenant's messages of at most this many characters. */
  maxStringLength?: number;
  /** How long those caps last (days); until changed when not given. */
  limitsForDays?: number;
  /** growth-spike: take the tenant's own caps away. */
  liftLimits?: boolean;
  maintenance?: 'on' | 'off';
  forceRestart?: boolean;
  reason?: string;
  /** The VM size to resize to (resize-vm), e.g. Standard_B2s. */
  size?: string;
}

/** The outside world as the steps reach it; created on first use. */
export interface PlaybookSources {
  ssh(): SshHostSource;
  db(): pg.Pool;
  /** Resource Manager as the workflow's identity, and the environment's `azure` section. */
  azure(): AzureClients & { config: NonNullable<EnvironmentConfig['azure']> };
  /**
   * The deploy's smoke test (the go-live checks, deploy/smoke.ts) against the environment; checks
   * failing `before` are not held against what the playbook did.
   */
  smoke(options?: { before?: HealthBefore; attempts?: number }): Promise<SmokeStageResult>;
}

export interface PlaybookContext {
  target: OpsTarget;
  options: PlaybookOptions;
  sources: PlaybookSources;
  now: () => number;
  /** How long to wait for a restarted service to come back, and between polls (also Azure's operations). */
  restartWait: { timeoutMs: number; pollMs: number };
  /** Facts a step leaves for a later one (e.g. whether the broker is active). */
  facts: Map<string, unknown>;
  /** The environment's YAML file, for steps that name a line to change in it. */
  environmentFile: string;
  /** A progress line while a long step runs (stderr; the step's own lines follow when it ends). */
  progress: (line: string) => void;
}

export interface PlaybookStep {
  id: string;
  title: string;
  kind: StepKind;
  run(ctx: PlaybookContext): Promise<StepResult>;
}

export interface Playbook {
  name: string;
  title: string;
  steps: PlaybookStep[];
  /** Option names (as on the command line) this playbook accepts beyond the common ones. */
  accepts: string[];
  /** Those of `accepts` it cannot run without. */
  requires?: string[];
  /** Those of `accepts` that act on one tenant: each needs --tenant, and --tenant needs one of them. */
  tenantScoped?: string[];
  /**
   * The sources its steps use: their secrets and settings are checked before any step runs
   * (`archive`: the environment's archive container, read only when a run would archive).
   */
  needs: ('database' | 'ssh' | 'azure' | 'smoke' | 'archive')[];
}

export interface StepReport {
  id: string;
  title: string;
  kind: StepKind;
  status: StepStatus;
  lines: string[];
  summary?: string;
  /** An act step that changed something (or tried to): it has an ops.audit_log row. */
  applied: boolean;
}

export interface PlaybookRun {
  playbook: string;
  env: string;
  dryRun: boolean;
  /** What happened, for headers: `dry run`, `applied` or `nothing applied`. */
  mode: RunMode;
  steps: StepReport[];
  outcome: string;
  /** 1 when a step errored or an applied action failed. */
  exitCode: 0 | 1;
}

const MARK: Record<StepStatus, string> = {
  ok: 'ok',
  warn: 'WARN',
  fail: 'FAIL',
  error: 'ERROR',
  skipped: 'skipped',
  'dry-run': 'dry run',
};

export function actorFor(playbook: string, env: Record<string, string | undefined>): string {
  const who = env.GITHUB_ACTOR?.trim();
  return who ? `playbook:${playbook} (${who})` : `playbook:${playbook}`;
}

export async function runPlaybook(
  playbook: Playbook,
  ctx: PlaybookContext,
  print: (line: string) => void,
): Promise<PlaybookRun> {
  const redact = (text: string) => ctx.target.secrets.redact(text);
  const say = (line: string) => print(redact(line));
  // Before the steps only the intent is known; the outcome line says what was applied.
  const intent = ctx.options.dryRun ? 'dry run, --apply to act' : 'applying';
  say(`Playbook ${playbook.name} on ${ctx.target.name} (${intent}): ${playbook.title}`);
  const steps: StepReport[] = [];
  for (const step of playbook.steps) {
    let result: StepResult;
    try {
      result = await step.run(ctx);
    } catch (error) {
      result =
        error instanceof NotConfiguredError
          ? { status: 'skipped', lines: [`not possible here: ${error.message}`] }
          : { status: 'error', lines: [(error as Error).message], summary: `${step.id}: error` };
    }
    const applied = result.audit !== undefined && !ctx.options.dryRun;
    if (applied) result = await withAudit(result, playbook.name, ctx);
    const report: StepReport = {
      id: step.id,
      title: step.title,
      kind: step.kind,
      status: result.status,
      lines: result.lines.map(redact),
      summary: result.summary === undefined ? undefined : redact(result.summary),
      applied,
    };
    steps.push(report);
    say(`[${MARK[report.status]}] ${step.kind} ${step.id}: ${step.title}`);
    for (const line of report.lines) say(`    ${line}`);
  }
  const failedAct = steps.some((s) => s.kind === 'act' && s.status === 'fail');
  const errored = steps.some((s) => s.status === 'error');
  const exitCode = failedAct || errored ? 1 : 0;
  return {
    playbook: playbook.name,
    env: ctx.target.name,
    dryRun: ctx.options.dryRun,
    mode: runMode(ctx.options.dryRun, steps),
    steps,
    outcome: redact(outcomeLine(playbook.name, ctx.target.name, ctx.options.dryRun, steps)),
    exitCode,
  };
}

async function withAudit(result: StepResult, playbook: string, ctx: PlaybookContext): Promise<StepResult> {
  const audit = result.audit!;
  try {
    await writeAudit(ctx.sources.db(), {
      actor: actorFor(playbook, ctx.target.env),
      action: audit.action,
      target: audit.target,
      detail: {
        ...audit.detail,
        env: ctx.target.name,
        status: result.status,
        ...(ctx.options.incident !== undefined ? { incident: ctx.options.incident } : {}),
      },
    });
    return result;
  } catch (error) {
    // The action happened; a missing audit row is worth a warning, not a reversal.
    return {
      ...result,
      status: result.status === 'ok' ? 'warn' : result.status,
      lines: [...result.lines, `ops.audit_log not written: ${(error as Error).message}`],
    };
  }
}

export async function writeAudit(
  db: pg.Pool | pg.ClientBase,
  row: { actor: string; action: string; target: string; detail: Record<string, unknown> },
): Promise<void> {
  await db.query(`insert into ops.audit_log (actor, action, target, detail) values ($1, $2, $3, $4)`, [
    row.actor,
    row.action,
    row.target,
    JSON.stringify(row.detail),
  ]);
}

export type RunMode = 'dry run' | 'applied' | 'nothing applied';

/** `applied` only when an act step changed something (or tried to, and says how it failed). */
export function runMode(dryRun: boolean, steps: Pick<StepReport, 'applied'>[]): RunMode {
  if (dryRun) return 'dry run';
  return steps.some((s) => s.applied) ? 'applied' : 'nothing applied';
}

/** `Outcome: broker-down on prod (dry run): 4 ok, 1 fail; would restart mosquitto`. */
export function outcomeLine(playbook: string, env: string, dryRun: boolean, steps: StepReport[]): string {
  const counts = new Map<StepStatus, number>();
  for (const s of steps) counts.set(s.status, (counts.get(s.status) ?? 0) + 1);
  const order: StepStatus[] = ['ok', 'warn', 'fail', 'error', 'dry-run', 'skipped'];
  const tally = order
    .filter((s) => counts.has(s))
    .map((s) => `${counts.get(s)} ${s}`)
    .join(', ');
  const actions = steps
    .filter((s) => s.kind === 'act' && s.status !== 'skipped' && s.summary)
    .map((s) => s.summary!);
  const did = actions.length ? actions.join('; ') : 'no action taken';
  return `Outcome: ${playbook} on ${env} (${runMode(dryRun, steps)}): ${tally || 'no steps'}; ${did}`;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${i === 0 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** The tenant's id for a slug, or an error naming the slug. */
export async function tenantId(db: pg.Pool, slug: string): Promise<string> {
  const res = await db.query<{ id: string }>('select id from public.tenants where slug = $1', [slug]);
  if (!res.rows[0]) throw new Error(`no tenant with slug ${JSON.stringify(slug)}`);
  return res.rows[0].id;
}
