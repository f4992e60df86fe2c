/**
 * growth-spike (runbook section 7, "Data growth spike"): where the growth comes from (devices whose
 * messages per hour or bytes per message grew most, from usage_hourly; tenants and metrics whose
 * samples grew most, from telemetry_hourly; last 24 h against the 7 days before, both rollups read
 * within the window only, never a telemetry scan), the largest payloads and the partitions' sizes.
 * Then on request: the archive run now with a shorter retention (only if the Blob archive is on),
 * and a tenant's own payload caps (ops.tenant_payload_limits, which ingest enforces as
 * `tenant_payload_limit`). Payload compression is device firmware: the last step says so.
 */
import { DEFAULT_TELEMETRY_LIMITS } from '../../common/telemetry.js';
import { archiveOff, archiveStoreFor } from '../archive/archive-target.js';
import { archiveRunSummary, runEnvironmentArchive, runRetention } from '../archive/run.js';
import type { OpsTarget } from '../config/ops-target.js';
import {
  actorFor,
  formatBytes,
  tenantId,
  type Playbook,
  type PlaybookStep,
  type StepResult,
} from './playbook.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TOP = 10;
/** Growth at least this large, on at least this many messages (samples) in 24 h, is a growth spike. */
const GROWTH_RATIO = 2;
const MIN_MESSAGES = 100;
/** The newest messages of a tenant the field-limit step measures against new caps. */
export const LIMIT_SAMPLE_MESSAGES = 10_000;
/** Plan lines an archive step prints before "... and N more". */
const MAX_DAY_LINES = 15;

interface DeviceWindow {
  tenant: string;
  device: string;
  messagesNow: number;
  bytesNow: number;
  messagesBefore: number;
  bytesBefore: number;
}

