/**
 * cost-spike: which tenants drive the spike (accepted messages and bytes over the last 24 h against
 * the daily mean of the 7 days before, from the hourly rollup; AI tokens and cost this month from
 * the ledger), then on request a tenant rate limit (ops.tenant_rate_limits) and a temporary
 * retention cut (ops.tenant_retention_overrides, which only ever lowers the plan's retention). The
 * cut takes effect through the archive run (ops.archive_retention honours it): the step says which
 * of the tenant's rows would leave, or that nothing leaves while the archive is disabled.
 * Azure egress itself is in the daily cost-burn check (daily.cost-burn).
 */
import { MIN_ARCHIVE_AGE_DAYS } from '../../common/archive/plan-day.js';
import { setTenantRateLimit } from '../../common/provisioning.js';
import { archiveOff } from '../archive/archive-target.js';
import { runEnvironmentArchive } from '../archive/run.js';
import { createPlatformDbSource, type TenantUsage } from '../sources/platform-db.js';
import {
  actorFor,
  formatBytes,
  tenantId,
  type Playbook,
  type PlaybookContext,
  type PlaybookStep,
} from './playbook.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TOP = 10;
/** Last 24 h at least this many times the previous daily mean is a spike... */
const SPIKE_RATIO = 2;
/** ...when it is also at least this much traffic (a tenant going from 3 to 9 messages is not). */
const SPIKE_MIN_MESSAGES = 1_000;
export const DEFAULT_RETENTION_FOR_DAYS = 14;
/** The default burst for a rate limit: this many seconds at the limited rate. */
export const BURST_SECONDS = 5;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (now: number, before: number) => (before > 0 ? now / before : now > 0 ? Infinity : 1);
const times = (r: number) => (r === Infinity ? 'new' : `x${r.toFixed(1)}`);

const usage: PlaybookStep = {
  id: 'usage',
  title: 'messages and bytes per tenant: last 24 h against the daily mean of the 7 days before',
  kind: 'diagnose',
  async run(ctx) {
    const db = createPlatformDbSource(ctx.sources.db());
    const now = new Date(ctx.now());
    const dayAgo = new Date(now.getTime() - DAY);
    const [recent, before] = await Promise.all([
      db.tenantUsage(dayAgo, now),
      db.tenantUsage(new Date(dayAgo.getTime() - 7 * DAY), dayAgo),
    ]);
    if (recent.length === 0) return { status: 'ok', lines: ['no accepted messages in the last 24 h'] };
    const baseline = new Map<string, TenantUsage>(before.map((u) => [u.tenant, u]));
    const rows = recent
      .map((u) => {
        const b = baseline.get(u.tenant);
        const meanMessages = (b?.messages ?? 0) / 7;
        const meanBytes = (b?.bytes ?? 0) / 7;
        return { ...u, meanMessages, meanBytes, growth: ratio(u.bytes, meanBytes) };
      })
      .sort((a, b) => b.bytes - a.bytes || a.tenant.localeCompare(b.tenant));
    const spikes = rows.filter((r) => r.growth >= SPIKE_RATIO && r.messages >= SPIKE_MIN_MESSAGES);
    const lines = rows
      .slice(0, TOP)
      .map(
        (r) =>
          `${r.tenant}: ${fmt(r.messages)} messages, ${formatBytes(r.bytes)} from ${r.devices} device(s) in 24 h; ` +
          `7-day daily mean ${fmt(r.meanMessages)} messages, ${formatBytes(r.meanBytes)} (${times(r.growth)} bytes)`,
      );
    if (rows.length > TOP) lines.push(`... and ${rows.length - TOP} more tenant(s)`);
    lines.push(
      spikes.length
        ? `spiking (>= x${SPIKE_RATIO} bytes and >= ${fmt(SPIKE_MIN_MESSAGES)} messages): ${spikes.map((s) => s.tenant).join(', ')}`
        : 'no tenant is spiking',
    );
    return { status: spikes.length ? 'warn' : 'ok', lines };
  },
};

const aiSpend: PlaybookStep = {
  id: 'ai-spend',
  title: 'AI tokens and cost per tenant this month (ai_usage)',
  kind: 'diagnose',
  async run(ctx) {
    const now = new Date(ctx.now());
    const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
    const rows = await createPlatformDbSource(ctx.sources.db()).aiUsage(monthStart, now);
    if (rows.length === 0) return { status: 'ok', lines: ['no AI usage this month'] };
    const byTenant = new Map<
      string,
      { tokens: number; costUsd: number; allowance: number; models: string[] }
    >();
    for (const r of rows) {
      const t = byTenant.get(r.tenant) ?? { tokens: 0, costUsd: 0, allowance: r.allowance, models: [] };
      t.tokens += r.tokens;
      t.costUsd += r.costUsd;
      t.models.push(r.model);
      byTenant.set(r.tenant, t);
    }
    const sorted = [...byTenant.entries()].sort(
      (a, b) => b[1].costUsd - a[1].costUsd || a[0].localeCompare(b[0]),
    );
    const over = sorted.filter(([, t]) => t.tokens > t.allowance).map(([name]) => name);
    const lines = sorted
      .slice(0, TOP)
      .map(
        ([name, t]) =>
          `${name}: ${fmt(t.tokens)} tokens ($${t.costUsd.toFixed(2)}) of ${fmt(t.allowance)} allowed ` +
          `(${t.allowance > 0 ? `${((t.tokens / t.allowance) * 100).toFixed(0)}%` : 'no allowance'}; ${t.models.join(', ')})`,
      );
    lines.push(
      over.length
        ? `over their plan's AI allowance: ${over.join(', ')}`
        : 'every tenant is within its AI allowance',
    );
    return { status: over.length ? 'warn' : 'ok', lines };
  },
};

