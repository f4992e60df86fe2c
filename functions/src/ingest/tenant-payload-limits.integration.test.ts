/**
 * A tenant's payload caps through the ingest service on real PostgreSQL: the capped tenant's
 * messages over a cap are dead-lettered as `tenant_payload_limit` while another tenant's identical
 * messages are stored; a cap applies until its expires_at (null: until deleted), within the ops
 * settings' cache TTL; and the table's bounds are the global limits of common/telemetry.ts.
 */
import pg from 'pg';
import { DEFAULT_TELEMETRY_LIMITS } from '../../../common/telemetry.js';
import { telemetryTopic } from '../../../common/topics.js';
import type { IngestEnvelope } from '../../../common/ingest-protocol.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import {
  liftRateLimits,
  seedIngestFixture,
  type IngestFixture,
} from '../../../test/support/ingest-fixture.js';
import { IngestService } from './ingest-service.js';

let db: TestDatabase;
let pool: pg.Pool;
let fx: IngestFixture;
let now = Date.now();
const clock = () => now;
let seq = 0;

const A = telemetryTopic('acme', 'acme-1');
const B = telemetryTopic('globex', 'globex-1');
const envelope = (topic: string, metrics: Record<string, unknown>): IngestEnvelope => ({
  id: `cap:${++seq}`,
  topic,
  payload: Buffer.from(JSON.stringify({ ts: now, metrics })).toString('base64'),
  receivedAt: now,
});
/** Over a cap of 2 metrics; over a cap of 8 characters; within both. */
const shapes = [{ t: 1, h: 2, p: 3 }, { fw: '1.2.3-rc.4' }, { t: 1, fw: '1.2.3-rc' }];

