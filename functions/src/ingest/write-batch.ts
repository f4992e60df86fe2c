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
// rollup, the latest values and last_seen. Rows are ordered by device so concurrent batches
// take row locks in the same order (no deadlocks between bridge batches in flight).
const WRITE_SQL = `
with input as (
  select distinct on (d, ts, k) t, d, ts, k, m, b
    from json_to_recordset($1::json) as x(t uuid, d uuid, ts timestamptz, k text, m jsonb, b int)
   order by d, ts, k
),
ins as (
  insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
  select t, d, ts, k, m from input order by d, ts, k
  on conflict do nothing
  returning tenant_id, device_id, ts, msg_key, metrics
),
per_device as (
  select i.tenant_id, i.device_id, count(*) as messages, sum(x.b) as bytes, max(i.ts) as max_ts
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
  select i.device_id, i.tenant_id, max(i.ts) as ts, jsonb_object_agg(e.key, e.value order by i.ts) as metrics
    from ins i cross join lateral jsonb_each(i.metrics) e
   group by i.device_id, i.tenant_id
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
select device_id as d, ts, msg_key as k from ins`;

const REJECT_SQL = `
insert into public.ingest_rejects
  (message_id, tenant_id, device_id, device_key, topic, reason, detail, payload_excerpt, payload_bytes, received_at)
select id, t, d, dk, topic, reason, detail, excerpt, bytes, received
  from json_to_recordset($1::json) as x(id text, t uuid, d uuid, dk text, topic text, reason text,
                                         detail text, excerpt text, bytes int, received timestamptz)
on conflict (message_id) do nothing`;

/** Writes a batch in one transaction; retried by the caller's client on deadlock/serialization. */
export async function writeBatch(pool: pg.Pool, accepted: AcceptedRow[], rejects: RejectRow[]): Promise<WriteOutcome> {
  const client = await pool.connect();
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query('begin');
        const outcome = await writeInTransaction(client, accepted, rejects);
        await client.query('commit');
        return outcome;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        const code = (error as { code?: string }).code;
        if ((code === '40P01' || code === '40001') && attempt < 5) continue;
        throw error;
      }
    }
  } finally {
    client.release();
  }
}

async function writeInTransaction(
  client: pg.PoolClient,
  accepted: AcceptedRow[],
  rejects: RejectRow[],
): Promise<WriteOutcome> {
  const inserted = new Set<string>();
  const insertedRows: AcceptedRow[] = [];
  if (accepted.length > 0) {
    const json = JSON.stringify(
      accepted.map((r) => ({ t: r.tenantId, d: r.deviceId, ts: r.ts.toISOString(), k: r.key, m: r.metrics, b: r.bytes })),
    );
    const res = await client.query<{ d: string; ts: Date; k: string }>(WRITE_SQL, [json]);
    const keys = new Set(res.rows.map((r) => `${r.d}|${r.ts.getTime()}|${r.k}`));
    for (const row of accepted) {
      const key = `${row.deviceId}|${row.ts.getTime()}|${row.key}`;
      // The first envelope carrying a key gets "inserted"; a repeat inside the batch is a duplicate.
      if (keys.delete(key)) {
        inserted.add(row.id);
        insertedRows.push(row);
      }
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