export const GROWTH_QUERIES = {
  devices: `select t.slug as tenant, d.device_key as device,
         coalesce(sum(u.messages) filter (where u.hour >= $2), 0)::float8 as "messagesNow",
         coalesce(sum(u.bytes) filter (where u.hour >= $2), 0)::float8 as "bytesNow",
         coalesce(sum(u.messages) filter (where u.hour < $2), 0)::float8 as "messagesBefore",
         coalesce(sum(u.bytes) filter (where u.hour < $2), 0)::float8 as "bytesBefore"
    from public.usage_hourly u
    join public.tenants t on t.id = u.tenant_id
    join public.devices d on d.id = u.device_id
   where u.hour >= $1 and u.hour < $3
   group by t.slug, d.device_key`,
  largestPayloads: `select t.slug as tenant, d.device_key as device, u.hour,
         (u.bytes::float8 / u.messages) as "meanBytes", u.messages::float8 as messages
    from public.usage_hourly u
    join public.tenants t on t.id = u.tenant_id
    join public.devices d on d.id = u.device_id
   where u.hour >= $1 and u.hour < $2 and u.messages > 0
   order by u.bytes::float8 / u.messages desc, t.slug, d.device_key
   limit 5`,
  partitions: `select c.relname as name, pg_total_relation_size(c.oid)::float8 as bytes
    from pg_inherits i join pg_class c on c.oid = i.inhrelid
   where i.inhparent = 'public.telemetry'::regclass
   order by c.relname`,
  /**
   * Samples per tenant and metric, [$1, $2) against [$2, $3), from the hourly rollup: per registered
   * device, its primary key's range (tenant_id, device_id, hour), so only the window is read however
   * long the rollup's history. Grouped inside the lateral: ungrouped, the planner flattened it into
   * a scan of the whole rollup (measured with 60 days of 200 devices' rollup). Growth
   * is samples added per day (the last 24 h minus the daily mean before); the top $4 tenants and the
   * top $4 tenant/metric pairs come back as two JSON arrays.
   */
  fields: `with pairs as (
    select d.tenant_id, h.metric, sum(h.samples_now) as samples_now, sum(h.samples_before) as samples_before
      from public.devices d
      cross join lateral (
        select x.metric,
               coalesce(sum(x.samples) filter (where x.hour >= $2), 0)::float8 as samples_now,
               coalesce(sum(x.samples) filter (where x.hour < $2), 0)::float8 as samples_before
          from public.telemetry_hourly x
         where x.tenant_id = d.tenant_id and x.device_id = d.id and x.hour >= $1 and x.hour < $3
         group by x.metric) h
     group by d.tenant_id, h.metric),
  growth as (
    select t.slug as tenant, p.metric, p.samples_now, p.samples_before,
           p.samples_now - p.samples_before / 7 as added
      from pairs p join public.tenants t on t.id = p.tenant_id)
  select
    (select coalesce(json_agg(x order by x.added desc, x.tenant), '[]') from (
       select tenant, sum(samples_now) as "samplesNow", sum(samples_before) as "samplesBefore",
              sum(added) as added,
              count(*) filter (where samples_now > 0)::int as "metricsNow",
              count(*) filter (where samples_now > 0 and samples_before = 0)::int as "newMetrics"
         from growth group by tenant
        order by sum(added) desc, tenant limit $4) x) as tenants,
    (select coalesce(json_agg(x order by x.added desc, x.tenant, x.metric), '[]') from (
       select tenant, metric, samples_now as "samplesNow", samples_before as "samplesBefore", added
         from growth where samples_now > 0
        order by added desc, tenant, metric limit $4) x) as metrics`,
  /**
   * Of the tenant's newest $6 messages in [$4, $5): how many a cap of $2 metrics or $3 characters
   * (null: no cap) would refuse. Counted as ingest counts (common/telemetry.ts): every value at any
   * depth but a nested object is a metric; a string's length here is in code points, ingest's in
   * UTF-16 units (the same but for characters outside the BMP, such as emoji): an estimate.
   */
  overLimits: `select count(*)::int as messages, min(s.ts) as since,
         count(*) filter (where $2::int is not null and m.metrics > $2)::int as "overMetrics",
         count(*) filter (where $3::int is not null and m.longest > $3)::int as "overStrings",
         count(*) filter (where ($2::int is not null and m.metrics > $2)
                             or ($3::int is not null and m.longest > $3))::int as refused
    from (select t.ts, t.metrics from public.telemetry t
           where t.tenant_id = $1 and t.ts >= $4 and t.ts < $5
           order by t.ts desc limit $6) s
    cross join lateral (
      select count(*) as metrics,
             coalesce(max(length(v #>> '{}')) filter (where jsonb_typeof(v) = 'string'), 0) as longest
        from jsonb_path_query(s.metrics, 'strict $.** ? (@.type() != "object")') v) m`,
} as const;

const ratio = (now: number, before: number) => (before > 0 ? now / before : now > 0 ? Infinity : 1);
const times = (r: number) => (r === Infinity ? 'new' : `x${r.toFixed(1)}`);

