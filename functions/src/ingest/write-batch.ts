import type pg from 'pg';
import { storableText } from '../../../common/storable-text.js';
import { BASE64_EXCERPT_PREFIX } from './payload-excerpt.js';

export interface AcceptedRow {
  /** Envelope id, for the per-message answer. */
  id: string;
  tenantId: string;
  deviceId: string;
  ts: Date;
  key: string;
  metrics: unknown;
  bytes: number;
  /** This message as a dead letter, whole, should the database refuse its content (see writeBatch). */
  unstorable(detail: string): RejectRow;
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
  /** Accepted envelopes whose content the database refused: dead-lettered as `unstorable`. */
  unstorable: Map<string, RejectRow>;
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
  select device_id, tenant_id, max(ts) as ts, private.jsonb_merge_array(array_agg(metrics order by ts)) as metrics
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

/**
 * Writes a batch in one transaction; retried on deadlock/serialization failure.
 *
 * No single message can stop ingest: when the database refuses the batch for a reason tied to
 * its content (see `isContentError`), the batch is written again with the offending messages
 * isolated by bisection under savepoints, in one transaction: each refused message is
 * dead-lettered (`unstorable`, its whole payload in base64) and the rest commits. Only failures
 * of the infrastructure (connection, timeout, resources) reject, which the caller answers 503.
 */
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
        if (isRetryable(error) && attempt < 5) continue;
        if (!isContentError(error)) throw error;
        break;
      }
    }
    for (let attempt = 1; ; attempt++) {
      try {
        await client.query('begin');
        const outcome = await writeIsolating(client, accepted, rejects);
        await client.query('commit');
        return outcome;
      } catch (error) {
        await client.query('rollback').catch(() => undefined);
        if (isRetryable(error) && attempt < 5) continue;
        throw error;
      }
    }
  } finally {
    client.off('error', onError);
    client.release(lost);
  }
}

const isRetryable = (error: unknown) => ['40P01', '40001'].includes(sqlState(error));

/**
 * The database refused the data, not the request: data exceptions (22: bad text, out of range),
 * integrity violations (23: a foreign key to a device deleted since the registry cached it, a
 * missing partition) and program limits (54: a value too large). Anything else (no SQLSTATE:
 * connection lost; 08 connection, 53 resources, 57 operator intervention or timeout) is the
 * infrastructure's, and the batch is retried whole.
 */
export function isContentError(error: unknown): boolean {
  return ['22', '23', '54'].includes(sqlState(error).slice(0, 2));
}

