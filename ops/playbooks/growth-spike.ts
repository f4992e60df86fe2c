/**
 * growth-spike: where the data growth comes from (devices whose messages per hour or bytes per
 * message grew most, last 24 h against the 7 days before, from the hourly rollup), the largest
 * payloads of the last day (the rollup's bytes / messages per hour, never a telemetry scan) and
 * the telemetry partitions' sizes. Nothing is changed automatically: the Blob archive is disabled
 * today, payload compression is device firmware, and per-tenant field limits are a product change;
 * the last step says what an operator can do.
 */
import { formatBytes, type Playbook, type PlaybookStep } from './playbook.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TOP = 10;
/** Growth at least this large, on at least this many messages in 24 h, is a growth spike. */
const GROWTH_RATIO = 2;
const MIN_MESSAGES = 100;

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

const recommendations: PlaybookStep = {
  id: 'recommendations',
  title: 'what to do (nothing here is automatic)',
  kind: 'diagnose',
  async run(ctx) {
    const spiking = (ctx.facts.get('growth.spiking') as string[] | undefined) ?? [];
    const lines = [
      'archive sooner (growth-spike.archive): the Blob archive is disabled today, so there is no archive policy to speed up',
      'compress payloads (growth-spike.compress): a device firmware change; the telemetry contract caps payload size (common/telemetry.ts)',
      'limit non-critical fields (growth-spike.fields): per-tenant field limits are a product change; global limits are in common/telemetry.ts',
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
  steps: [devices, payloads, partitions, recommendations],
  accepts: [],
  needs: ['database'],
};
