/**
 * Seeds a migrated database for `bench:ops` inside Postgres (INSERT ... SELECT generate_series, no
 * rows travel over the wire): tenants on the sandbox's plans, devices, telemetry spread over the
 * last `days` days and what the ingest path writes alongside it (hourly usage rollup by time of
 * receipt, latest values, last_seen), plus dead letters and an AI usage ledger in proportion.
 *
 * Telemetry grows in phases (`addTelemetry`): each phase gives every device the same number of
 * evenly spaced readings over the whole window, offset so phases interleave; the rollup is
 * upserted from the rows each statement really inserted, as mqtt_ingest does. Keys are unique by
 * construction (phase and sequence number), so no ON CONFLICT on the telemetry insert.
 */
import type pg from 'pg';
import { upsertPlan, type PlanSpec } from '../../common/provisioning.js';

export const BENCH_HASH = '$7$101$c2FsdHNhbHRzYWx0$aGFzaA==';

export interface SeedShape {
  tenants: number;
  devices: number;
  /** The window telemetry is spread over, ending at `anchor`. */
  days: number;
  /** Every reading is at or before this instant; the checks run "now" = anchor. */
  anchor: Date;
}

/** Which plan each tenant is on and how many devices it has: mostly small tenants, a few big ones. */
export function tenantLayout(
  shape: Pick<SeedShape, 'tenants' | 'devices'>,
  plans: PlanSpec[],
): { slug: string; planId: string; devices: number; status: 'active' | 'suspended' }[] {
  const starter = plans.find((p) => p.monthlyPriceCents === 0 && p.id !== 'internal') ?? plans[0]!;
  const paid = plans.find((p) => p.monthlyPriceCents > 0) ?? plans[0]!;
  const internal = plans.find((p) => p.id === 'internal');
  if (shape.tenants < 3) throw new Error(`at least 3 tenants, got ${shape.tenants}`);
  const layout = Array.from({ length: shape.tenants }, (_, i) => {
    const slug = `bench-${String(i + 1).padStart(3, '0')}`;
    if (internal && i === shape.tenants - 1) return { slug, planId: internal.id, devices: 2 };
    // Six in ten tenants on the free plan, 2 to 5 devices (capped by the plan).
    if (i < Math.round(shape.tenants * 0.6))
      return { slug, planId: starter.id, devices: Math.min(starter.maxDevices, 2 + (i % 4)) };
    return { slug, planId: paid.id, devices: 0 };
  });
  const paidTenants = layout.filter((t) => t.planId === paid.id);
  let left = shape.devices - layout.reduce((a, t) => a + t.devices, 0);
  if (paidTenants.length === 0 || left < paidTenants.length)
    throw new Error(`${shape.devices} devices are too few for ${shape.tenants} tenants`);
  paidTenants.forEach((t, i) => {
    t.devices = Math.floor(left / (paidTenants.length - i));
    left -= t.devices;
  });
  if (paidTenants.some((t) => t.devices > paid.maxDevices))
    throw new Error(`more devices per ${paid.id} tenant than its plan allows (${paid.maxDevices})`);
  // One suspended tenant: the pricing review skips it, its old rows still count in the windows.
  return layout.map((t, i) => ({ ...t, status: i === 1 ? ('suspended' as const) : ('active' as const) }));
}

/** Plans, tenants and devices; the telemetry partitions for the window. Returns the device count. */
export async function seedRegistry(
  client: pg.ClientBase,
  shape: SeedShape,
  plans: PlanSpec[],
): Promise<number> {
  for (const plan of plans) await upsertPlan(client, plan);
  const layout = tenantLayout(shape, plans);
  await client.query(
    `insert into public.tenants (slug, name, plan_id, status)
     select slug, 'Bench tenant ' || slug, plan_id, status
       from unnest($1::text[], $2::text[], $3::text[]) as x(slug, plan_id, status)`,
    [layout.map((t) => t.slug), layout.map((t) => t.planId), layout.map((t) => t.status)],
  );
  // Two in a hundred devices disabled; device keys <tenant>-d<n>.
  const res = await client.query<{ n: number }>(
    `with per_tenant as (
       select t.id, t.slug, x.devices from unnest($1::text[], $2::int[]) as x(slug, devices)
       join public.tenants t on t.slug = x.slug
     ), ins as (
       insert into public.devices (tenant_id, device_key, name, credential_hash, status)
       select p.id, p.slug || '-d' || g, 'Device ' || g, $3,
              case when (hashtext(p.slug || g) & 63) = 0 then 'disabled' else 'active' end
         from per_tenant p cross join lateral generate_series(1, p.devices) g
       returning 1
     ) select count(*)::int as n from ins`,
    [layout.map((t) => t.slug), layout.map((t) => t.devices), BENCH_HASH],
  );
  // Daily partitions for the whole window (the migration creates only the days around now()).
  const fromDay = new Date(shape.anchor.getTime() - (shape.days + 1) * 86_400_000).toISOString().slice(0, 10);
  await client.query(`select ops.ensure_telemetry_partitions($1::date, $2)`, [fromDay, shape.days + 3]);
  // Devices in a fixed order with their index, for the generators below.
  await client.query(
    `create schema if not exists bench;
     create table bench.devices as
       select (row_number() over (order by d.device_key) - 1)::int as idx, d.id, d.tenant_id
         from public.devices d`,
  );
  return res.rows[0]!.n;
}