function sqlState(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

const rowKey = (deviceId: string, tsMs: number, key: string) => `${deviceId}|${tsMs}|${key}`;

/** Accepted rows grouped by idempotency key (repeats inside a batch share the first's fate). */
function groupByKey(accepted: AcceptedRow[]): Map<string, AcceptedRow[]> {
  const byKey = new Map<string, AcceptedRow[]>();
  for (const row of accepted) {
    const key = rowKey(row.deviceId, row.ts.getTime(), row.key);
    const same = byKey.get(key);
    if (same) same.push(row);
    else byKey.set(key, [row]);
  }
  return byKey;
}

/** Ordered by device so concurrent batches take row locks in the same order. */
function byDevice(groups: AcceptedRow[][]): AcceptedRow[][] {
  return [...groups].sort((a, b) =>
    a[0]!.deviceId < b[0]!.deviceId ? -1 : a[0]!.deviceId > b[0]!.deviceId ? 1 : 0,
  );
}

/** The write statement for the first row of each group; the keys it really inserted. */
async function insertAccepted(client: pg.PoolClient, groups: AcceptedRow[][]): Promise<Set<string>> {
  const rows = groups.map((g) => g[0]!);
  const res = await client.query<{ d: string; k: string; e: number }>(WRITE_SQL, [
    rows.map((r) => r.tenantId),
    rows.map((r) => r.deviceId),
    rows.map((r) => r.ts.getTime()),
    rows.map((r) => r.key),
    rows.map((r) => JSON.stringify(r.metrics)),
    rows.map((r) => r.bytes),
  ]);
  return new Set(res.rows.map(({ d, k, e }) => rowKey(d, e, k)));
}

function collect(groups: AcceptedRow[][], done: Set<string>, outcome: WriteOutcome): void {
  for (const group of groups) {
    const first = group[0]!;
    if (!done.has(rowKey(first.deviceId, first.ts.getTime(), first.key))) continue; // stored earlier
    outcome.inserted.add(first.id);
    outcome.insertedRows.push(first);
  }
}

async function insertRejects(client: pg.PoolClient, rejects: RejectRow[]): Promise<void> {
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

async function writeInTransaction(
  client: pg.PoolClient,
  accepted: AcceptedRow[],
  rejects: RejectRow[],
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { inserted: new Set(), insertedRows: [], unstorable: new Map() };
  if (accepted.length > 0) {
    const groups = byDevice([...groupByKey(accepted).values()]);
    collect(groups, await insertAccepted(client, groups), outcome);
  }
  if (rejects.length > 0) await insertRejects(client, rejects);
  return outcome;
}

/**
 * Runs `write` on `items` under a savepoint; when the database refuses their content, splits them
 * in halves and tries again, down to the single item, which `refused` receives. k bad items among
 * n cost about 2k·log2(n) statements; a batch with none costs one.
 */
async function bisect<T>(
  client: pg.PoolClient,
  items: T[],
  write: (items: T[]) => Promise<void>,
  refused: (item: T, error: unknown) => Promise<void>,
): Promise<void> {
  if (items.length === 0) return;
  await client.query('savepoint isolate');
  try {
    await write(items);
    await client.query('release savepoint isolate');
    return;
  } catch (error) {
    await client.query('rollback to savepoint isolate');
    await client.query('release savepoint isolate');
    if (!isContentError(error)) throw error;
    if (items.length === 1) return refused(items[0]!, error);
  }
  const half = Math.ceil(items.length / 2);
  await bisect(client, items.slice(0, half), write, refused);
  await bisect(client, items.slice(half), write, refused);
}

async function writeIsolating(
  client: pg.PoolClient,
  accepted: AcceptedRow[],
  rejects: RejectRow[],
): Promise<WriteOutcome> {
  const outcome: WriteOutcome = { inserted: new Set(), insertedRows: [], unstorable: new Map() };
  const groups = byDevice([...groupByKey(accepted).values()]);
  const deadLetters = [...rejects];
  await bisect(
    client,
    groups,
    async (part) => collect(part, await insertAccepted(client, part), outcome),
    async (group, error) => {
      const detail = `the database refused it: ${errorText(error)}`;
      for (const row of group) {
        const letter = row.unstorable(detail);
        outcome.unstorable.set(row.id, letter);
        deadLetters.push(letter);
      }
    },
  );
  // A dead letter the database refuses (its device deleted meanwhile, a text that slipped
  // through) is stored without its references and with its texts base64-encoded.
  await bisect(
    client,
    deadLetters,
    (part) => insertRejects(client, part),
    (letter, error) => insertRejects(client, [bareDeadLetter(letter, error)]),
  );
  return outcome;
}

function errorText(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return storableText(`${e.code ?? ''} ${e.message ?? String(error)}`.trim(), 200);
}

function bareDeadLetter(letter: RejectRow, error: unknown): RejectRow {
  const b64 = (text: string) => `${BASE64_EXCERPT_PREFIX}${Buffer.from(text, 'utf8').toString('base64')}`;
  return {
    ...letter,
    tenantId: null,
    deviceId: null,
    deviceKey: letter.deviceKey === null ? null : b64(letter.deviceKey),
    topic: b64(letter.topic),
    detail: `${storableText(letter.detail, 200)} (stored bare: ${errorText(error)})`,
    payloadExcerpt: letter.payloadExcerpt.startsWith(BASE64_EXCERPT_PREFIX)
      ? letter.payloadExcerpt
      : b64(letter.payloadExcerpt),
  };
}