const rateLimit: PlaybookStep = {
  id: 'rate-limit',
  title: 'a per-tenant ingest rate limit (--tenant <slug> --rate-per-second N [--burst N])',
  kind: 'act',
  async run(ctx) {
    const { tenant, ratePerSecond } = ctx.options;
    if (!tenant || ratePerSecond === undefined)
      return { status: 'skipped', lines: ['not asked (--tenant <slug> --rate-per-second N)'] };
    const burst = ctx.options.burst ?? ratePerSecond * BURST_SECONDS;
    const db = ctx.sources.db();
    const id = await tenantId(db, tenant);
    const current = await db.query<{ per_second: number; burst: number; reason: string }>(
      'select per_second, burst, reason from ops.tenant_rate_limits where tenant_id = $1',
      [id],
    );
    const was = current.rows[0]
      ? `${current.rows[0].per_second}/s, burst ${current.rows[0].burst}${current.rows[0].reason ? ` (${current.rows[0].reason})` : ''}`
      : 'the default limit (ops.settings default_rate_limit)';
    const limit = `${ratePerSecond}/s, burst ${burst}`;
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [`${tenant} has ${was}`, `would limit ${tenant} to ${limit}`],
        summary: `would limit ${tenant} to ${ratePerSecond}/s`,
      };
    const reason = ctx.options.reason ?? reasonText(ctx.options.incident);
    await setTenantRateLimit(db, id, { perSecond: ratePerSecond, burst, reason });
    return {
      status: 'ok',
      lines: [
        `${tenant} had ${was}`,
        `${tenant} is now limited to ${limit} (ingest applies it within its 5 s cache; messages over it are refused as rate_limited dead letters)`,
      ],
      summary: `limited ${tenant} to ${ratePerSecond}/s`,
      audit: {
        action: 'tenant.rate_limit',
        target: tenant,
        detail: { perSecond: ratePerSecond, burst, reason, previous: current.rows[0] ?? null },
      },
    };
  },
};

const retention: PlaybookStep = {
  id: 'retention',
  title:
    'a temporary retention cut for one tenant (--tenant <slug> --retention-days N [--retention-for-days N])',
  kind: 'act',
  async run(ctx) {
    const { tenant, retentionDays } = ctx.options;
    if (!tenant || retentionDays === undefined)
      return { status: 'skipped', lines: ['not asked (--tenant <slug> --retention-days N)'] };
    const forDays = ctx.options.retentionForDays ?? DEFAULT_RETENTION_FOR_DAYS;
    const db = ctx.sources.db();
    const id = await tenantId(db, tenant);
    const plan = await db.query<{ plan: string; plan_days: number; effective: number }>(
      `select p.id as plan, p.retention_days as plan_days, ops.effective_retention_days(t.id, $2) as effective
         from public.tenants t join public.plans p on p.id = t.plan_id where t.id = $1`,
      [id, new Date(ctx.now())],
    );
    const { plan: planId, plan_days: planDays, effective } = plan.rows[0]!;
    if (retentionDays >= planDays)
      return {
        status: 'fail',
        lines: [
          `${tenant}'s plan ${planId} keeps ${planDays} days: an override only lowers it (asked ${retentionDays})`,
        ],
        summary: `retention of ${tenant} unchanged`,
      };
    // What the cut leaves out, from the rollup (never a scan of telemetry).
    const cut = await db.query<{ messages: string; bytes: string }>(
      `select coalesce(sum(messages), 0) as messages, coalesce(sum(bytes), 0) as bytes from public.usage_hourly
        where tenant_id = $1 and hour >= $2 and hour < $3`,
      [id, new Date(ctx.now() - planDays * DAY), new Date(ctx.now() - retentionDays * DAY)],
    );
    const expires = new Date(ctx.now() + forDays * DAY);
    const lines = [
      `${tenant}: plan ${planId} keeps ${planDays} days, ${effective} in force now`,
      `messages older than ${retentionDays} days within the plan's window: ${fmt(Number(cut.rows[0]!.messages))} ` +
        `(${formatBytes(Number(cut.rows[0]!.bytes))} received)`,
    ];
    const what = `${retentionDays} days until ${expires.toISOString().slice(0, 10)}`;
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [
          ...lines,
          `would lower ${tenant}'s retention to ${what} (ops.tenant_retention_overrides)`,
          // Planned as if the cut were in: every retention at most N, of which only this tenant's part counts.
          (await cutEffect(ctx, id, tenant, retentionDays, retentionDays)).line,
        ],
        summary: `would lower ${tenant}'s retention to ${retentionDays} days`,
      };
    const reason = ctx.options.reason ?? reasonText(ctx.options.incident);
    await db.query(
      // created_at from the run's clock, not the database's: the expiry is computed from the same
      // clock, so the row is consistent however far the two clocks are apart.
      `insert into ops.tenant_retention_overrides (tenant_id, retention_days, reason, expires_at, created_by, created_at)
       values ($1, $2, $3, $4, $5, $6)
       on conflict (tenant_id) do update set retention_days = excluded.retention_days, reason = excluded.reason,
         expires_at = excluded.expires_at, created_at = excluded.created_at, created_by = excluded.created_by`,
      [id, retentionDays, reason, expires, actorFor('cost-spike', ctx.target.env), new Date(ctx.now())],
    );
    // The cut is in: the archive's plan for the tenant is now exactly what the next run takes.
    const effect = await cutEffect(ctx, id, tenant, retentionDays, undefined);
    return {
      // The cut is recorded; while the archive is disabled it changes nothing.
      status: effect.archiveOff ? 'warn' : 'ok',
      lines: [
        ...lines,
        `${tenant}'s retention is now ${what}; then the plan's ${planDays} days apply again (ops.effective_retention_days)`,
        effect.line,
      ],
      summary: `lowered ${tenant}'s retention to ${retentionDays} days`,
      audit: {
        action: 'tenant.retention_override',
        target: tenant,
        detail: { retentionDays, planDays, expiresAt: expires.toISOString(), reason },
      },
    };
  },
};