export interface TelemetryPhase {
  /** Phase number (1, 2, ...): part of each row's msg_key, so phases never collide. */
  phase: number;
  /** Readings per device in this phase (total rows = perDevice x devices). */
  perDevice: number;
  /** Statements the phase is split into (progress, bounded memory). */
  chunks: number;
  /** Fraction of one reading interval the phase's readings are shifted by, in [0, 1). */
  offset: number;
}

/**
 * One phase of telemetry, `chunks` statements each inserting a time slice for every device and,
 * in the same statement, upserting the hourly usage rollup from the inserted rows (as ingest).
 */
export async function addTelemetry(
  clients: pg.ClientBase[],
  shape: SeedShape,
  phase: TelemetryPhase,
  onChunk?: (done: number, rows: number) => void,
): Promise<number> {
  const windowSeconds = shape.days * 86_400;
  const step = windowSeconds / phase.perDevice;
  const start = new Date(shape.anchor.getTime() - windowSeconds * 1000);
  let rows = 0;
  let done = 0;
  let next = 0;
  // Chunks are time slices; each client takes the next one (two cores: two statements at once).
  const worker = async (client: pg.ClientBase) => {
    for (let c = next++; c < phase.chunks; c = next++) {
      const lo = Math.floor((c * phase.perDevice) / phase.chunks);
      const hi = Math.floor(((c + 1) * phase.perDevice) / phase.chunks) - 1;
      // Awaited first: `rows += await ...` would add to the value read before the other client's chunk.
      const n =
        hi >= lo ? await insertChunk(client, [start, lo, hi, phase.offset, step, `p${phase.phase}`]) : 0;
      rows += n;
      onChunk?.(++done, rows);
    }
  };
  await Promise.all(clients.map(worker));
  return rows;
}

// Adjacent chunks share the boundary hour of every device in the rollup: rows are upserted in
// key order so two statements at once take their row locks in the same order (no deadlock).
const CHUNK_SQL = `with input as (
     select d.tenant_id, d.id as device_id,
            $1::timestamptz + make_interval(secs => (g + $4::float8 + (d.idx % 97) / 97.0 * 0.5) * $5::float8) as ts,
            $6::text || '-' || g as msg_key,
            jsonb_build_object('temperature', 15 + ((g + d.idx) % 200) / 10.0,
                               'humidity', 30 + (g * 7 + d.idx) % 50,
                               'battery', 100 - (g % 100)) as metrics
       from bench.devices d cross join generate_series($2::int, $3::int) g
   ), ins as (
     insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics, received_at)
     select tenant_id, device_id, ts, msg_key, metrics, ts + interval '2 seconds' from input
     returning tenant_id, device_id, received_at, 100 + octet_length(msg_key) as bytes
   ), roll as (
     insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes)
     select tenant_id, device_id, date_trunc('hour', received_at), count(*), sum(bytes)
       from ins group by 1, 2, 3 order by 1, 3, 2
     on conflict (tenant_id, hour, device_id) do update
       set messages = public.usage_hourly.messages + excluded.messages,
           bytes = public.usage_hourly.bytes + excluded.bytes
   )
   select count(*)::int as n from ins`;

async function insertChunk(client: pg.ClientBase, params: unknown[]): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    try {
      return (await client.query<{ n: number }>(CHUNK_SQL, params)).rows[0]!.n;
    } catch (error) {
      if ((error as { code?: string }).code === '40P01' && attempt < 3) continue;
      throw error;
    }
  }
}

/** Latest values and last_seen per device from the newest reading (primary key lookups). */
export async function refreshLatest(client: pg.ClientBase): Promise<void> {
  await client.query(
    `insert into public.device_latest as l (device_id, tenant_id, ts, metrics, updated_at)
     select d.id, d.tenant_id, t.ts, t.metrics, t.received_at
       from bench.devices d
       cross join lateral (select ts, metrics, received_at from public.telemetry x
                            where x.device_id = d.id order by x.ts desc limit 1) t
     on conflict (device_id) do update set ts = excluded.ts, metrics = l.metrics || excluded.metrics,
       updated_at = excluded.updated_at`,
  );
  await client.query(
    `update public.devices v set last_seen = l.updated_at from public.device_latest l where l.device_id = v.id`,
  );
}