beforeAll(async () => {
  db = await createTestDatabase('tenant_payload_limits');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  fx = await seedIngestFixture(pool);
  await liftRateLimits(pool, fx);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** The same three messages from a device of A and one of B, in one batch: each one's outcome. */
async function sendBoth(service: IngestService) {
  const messages = [...shapes.map((m) => envelope(A, m)), ...shapes.map((m) => envelope(B, m))];
  const outcome = await service.ingest({ messages });
  if (outcome.kind !== 'handled') throw new Error(`expected handled, got ${outcome.kind}`);
  const status = outcome.response.results.map((r) => r.reason ?? r.status);
  return { ids: messages.map((m) => m.id), a: status.slice(0, 3), b: status.slice(3) };
}

async function setCap(values: { maxMetrics?: number; maxStringLength?: number; expiresAt: Date | null }) {
  await pool.query(
    `insert into ops.tenant_payload_limits (tenant_id, max_metrics, max_string_length, reason, created_by, expires_at)
     values ($1, $2, $3, 'data growth spike (issue #12)', 'test', $4)
     on conflict (tenant_id) do update set max_metrics = excluded.max_metrics,
       max_string_length = excluded.max_string_length, expires_at = excluded.expires_at`,
    [fx.tenantA, values.maxMetrics ?? null, values.maxStringLength ?? null, values.expiresAt],
  );
}

test('tenant A over its caps is dead-lettered as tenant_payload_limit; B, identical, is stored', async () => {
  const service = new IngestService({ pool, clock, settingsTtlMs: 0 });
  await setCap({ maxMetrics: 2, maxStringLength: 8, expiresAt: new Date(now + 3_600_000) });
  const usedBefore = await pool.query(
    `select coalesce(sum(messages), 0)::int n from usage_hourly where tenant_id = $1`,
    [fx.tenantA],
  );

  const sent = await sendBoth(service);
  expect(sent.a).toEqual(['tenant_payload_limit', 'tenant_payload_limit', 'inserted']);
  expect(sent.b).toEqual(['inserted', 'inserted', 'inserted']);

  const letters = await pool.query<{
    message_id: string;
    tenant_id: string;
    device_id: string;
    detail: string;
  }>(
    `select message_id, tenant_id, device_id, detail from ingest_rejects
      where reason = 'tenant_payload_limit' and message_id = any($1) order by id`,
    [sent.ids],
  );
  expect(letters.rows).toEqual([
    {
      message_id: sent.ids[0],
      tenant_id: fx.tenantA,
      device_id: fx.deviceA,
      detail: 'tenant cap max_metrics 2: the message has 3 values (reason: data growth spike (issue #12))',
    },
    {
      message_id: sent.ids[1],
      tenant_id: fx.tenantA,
      device_id: fx.deviceA,
      detail: 'tenant cap max_string_length 8: fw has 10 characters (reason: data growth spike (issue #12))',
    },
  ]);
  const stored = await pool.query<{ device_id: string; n: number }>(
    `select device_id, count(*)::int n from telemetry where ts = $1 group by device_id order by device_id`,
    [new Date(now)],
  );
  expect(new Map(stored.rows.map((r) => [r.device_id, r.n]))).toEqual(
    new Map([
      [fx.deviceA, 1],
      [fx.deviceB, 3],
    ]),
  );
  // A refused message uses none of the tenant's daily quota.
  const usedAfter = await pool.query(
    `select coalesce(sum(messages), 0)::int n from usage_hourly where tenant_id = $1`,
    [fx.tenantA],
  );
  expect(usedAfter.rows[0].n - usedBefore.rows[0].n).toBe(1);
});

test('a cap applies until it expires (by ingest clock), and again with no expiry', async () => {
  const service = new IngestService({ pool, clock, settingsTtlMs: 0 });
  now += 1_000;
  await setCap({ maxMetrics: 2, expiresAt: new Date(now + 60_000) });
  expect((await sendBoth(service)).a).toEqual(['tenant_payload_limit', 'inserted', 'inserted']);

  now += 60_000; // expires_at is not in the future any more
  const expired = await sendBoth(service);
  expect(expired.a).toEqual(['inserted', 'inserted', 'inserted']);
  const letters = await pool.query(`select count(*)::int n from ingest_rejects where message_id = any($1)`, [
    expired.ids,
  ]);
  expect(letters.rows[0].n).toBe(0);

  now += 1_000;
  await setCap({ maxMetrics: 2, expiresAt: null });
  expect((await sendBoth(service)).a).toEqual(['tenant_payload_limit', 'inserted', 'inserted']);
});

test('a new or lifted cap applies within the ops settings cache TTL', async () => {
  const ttlMs = 5_000;
  const service = new IngestService({ pool, clock, settingsTtlMs: ttlMs });
  now += 1_000;
  await pool.query(`delete from ops.tenant_payload_limits where tenant_id = $1`, [fx.tenantA]);
  expect((await sendBoth(service)).a).toEqual(['inserted', 'inserted', 'inserted']); // caches "no cap"

  await setCap({ maxStringLength: 8, expiresAt: null });
  now += ttlMs - 1;
  expect((await sendBoth(service)).a).toEqual(['inserted', 'inserted', 'inserted']);
  now += 1;
  expect((await sendBoth(service)).a).toEqual(['inserted', 'tenant_payload_limit', 'inserted']);

  await pool.query(`delete from ops.tenant_payload_limits where tenant_id = $1`, [fx.tenantA]);
  now += ttlMs;
  expect((await sendBoth(service)).a).toEqual(['inserted', 'inserted', 'inserted']);
});

test("the table's bounds are the global limits: a cap can only lower them", async () => {
  const L = DEFAULT_TELEMETRY_LIMITS;
  const attempt = (maxMetrics: number | null, maxStringLength: number | null) =>
    pool
      .query(
        `insert into ops.tenant_payload_limits (tenant_id, max_metrics, max_string_length, reason)
         values ($1, $2, $3, 'bounds') on conflict (tenant_id) do update
           set max_metrics = excluded.max_metrics, max_string_length = excluded.max_string_length`,
        [fx.tenantB, maxMetrics, maxStringLength],
      )
      .then(
        () => 'stored',
        (error: { code?: string }) => error.code,
      );
  expect(await attempt(L.maxMetrics, L.maxStringLength)).toBe('stored');
  expect(await attempt(L.maxMetrics + 1, null)).toBe('23514');
  expect(await attempt(null, L.maxStringLength + 1)).toBe('23514');
  expect(await attempt(1, 0)).toBe('stored');
  expect(await attempt(0, null)).toBe('23514');
  expect(await attempt(null, -1)).toBe('23514');
  await pool.query(`delete from ops.tenant_payload_limits where tenant_id = $1`, [fx.tenantB]);
});