/**
 * How a cut to `days` takes effect: through the archive run, which takes out the tenant's rows past
 * it. Planned by the archive itself, a dry run (with every retention at most `planWith` when given:
 * a tenant's plan depends on its own retention and holds alone, so this tenant's part is what the
 * cut would do, unless an override already lower than the cut is in force). Never throws: the cut
 * may be recorded already.
 */
async function cutEffect(
  ctx: PlaybookContext,
  id: string,
  tenant: string,
  days: number,
  planWith: number | undefined,
): Promise<{ line: string; archiveOff: boolean }> {
  const env = ctx.target.name;
  const off = archiveOff(ctx.target);
  if (off)
    return { line: `WARNING: the cut changes nothing until the archive is on: ${off}`, archiveOff: true };
  let result;
  try {
    result = await runEnvironmentArchive({
      target: ctx.target,
      pool: ctx.sources.db(),
      dryRun: true,
      retentionDays: planWith,
      actor: actorFor('cost-spike', ctx.target.env),
      log: (line) => ctx.progress(`retention: ${line}`),
    });
  } catch (error) {
    return {
      line: `the archive's plan for ${tenant} could not be read: ${(error as Error).message}`,
      archiveOff: false,
    };
  }
  const mine = (result.plan ?? []).flatMap((d) =>
    d.tenants.filter((t) => t.tenantId === id).map((t) => ({ day: d.day, ...t })),
  );
  const leaving = mine.filter((t) => t.action === 'archive' || t.action === 'purge');
  const held = mine.filter((t) => t.action === 'held').reduce((n, t) => n + t.rows, 0);
  const rows = leaving.reduce((n, t) => n + t.rows, 0);
  const purge = ctx.target.config.archive?.mode === 'purge-without-archive';
  const when =
    'takes effect at the next daily archive run (20:30 UTC, docs/archive.md) or at once with ' +
    `\`npm run ops -- archive run --env ${env} --apply\` (a dry run without --apply)`;
  const what = leaving.length
    ? `${fmt(rows)} rows of ${tenant} on ${leaving.length} day(s), ${leaving[0]!.day} to ${leaving[leaving.length - 1]!.day}, ` +
      (purge ? 'would be deleted with no copy (purge-without-archive)' : 'would be archived and removed')
    : `no row of ${tenant} is past ${days} days`;
  const floor =
    days < MIN_ARCHIVE_AGE_DAYS
      ? `; no day newer than ${MIN_ARCHIVE_AGE_DAYS} days leaves (ingest still accepts those)`
      : '';
  const holds = held ? `; ${fmt(held)} rows held by a restore stay until the hold ends` : '';
  return { line: `the cut ${when}: ${what}${floor}${holds}`, archiveOff: false };
}

function reasonText(incident: number | undefined): string {
  return `cost-spike playbook${incident !== undefined ? ` (incident #${incident})` : ''}`;
}

export const costSpike: Playbook = {
  name: 'cost-spike',
  title: 'Cost spike: egress and token usage; a tenant rate limit; a temporary retention cut',
  steps: [usage, aiSpend, rateLimit, retention],
  accepts: ['tenant', 'rate-per-second', 'burst', 'retention-days', 'retention-for-days', 'reason'],
  tenantScoped: ['rate-per-second', 'retention-days'],
  needs: ['database'],
};