const devices: PlaybookStep = {
  id: 'device-growth',
  title: 'devices whose messages per hour or bytes per message grew most (24 h against the 7 days before)',
  kind: 'diagnose',
  async run(ctx) {
    const now = ctx.now();
    const res = await ctx.sources
      .db()
      .query<DeviceWindow>(GROWTH_QUERIES.devices, [
        new Date(now - 8 * DAY),
        new Date(now - DAY),
        new Date(now),
      ]);
    const rows = res.rows
      .filter((r) => r.messagesNow > 0)
      .map((r) => {
        const rateGrowth = ratio(r.messagesNow / 24, r.messagesBefore / (7 * 24));
        const sizeNow = r.bytesNow / r.messagesNow;
        const sizeBefore = r.messagesBefore > 0 ? r.bytesBefore / r.messagesBefore : 0;
        const sizeGrowth = ratio(sizeNow, sizeBefore);
        return {
          ...r,
          rateGrowth,
          sizeNow,
          sizeBefore,
          sizeGrowth,
          growth: Math.max(rateGrowth, sizeGrowth),
        };
      })
      .sort((a, b) => b.growth - a.growth || b.bytesNow - a.bytesNow || a.device.localeCompare(b.device));
    if (rows.length === 0) return { status: 'ok', lines: ['no accepted messages in the last 24 h'] };
    ctx.facts.set('growth.devices', rows);
    const spiking = rows.filter((r) => r.growth >= GROWTH_RATIO && r.messagesNow >= MIN_MESSAGES);
    ctx.facts.set(
      'growth.spiking',
      spiking.map((r) => `${r.tenant}/${r.device}`),
    );
    const lines = rows
      .slice(0, TOP)
      .map(
        (r) =>
          `${r.tenant}/${r.device}: ${(r.messagesNow / 24).toFixed(1)} msg/h (${times(r.rateGrowth)}), ` +
          `${r.sizeNow.toFixed(0)} B/msg (${times(r.sizeGrowth)}), ${formatBytes(r.bytesNow)} in 24 h`,
      );
    const tenants = new Map<string, number>();
    for (const r of rows) tenants.set(r.tenant, (tenants.get(r.tenant) ?? 0) + r.bytesNow);
    ctx.facts.set('growth.tenantBytes', tenants);
    lines.push(
      `bytes in 24 h by tenant: ${[...tenants.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, TOP)
        .map(([t, b]) => `${t} ${formatBytes(b)}`)
        .join(', ')}`,
    );
    lines.push(
      spiking.length
        ? `growing >= x${GROWTH_RATIO} (>= ${MIN_MESSAGES} msgs in 24 h): ${spiking.map((r) => `${r.tenant}/${r.device}`).join(', ')}`
        : 'no device is growing fast',
    );
    return { status: spiking.length ? 'warn' : 'ok', lines };
  },
};

const payloads: PlaybookStep = {
  id: 'largest-payloads',
  title: 'largest payloads of the last day (mean bytes per message in one hour, from the rollup)',
  kind: 'diagnose',
  async run(ctx) {
    const now = ctx.now();
    const res = await ctx.sources
      .db()
      .query<{ tenant: string; device: string; hour: Date; meanBytes: number; messages: number }>(
        GROWTH_QUERIES.largestPayloads,
        [new Date(now - DAY), new Date(now)],
      );
    if (res.rows.length === 0) return { status: 'ok', lines: ['no messages in the last day'] };
    return {
      status: 'ok',
      lines: res.rows.map(
        (r) =>
          `${r.tenant}/${r.device}: ${r.meanBytes.toFixed(0)} B/msg over ${r.messages} message(s) in the hour from ${r.hour.toISOString().slice(0, 13)}:00Z`,
      ),
    };
  },
};

const partitions: PlaybookStep = {
  id: 'partitions',
  title: 'telemetry partition sizes',
  kind: 'diagnose',
  async run(ctx) {
    const res = await ctx.sources.db().query<{ name: string; bytes: number }>(GROWTH_QUERIES.partitions);
    const total = res.rows.reduce((s, r) => s + r.bytes, 0);
    const daily = res.rows.filter((r) => /^telemetry_p\d{8}$/.test(r.name));
    const fallback = res.rows.find((r) => r.name === 'telemetry_default');
    const lines = [`${res.rows.length} partition(s), ${formatBytes(total)} in all (with indexes and TOAST)`];
    const largest = [...res.rows].sort((a, b) => b.bytes - a.bytes).slice(0, 3);
    lines.push(`largest: ${largest.map((r) => `${r.name} ${formatBytes(r.bytes)}`).join(', ')}`);
    // The newest daily partitions, oldest first, so a jump reads left to right.
    const today = new Date(ctx.now()).toISOString().slice(0, 10).replace(/-/g, '');
    const recent = daily.filter((r) => r.name.slice(-8) <= today).slice(-8);
    if (recent.length)
      lines.push(`last days: ${recent.map((r) => `${r.name.slice(-4)} ${formatBytes(r.bytes)}`).join(', ')}`);
    let status: 'ok' | 'warn' = 'ok';
    // Rows land in the default partition only when their day has no partition: the daily job lags.
    if (fallback && fallback.bytes > 1024 * 1024) {
      status = 'warn';
      lines.push(
        `telemetry_default holds ${formatBytes(fallback.bytes)}: days without a partition (ops.ensure_telemetry_partitions)`,
      );
    }
    return { status, lines };
  },
};