const REASONS = [
  'invalid_json',
  'ts_too_old',
  'unknown_device',
  'quota_exceeded',
  'rate_limited',
  'unknown_field',
];

/**
 * Dead letters (`count`, spread over the window; unknown_device ones without a tenant) and AI
 * ledger rows (`aiRows`, mostly paid tenants, three models with their prices).
 */
export async function addSideRows(
  client: pg.ClientBase,
  shape: SeedShape,
  batch: { phase: number; rejects: number; aiRows: number },
): Promise<void> {
  const windowSeconds = shape.days * 86_400;
  await client.query(
    `with t as (select array_agg(id order by idx) as ids, array_agg(tenant_id order by idx) as tenants,
                       count(*)::int as n from bench.devices)
     insert into public.ingest_rejects
       (message_id, tenant_id, device_id, device_key, topic, reason, detail, payload_bytes, received_at, created_at)
     select 'bench-p' || $1 || '-' || g,
            case when r.reason = 'unknown_device' then null else t.tenants[1 + (g * 31) % t.n] end,
            case when r.reason = 'unknown_device' then null else t.ids[1 + (g * 31) % t.n] end,
            null, 'tenants/x/devices/y/telemetry', r.reason, 'bench', 64 + g % 200, at, at
       from t cross join generate_series(1, $2::int) g
       cross join lateral (select ($3::text[])[1 + (g * 7) % array_length($3::text[], 1)] as reason) r
       cross join lateral (select $4::timestamptz - make_interval(secs => (g::bigint * 7919) % $5::int) as at) a`,
    [batch.phase, batch.rejects, REASONS, shape.anchor, windowSeconds],
  );
  await client.query(
    `with t as (
       select array_agg(t.id order by t.slug) filter (where p.monthly_price_cents > 0) as paid,
              array_agg(t.id order by t.slug) as everyone
         from public.tenants t join public.plans p on p.id = t.plan_id
     )
     insert into public.ai_usage (tenant_id, occurred_at, provider, model, feature, input_tokens, output_tokens, cost_usd, request_id)
     select case when g % 5 = 0 then t.everyone[1 + (g * 13) % array_length(t.everyone, 1)]
                 else t.paid[1 + (g * 17) % array_length(t.paid, 1)] end,
            $2::timestamptz - make_interval(secs => (g::bigint * 104729) % $3::int),
            'openai', m.model, 'anomaly-summary', 50 + g % 400, 20 + g % 150,
            ((50 + g % 400) * m.in_price + (20 + g % 150) * m.out_price) / 1e6,
            'bench-p' || $1 || '-' || g
       from t cross join generate_series(1, $4::int) g
       cross join lateral (
         select * from (values ('gpt-4o-mini', 0.15, 0.6), ('gpt-4o', 2.5, 10.0), ('text-embedding-3-small', 0.02, 0))
           as v(model, in_price, out_price) offset g % 3 limit 1) m`,
    [batch.phase, shape.anchor, windowSeconds, batch.aiRows],
  );
}

/** What autovacuum would have done by the time the checks run (it is off on the bench server). */
export async function vacuumAnalyze(client: pg.ClientBase): Promise<void> {
  for (const table of [
    'telemetry',
    'usage_hourly',
    'device_latest',
    'devices',
    'tenants',
    'plans',
    'ingest_rejects',
    'ai_usage',
  ])
    await client.query(`vacuum (analyze) public.${table}`);
}

/** Row counts of the seeded tables, and whether the rollup adds up to the telemetry. */
export async function seededCounts(client: pg.ClientBase): Promise<{
  telemetry: number;
  usageHourly: number;
  rolledUpMessages: number;
  rejects: number;
  aiUsage: number;
  latest: number;
  defaultPartition: number;
}> {
  const res = await client.query(
    `select (select count(*) from public.telemetry)::float8 as telemetry,
            (select count(*) from public.usage_hourly)::float8 as "usageHourly",
            (select coalesce(sum(messages), 0) from public.usage_hourly)::float8 as "rolledUpMessages",
            (select count(*) from public.ingest_rejects)::float8 as rejects,
            (select count(*) from public.ai_usage)::float8 as "aiUsage",
            (select count(*) from public.device_latest)::float8 as latest,
            (select count(*) from public.telemetry_default)::float8 as "defaultPartition"`,
  );
  return res.rows[0];
}
