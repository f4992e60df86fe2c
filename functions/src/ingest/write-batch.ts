import type pg from 'pg';

export interface AcceptedRow {
  /** Envelope id, for the per-message answer. */
  id: string;
  tenantId: string;
  deviceId: string;
  ts: Date;
  key: string;
  metrics: unknown;
  bytes: number;
}

export interface RejectRow {
  id: string;
  tenantId: string | null;
  deviceId: string | null;
  deviceKey: string | null;
  topic: string;
  reason: string;
  detail: string;
  payloadExcerpt: string;
  payloadBytes: number;
  receivedAt: Date;
}

export interface WriteOutcome {
  /** Envelope ids whose row was inserted by this call (the rest of the accepted were duplicates). */
  inserted: Set<string>;
  /** Rows actually inserted, for the alert engine. */
  insertedRows: AcceptedRow[];
}

// One statement: the idempotent insert and, from what it really inserted, the hourly usage
// rollup, the latest values and last_seen. Rows come as parallel arrays (cheaper for Postgres to
// read than a JSON document: no second parse of each metrics object), deduplicated and ordered by
// device in JS, so concurrent batches take row locks in the same order (no deadlocks between
// bridge batches in flight). Timestamps travel as epoch milliseconds (float8, exact).
const WRITE_SQL = `
with input as (
  select t, d, to_timestamp(e / 1000) as ts, k, m, b
    from unnest($1::uuid[], $2::uuid[], $3::float8[], $4::text[], $5::jsonb[], $6::int[]) as x(t, d, e, k, m, b)
),
ins as (
  insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
  select t, d, ts, k, m from input
  on conflict do nothing
  returning tenant_id, device_id, ts, msg_key, metrics
),
per_device as (
  select i.tenant_id, i.device_id, count(*) as messages, sum(x.b) as bytes
    from ins i join input x on x.d = i.device_id and x.ts = i.ts and x.k = i.msg_key
   group by i.tenant_id, i.device_id
),
roll as (
  insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes)
  select tenant_id, device_id, date_trunc('hour', now()), messages, bytes from per_device
   order by tenant_id, device_id
  on conflict (tenant_id, hour, device_id) do update
    set messages = public.usage_hourly.messages + excluded.messages,
        bytes = public.usage_hourly.bytes + excluded.bytes
),
newest as (
  -- Per device, the batch's readings merged oldest to newest: the newest value of each metric wins.
  select device_id, tenant_id, max(ts) as ts, private.jsonb_merge(metrics order by ts) as metrics
    from ins
   group by device_id, tenant_id
),
latest as (
  insert into public.device_latest as l (device_id, tenant_id, ts, metrics, updated_at)
  select device_id, tenant_id, ts, metrics, now() from newest order by device_id
  on conflict (device_id) do update
    set metrics = case when excluded.ts >= l.ts then l.metrics || excluded.metrics
                       else excluded.metrics || l.metrics end,
        ts = greatest(l.ts, excluded.ts),
        updated_at = now()
),
seen as (
  update public.devices dv set last_seen = now()
    from per_device p
   where dv.id = p.device_id and (dv.last_seen is null or dv.last_seen < now() - interval '10 seconds')
)
select device_id as d, msg_key as k, (extract(epoch from ts) * 1000)::float8 as e from ins`;

const REJECT_SQL = `
insert into public.ingest_rejects
  (message_id, tenant_id, device_id, device_key, topic, reason, detail, payload_excerpt, payload_bytes, received_at)
select id, t, d, dk, topic, reason, detail, excerpt, bytes, received
  from json_to_recordset($1::json) as x(id text, t uuid, d uuid, dk text, topic text, reason text,
                                         detail text, excerpt text, bytes int, received timestamptz)
on conflict (message_id) do nothing`;

/** Writes a batch in one transaction; retried on deadlock/serialization failure. */
export async function writeBatch(
  pool: pg.Pool,
  accepted: AcceptedRow[],
  rejects: RejectRow[],
): Promise<WriteOutcome> {
  const client = await pool.connect();
  // A checked-out client has no pool listener for 'error': when the server goes away (restart,
  // failover) pg emits one, which unhandled would crash the process. The query in flight fails
  // with the same cause; here we only keep the dead client out of the pool.
  let lost: Error | undefined;
  const onError = (error: Error) => (lost = error);
  client.on('error', onError);
  try {
    // One statement is atomic on its own: BEGIN/COMMIT (two more round trips) only when the batch
    // has both accepted rows and dead letters.
    const explicit = accepted.length > 0 && rejects.length > 0;
    for (let attempt = 1; ; attempt++) {
      try {
        if (explicit) await client.query('begin');
        const outcome = await writeInTransaction(client, accepted, rejects);
        if (explicit) await client.query('commit');
        return outcome;
      } catch (error) {
        if (explicit) await client.query('rollback').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < 5) continue;
        throw error;
      }
    }
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

const rowKey = (deviceId: string, tsMs: number, key: string) => `${deviceId}|${tsMs}|${key}`;

async function writeInTransaction(
  client: pg.PoolClient,
  accepted: AcceptedRow[],
  rejects: RejectRow[],
): Promise<WriteOutcome> {
  const inserted = new Set<string>();
  const insertedRows: AcceptedRow[] = [];
  if (accepted.length > 0) {
    // The first envelope carrying a key is the one that can be "inserted"; a repeat inside the
    // batch is a duplicate and is not sent.
    const byKey = new Map<string, AcceptedRow>();
    for (const row of accepted) {
      const key = rowKey(row.deviceId, row.ts.getTime(), row.key);
      if (!byKey.has(key)) byKey.set(key, row);
    }
    const rows = [...byKey.values()].sort((a, b) =>
      a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0,
    );
    const res = await client.query<{ d: string; k: string; e: number }>(WRITE_SQL, [
      rows.map((r) => r.tenantId),
      rows.map((r) => r.deviceId),
      rows.map((r) => r.ts.getTime()),
      rows.map((r) => r.key),
      rows.map((r) => JSON.stringify(r.metrics)),
      rows.map((r) => r.bytes),
    ]);
    const done = new Set(res.rows.map(({ d, k, e }) => rowKey(d, e, k)));
    for (const [key, row] of byKey) {
      if (!done.has(key)) continue; // already stored by an earlier batch
      inserted.add(row.id);
      insertedRows.push(row);
    }
  }
  if (rejects.length > 0) {
    const json = JSON.stringify(
      rejects.map((r) => ({
        id: r.id,
        t: r.tenantId,
        d: r.deviceId,
        dk: r.deviceKey,
        topic: r.topic,
        reason: r.reason,
        detail: r.detail,
        excerpt: r.payloadExcerpt,
        bytes: r.payloadBytes,
        received: r.receivedAt.toISOString(),
      })),
    );
    await client.query(REJECT_SQL, [json]);
  }
  return { inserted, insertedRows };
}