interface TenantFieldGrowth {
  tenant: string;
  samplesNow: number;
  samplesBefore: number;
  added: number;
  metricsNow: number;
  newMetrics: number;
}
interface MetricGrowth {
  tenant: string;
  metric: string;
  samplesNow: number;
  samplesBefore: number;
  added: number;
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
/** `x6.0`, or `new` for none before: the last 24 h against the daily mean of the 7 days before. */
const dailyGrowth = (now: number, before: number) => times(ratio(now, before / 7));

const fields: PlaybookStep = {
  id: 'field-growth',
  title: 'tenants and metrics whose samples grew most (telemetry_hourly: 24 h against the 7 days before)',
  kind: 'diagnose',
  async run(ctx) {
    const now = ctx.now();
    const res = await ctx.sources
      .db()
      .query<{ tenants: TenantFieldGrowth[]; metrics: MetricGrowth[] }>(GROWTH_QUERIES.fields, [
        new Date(now - 8 * DAY),
        new Date(now - DAY),
        new Date(now),
        TOP,
      ]);
    const { tenants, metrics } = res.rows[0]!;
    const active = tenants.filter((t) => t.samplesNow > 0);
    if (active.length === 0) return { status: 'ok', lines: ['no numeric samples in the last 24 h'] };
    const fastMetrics = metrics.filter(
      (m) => m.samplesNow >= MIN_MESSAGES && ratio(m.samplesNow, m.samplesBefore / 7) >= GROWTH_RATIO,
    );
    ctx.facts.set(
      'growth.fastMetrics',
      fastMetrics.map((m) => `${m.tenant}/${m.metric}`),
    );
    const bytes = ctx.facts.get('growth.tenantBytes') as Map<string, number> | undefined;
    const lines = [
      'tenants (samples added per day, most first):',
      ...active.map(
        (t) =>
          `  ${t.tenant}: ${fmt(t.samplesNow)} samples in 24 h, 7-day daily mean ${fmt(t.samplesBefore / 7)} ` +
          `(${dailyGrowth(t.samplesNow, t.samplesBefore)}); ${t.metricsNow} metric(s)` +
          (t.newMetrics ? `, ${t.newMetrics} new` : '') +
          (bytes?.has(t.tenant) ? `; ${formatBytes(bytes.get(t.tenant)!)} in 24 h` : ''),
      ),
      'metrics (tenant/metric, samples added per day, most first):',
      ...metrics.map(
        (m) =>
          `  ${m.tenant}/${m.metric}: ${fmt(m.samplesNow)} samples in 24 h, 7-day daily mean ` +
          `${fmt(m.samplesBefore / 7)} (${dailyGrowth(m.samplesNow, m.samplesBefore)})`,
      ),
      'numeric metrics only (the rollup counts numbers); text and booleans show in the bytes per message above',
      fastMetrics.length
        ? `growing >= x${GROWTH_RATIO} (>= ${MIN_MESSAGES} samples in 24 h): ${fastMetrics.map((m) => `${m.tenant}/${m.metric}`).join(', ')}`
        : 'no metric is growing fast',
    ];
    return { status: fastMetrics.length ? 'warn' : 'ok', lines };
  },
};

const archiveSooner: PlaybookStep = {
  id: 'archive-sooner',
  title: 'run the archive now with a shorter retention (--retention-days N; only if the Blob archive is on)',
  kind: 'act',
  async run(ctx) {
    const { retentionDays, dryRun } = ctx.options;
    if (retentionDays === undefined) return { status: 'skipped', lines: ['not asked (--retention-days N)'] };
    const off = archiveOff(ctx.target);
    if (off) return { status: 'fail', lines: [off], summary: 'archive not run: it is disabled' };
    const env = ctx.target.name;
    const archive = ctx.target.config.archive!;
    if (archive.mode === 'purge-without-archive')
      return {
        status: 'fail',
        lines: [
          `${env}'s archive purges without a copy (purge-without-archive: ${archive.reason}): ` +
            'running it sooner deletes telemetry for good, which this playbook does not do. If that is ' +
            `meant: npm run ops -- archive run --env ${env} --retention-days ${retentionDays} (a dry run), then --apply`,
        ],
        summary: 'archive not run: it purges without a copy',
      };
    const retention = runRetention(ctx.target, retentionDays)!;
    const result = await runEnvironmentArchive({
      target: ctx.target,
      pool: ctx.sources.db(),
      store: dryRun ? undefined : archiveStoreFor(ctx.target),
      dryRun,
      retentionDays,
      // The playbook's pool has two connections: one export at a time, one for the run itself.
      parallel: 1,
      actor: actorFor('growth-spike', ctx.target.env),
      log: (line) => ctx.progress(`archive-sooner: ${line}`),
    });
    const lines: string[] = [];
    if (retention !== retentionDays)
      lines.push(`${env}'s archive keeps at most ${retention} days: that applies, not ${retentionDays}`);
    const days = result.plan
      ? result.plan.map(
          (d) =>
            `${d.day}${d.inDefaultPartition ? ' (default partition)' : ''}: ${d.removal === 'drop' ? 'drop the partition' : d.removal === 'delete' ? 'delete rows' : 'nothing leaves'}; ` +
            d.tenants.map((t) => `${t.tenant} ${fmt(t.rows)} ${t.action}`).join(', '),
        )
      : result.days.map((d) => `${d.day}: ${d.outcome}`);
    lines.push(...days.slice(0, MAX_DAY_LINES));
    if (days.length > MAX_DAY_LINES) lines.push(`... and ${days.length - MAX_DAY_LINES} more day(s)`);
    lines.push(...result.errors);
    lines.push(archiveRunSummary(result, retention));
    if (dryRun) {
      const leaving = (result.plan ?? []).flatMap((d) => d.tenants).filter((t) => t.action === 'archive');
      const rows = leaving.reduce((n, t) => n + t.rows, 0);
      return {
        status: 'dry-run',
        lines,
        summary: `would archive ${fmt(rows)} rows with a ${retention}-day retention`,
      };
    }
    return {
      status: result.errors.length ? 'fail' : 'ok',
      lines,
      summary: `archived ${fmt(result.rowsRemoved)} rows with a ${retention}-day retention${result.errors.length ? ` (${result.errors.length} error(s))` : ''}`,
      audit: {
        action: 'telemetry.archive_run',
        target: env,
        detail: {
          retentionDays: retention,
          rowsRemoved: result.rowsRemoved,
          objectsVerified: result.objectsVerified,
          partitionsDropped: result.partitionsDropped.length,
          tenantDaysDeleted: result.tenantDaysDeleted,
          errors: result.errors,
        },
      },
    };
  },
};

interface PayloadLimitRow {
  max_metrics: number | null;
  max_string_length: number | null;
  reason: string;
  expires_at: Date | null;
}

const caps = (metrics: number | null, strings: number | null) =>
  [
    metrics !== null ? `at most ${metrics} metrics per message` : null,
    strings !== null ? `strings of at most ${strings} characters` : null,
  ]
    .filter((c) => c !== null)
    .join(', ');

const limitFields: PlaybookStep = {
  id: 'limit-fields',
  title:
    "cap one tenant's metrics per message and string length (--tenant <slug> --max-metrics N --max-string-length N [--limits-for-days N]), or take its caps away (--lift-limits)",
  kind: 'act',
  async run(ctx): Promise<StepResult> {
    const { tenant, maxMetrics, maxStringLength, limitsForDays, liftLimits } = ctx.options;
    if (!tenant || (maxMetrics === undefined && maxStringLength === undefined && !liftLimits))
      return {
        status: 'skipped',
        lines: ['not asked (--tenant <slug> --max-metrics N and/or --max-string-length N, or --lift-limits)'],
      };
    const db = ctx.sources.db();
    const id = await tenantId(db, tenant);
    const now = ctx.now();
    const current = (
      await db.query<PayloadLimitRow>(
        'select max_metrics, max_string_length, reason, expires_at from ops.tenant_payload_limits where tenant_id = $1',
        [id],
      )
    ).rows[0];
    const inForce = current && (current.expires_at === null || current.expires_at.getTime() > now);
    const global = DEFAULT_TELEMETRY_LIMITS;
    const globalCaps = `the global ${global.maxMetrics} metrics, ${global.maxStringLength} characters`;
    const was = inForce
      ? `${caps(current.max_metrics, current.max_string_length)} (${current.reason}` +
        `${current.expires_at ? `, until ${current.expires_at.toISOString().slice(0, 10)}` : ''})`
      : `no caps of its own (${globalCaps})`;
    if (liftLimits)
      return liftCaps(ctx, { tenant, id, was, current: inForce ? current : undefined, globalCaps });
    // A cap not given stays as it is in force; an expired row's caps do not come back.
    const metrics = maxMetrics ?? (inForce ? current.max_metrics : null);
    const strings = maxStringLength ?? (inForce ? current.max_string_length : null);
    const expires = limitsForDays === undefined ? null : new Date(now + limitsForDays * DAY);
    const until = expires ? ` until ${expires.toISOString().slice(0, 10)}` : ' until changed';
    // What the caps would have refused of the tenant's last day, on its newest messages (bounded).
    const sample = (
      await db.query<{
        messages: number;
        since: Date | null;
        overMetrics: number;
        overStrings: number;
        refused: number;
      }>(GROWTH_QUERIES.overLimits, [
        id,
        metrics,
        strings,
        new Date(now - DAY),
        new Date(now),
        LIMIT_SAMPLE_MESSAGES,
      ])
    ).rows[0]!;
    const pct = (n: number) => `${((n / sample.messages) * 100).toFixed(1)}%`;
    const estimate =
      sample.messages === 0
        ? `${tenant} sent no messages in the last 24 h: nothing to measure the caps against`
        : `of ${tenant}'s ${sample.messages === LIMIT_SAMPLE_MESSAGES ? 'newest ' : ''}${fmt(sample.messages)} ` +
          `message(s) of the last 24 h (since ${sample.since!.toISOString().slice(0, 16)}Z), ${fmt(sample.refused)} ` +
          `(${pct(sample.refused)}) would be refused: ${fmt(sample.overMetrics)} over the metrics cap, ` +
          `${fmt(sample.overStrings)} with a longer string (an estimate: characters counted as code points)`;
    const lines = [`${tenant} has ${was}`, estimate];
    const what = `${caps(metrics, strings)}${until}`;
    if (ctx.options.dryRun)
      return {
        status: 'dry-run',
        lines: [...lines, `would set ${tenant}'s caps (ops.tenant_payload_limits): ${what}`],
        summary: `would cap ${tenant}'s payloads`,
      };
    const reason = ctx.options.reason ?? reasonText(ctx.options.incident);
    await db.query(
      `insert into ops.tenant_payload_limits
         (tenant_id, max_metrics, max_string_length, reason, created_by, created_at, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7)
       on conflict (tenant_id) do update set max_metrics = excluded.max_metrics,
         max_string_length = excluded.max_string_length, reason = excluded.reason,
         created_by = excluded.created_by, created_at = excluded.created_at, expires_at = excluded.expires_at`,
      [id, metrics, strings, reason, actorFor('growth-spike', ctx.target.env), new Date(now), expires],
    );
    return {
      status: 'ok',
      lines: [
        ...lines,
        `${tenant}'s caps are now ${what}: ingest refuses a message over one as a ` +
          `tenant_payload_limit dead letter quoting "${reason}" (within its 5 s settings cache)`,
      ],
      summary: `capped ${tenant}'s payloads`,
      audit: {
        action: 'tenant.payload_limit',
        target: tenant,
        detail: {
          maxMetrics: metrics,
          maxStringLength: strings,
          expiresAt: expires?.toISOString() ?? null,
          reason,
          previous: current ?? null,
        },
      },
    };
  },
};

/** --lift-limits: the tenant's caps in force go; its messages meet the global limits again. */
async function liftCaps(
  ctx: Parameters<PlaybookStep['run']>[0],
  t: { tenant: string; id: string; was: string; current?: PayloadLimitRow; globalCaps: string },
): Promise<StepResult> {
  const lines = [`${t.tenant} has ${t.was}`];
  if (!t.current) {
    // An expired row changes nothing either way; it goes with the next caps set.
    return { status: 'ok', lines: [...lines, 'nothing to lift'], summary: `${t.tenant} has no payload caps` };
  }
  if (ctx.options.dryRun)
    return {
      status: 'dry-run',
      lines: [...lines, `would lift ${t.tenant}'s caps: its messages would meet ${t.globalCaps} again`],
      summary: `would lift ${t.tenant}'s payload caps`,
    };
  await ctx.sources.db().query('delete from ops.tenant_payload_limits where tenant_id = $1', [t.id]);
  return {
    status: 'ok',
    lines: [
      ...lines,
      `${t.tenant}'s caps are lifted: its messages meet ${t.globalCaps} again (within ingest's 5 s settings cache)`,
    ],
    summary: `lifted ${t.tenant}'s payload caps`,
    audit: { action: 'tenant.payload_limit_lifted', target: t.tenant, detail: { previous: t.current } },
  };
}

function reasonText(incident: number | undefined): string {
  return `growth-spike playbook${incident !== undefined ? ` (incident #${incident})` : ''}`;
}

/** Whether the archive can be run sooner here, and how. */
function archiveAdvice(target: OpsTarget): string {
  const a = target.config.archive;
  const env = target.name;
  if (!a || a.mode === 'disabled') return archiveOff(target)!;
  if (a.mode === 'purge-without-archive')
    return (
      `the environment purges without archive (${a.reason}): running it sooner deletes telemetry for good; ` +
      `if that is meant, npm run ops -- archive run --env ${env} --retention-days N (a dry run first)`
    );
  return (
    `the archive is enabled (${a.retentionDays ? `at most ${a.retentionDays} days` : "each tenant's retention"}, ` +
    'daily at 20:30 UTC): this playbook with --retention-days N runs it now with a shorter retention ' +
    `(a dry run first), as does npm run ops -- archive run --env ${env} --retention-days N`
  );
}

const recommendations: PlaybookStep = {
  id: 'recommendations',
  title: 'what to do next',
  kind: 'diagnose',
  async run(ctx) {
    const spiking = (ctx.facts.get('growth.spiking') as string[] | undefined) ?? [];
    const fastMetrics = (ctx.facts.get('growth.fastMetrics') as string[] | undefined) ?? [];
    const lines = [
      `archive sooner (growth-spike.archive): ${archiveAdvice(ctx.target)}`,
      'compress payloads (growth-spike.compress): a device firmware change; the telemetry contract caps payload size (common/telemetry.ts)',
      'limit non-critical fields (growth-spike.fields): this playbook with --tenant <slug> --max-metrics N ' +
        "and/or --max-string-length N caps one tenant's messages (ops.tenant_payload_limits; ingest refuses " +
        'the rest as tenant_payload_limit); a dry run first says how much of its last day the caps would refuse' +
        (fastMetrics.length ? ` (fastest-growing metrics: ${fastMetrics.slice(0, 5).join(', ')})` : ''),
    ];
    if (spiking.length) {
      const tenants = [...new Set(spiking.map((s) => s.split('/')[0]!))];
      lines.push(
        `to slow the growth now: \`ops playbook cost-spike --tenant ${tenants[0]} --rate-per-second N --apply\`, ` +
          `or \`--retention-days N\` for a temporary retention cut (growing: ${spiking.join(', ')})`,
      );
    }
    return { status: 'ok', lines };
  },
};

export const growthSpike: Playbook = {
  name: 'growth-spike',
  title: 'Data growth spike: archive sooner; limit payload fields',
  steps: [devices, fields, payloads, partitions, archiveSooner, limitFields, recommendations],
  accepts: [
    'tenant',
    'retention-days',
    'max-metrics',
    'max-string-length',
    'limits-for-days',
    'lift-limits',
    'reason',
  ],
  tenantScoped: ['max-metrics', 'max-string-length', 'lift-limits'],
  needs: ['database', 'archive'],
};
