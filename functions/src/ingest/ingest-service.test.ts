import pg from 'pg';
import { gzipSync } from 'node:zlib';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { seedIngestFixture, type IngestFixture } from '../../../test/support/ingest-fixture.js';
import { hostileCases } from '../../../test/support/hostile-payloads.js';
import { setMaintenance, setTenantRateLimit } from '../../../common/provisioning.js';
import { telemetryTopic } from '../../../common/topics.js';
import type { IngestEnvelope, IngestResponse } from '../../../common/ingest-protocol.js';
import { IngestService } from './ingest-service.js';
import { startLocalFunctionsHost, type LocalHost } from '../local-host.js';

let db: TestDatabase;
let pool: pg.Pool;
let fx: IngestFixture;
let now = Date.now();
const clock = () => now;
let seq = 0;

function envelope(topic: string, payload: Buffer | string): IngestEnvelope {
  seq += 1;
  return { id: `test:${seq}`, topic, payload: Buffer.from(payload).toString('base64'), receivedAt: now };
}
const reading = (value: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ ts: now, metrics: { temperature: value }, ...extra });

beforeAll(async () => {
  db = await createTestDatabase('ingest');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  fx = await seedIngestFixture(pool, 1_000);
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const res = await pool.query<{ n: number }>(sql, params);
  return Number(res.rows[0]?.n ?? 0);
}

test('accepts valid messages in one transaction: rows, rollup, latest values, per-message answer', async () => {
  const service = new IngestService({ pool, clock });
  const batch = {
    messages: [
      envelope(
        telemetryTopic('acme', 'acme-1'),
        JSON.stringify({ ts: now - 1000, metrics: { temperature: 20, humidity: 40 } }),
      ),
      envelope(telemetryTopic('acme', 'acme-1'), JSON.stringify({ ts: now, metrics: { temperature: 21 } })),
      envelope(
        telemetryTopic('globex', 'globex-1'),
        JSON.stringify({ ts: now, id: 'g-1', metrics: { pressure: 1013 } }),
      ),
    ],
  };
  const outcome = await service.ingest(batch);
  expect(outcome.kind).toBe('handled');
  if (outcome.kind !== 'handled') return;
  expect(outcome.response.results.map((r) => r.status)).toEqual(['inserted', 'inserted', 'inserted']);
  expect(await count(`select count(*) n from telemetry where device_id = $1`, [fx.deviceA])).toBe(2);
  expect(await count(`select sum(messages) n from usage_hourly where tenant_id = $1`, [fx.tenantA])).toBe(2);
  const latest = await pool.query(`select metrics, ts from device_latest where device_id = $1`, [fx.deviceA]);
  // Newest value of each metric is kept, older metrics merged in.
  expect(latest.rows[0].metrics).toEqual({ temperature: 21, humidity: 40 });
  expect(latest.rows[0].ts.getTime()).toBe(now);

  // The bridge retries the same batch (its answer was lost): nothing is stored twice.
  const again = await service.ingest(batch);
  expect(again.kind === 'handled' && again.response.results.map((r) => r.status)).toEqual([
    'duplicate',
    'duplicate',
    'duplicate',
  ]);
  expect(await count(`select count(*) n from telemetry where device_id = $1`, [fx.deviceA])).toBe(2);
  expect(await count(`select sum(messages) n from usage_hourly where tenant_id = $1`, [fx.tenantA])).toBe(2);

  // A device republishing the same bytes under a new envelope (QoS 1 redelivery) is a duplicate too.
  const redelivered = await service.ingest({
    messages: [
      envelope(
        telemetryTopic('globex', 'globex-1'),
        JSON.stringify({ ts: now, id: 'g-1', metrics: { pressure: 1013 } }),
      ),
    ],
  });
  expect(redelivered.kind === 'handled' && redelivered.response.results[0]?.status).toBe('duplicate');
});

test('dead-letters every hostile input with its reason, keeps valid traffic flowing, never twice', async () => {
  const service = new IngestService({ pool, clock });
  const cases = hostileCases(now);
  expect(cases.length).toBeGreaterThanOrEqual(50);
  const topicFor = (d: string) =>
    ({
      a: telemetryTopic('acme', 'acme-1'),
      disabled: telemetryTopic('acme', 'acme-off'),
      unknown: telemetryTopic('acme', 'nobody-here'),
      'other-tenant-topic': telemetryTopic('globex', 'acme-1'),
      'bad-topic': 'devices/acme-1/data',
    })[d]!;
  const valid = envelope(telemetryTopic('acme', 'acme-2'), reading(5, { id: 'sql-ok' }));
  const messages = cases.map((c) => envelope(topicFor(c.device), c.payload));
  messages.splice(10, 0, valid);
  const batch = { messages };
  const outcome = await service.ingest(batch);
  if (outcome.kind !== 'handled') throw new Error('expected handled');
  const byId = new Map(outcome.response.results.map((r) => [r.id, r]));
  expect(byId.get(valid.id)?.status).toBe('inserted');
  const got = cases.map((c, i) => `${c.name}: ${byId.get(messages[i < 10 ? i : i + 1]!.id)?.reason}`);
  expect(got).toEqual(cases.map((c) => `${c.name}: ${c.reason}`));
  const stored = await pool.query<{ reason: string; tenant_id: string | null }>(
    `select reason, tenant_id from ingest_rejects where message_id = any($1)`,
    [messages.filter((m) => m !== valid).map((m) => m.id)],
  );
  expect(stored.rowCount).toBe(cases.length);
  // The device of tenant A naming tenant B in its topic is attributed to A, never to B.
  const mismatch = await pool.query(
    `select tenant_id from ingest_rejects where reason = 'topic_tenant_mismatch'`,
  );
  expect(mismatch.rows.map((r) => r.tenant_id)).toEqual([fx.tenantA]);
  expect(await count(`select count(*) n from ingest_rejects where tenant_id = $1`, [fx.tenantB])).toBe(0);

  await service.ingest(batch); // a retry of the batch does not dead-letter twice
  expect(
    await count(`select count(*) n from ingest_rejects where message_id = any($1)`, [
      messages.map((m) => m.id),
    ]),
  ).toBe(cases.length);
});

test('rate limit and daily quota reject with the limit named', async () => {
  const service = new IngestService({ pool, clock, settingsTtlMs: 0 });
  await setTenantRateLimit(pool, fx.tenantB, { perSecond: 1, burst: 3 });
  const burst = Array.from({ length: 5 }, (_, i) =>
    envelope(telemetryTopic('globex', 'globex-1'), reading(i, { id: `rl-${i}` })),
  );
  const out = await service.ingest({ messages: burst });
  if (out.kind !== 'handled') throw new Error('expected handled');
  expect(out.response.results.map((r) => r.status)).toEqual([
    'inserted',
    'inserted',
    'inserted',
    'rejected',
    'rejected',
  ]);
  const detail = await pool.query(`select detail from ingest_rejects where reason = 'rate_limited' limit 1`);
  expect(detail.rows[0].detail).toContain('1/s (burst 3)');

  // Tenant A's plan allows 1,000 messages a day.
  now += 10_000;
  // Counted as the quota counts: the UTC day of the service's clock (the test's clock may already be
  // in the next day while earlier rows were stamped by the database before midnight).
  const used = await count(
    `select coalesce(sum(messages), 0) n from usage_hourly
      where tenant_id = $1 and hour >= $2::date::timestamp at time zone 'UTC'`,
    [fx.tenantA, new Date(now).toISOString().slice(0, 10)],
  );
  await setTenantRateLimit(pool, fx.tenantA, { perSecond: 100_000, burst: 100_000 });
  const fill = Array.from({ length: 1_000 - used + 2 }, (_, i) =>
    envelope(telemetryTopic('acme', 'acme-2'), reading(i, { id: `q-${i}` })),
  );
  const quota = await new IngestService({ pool, clock, settingsTtlMs: 0 }).ingest({ messages: fill });
  if (quota.kind !== 'handled') throw new Error('expected handled');
  const statuses = quota.response.results.map((r) => r.reason ?? r.status);
  expect(statuses.filter((s) => s === 'inserted')).toHaveLength(1_000 - used);
  expect(statuses.slice(-2)).toEqual(['quota_exceeded', 'quota_exceeded']);
  const q = await pool.query(`select detail from ingest_rejects where reason = 'quota_exceeded' limit 1`);
  expect(q.rows[0].detail).toContain('plan free allows 1000 messages/day');
});

describe('over HTTP (local Functions host)', () => {
  let host: LocalHost;
  let service: IngestService;
  beforeAll(async () => {
    service = new IngestService({ pool, clock, settingsTtlMs: 0 });
    host = await startLocalFunctionsHost({ pool, ingest: service, functionKey: 'test-key' });
  });
  afterAll(async () => {
    await setMaintenance(pool, { enabled: false });
    await host?.close();
  });

  const post = (body: unknown, key = 'test-key', gzip = true) =>
    fetch(host.ingestUrl, {
      method: 'POST',
      headers: {
        'x-functions-key': key,
        'content-type': 'application/json',
        ...(gzip ? { 'content-encoding': 'gzip' } : {}),
      },
      body: gzip ? gzipSync(JSON.stringify(body)) : JSON.stringify(body),
    });

  test('refuses a wrong function key, accepts gzip batches, reports health', async () => {
    const batch = {
      messages: [envelope(telemetryTopic('globex', 'globex-1'), reading(1, { id: 'http-1' }))],
    };
    expect((await post(batch, 'wrong')).status).toBe(401);
    const res = await post(batch);
    expect(res.status).toBe(200);
    const body = (await res.json()) as IngestResponse;
    expect(body.results[0]).toEqual({ id: batch.messages[0]!.id, status: 'inserted' });
    const health = await fetch(`${host.url}/api/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'ok',
      database: 'reachable',
      schemaVersion: expect.stringMatching(/^\d{14}$/),
    });
  });

  test('a malformed batch is a 400 that stores nothing', async () => {
    const res = await post({ messages: [{ id: 'x', topic: 't/acme/acme-1/telemetry' }] });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('payload must be base64');
    expect((await post('not json at all', 'test-key', false)).status).toBe(400);
  });

  test('maintenance mode answers 503 with Retry-After and stores nothing', async () => {
    await setMaintenance(pool, { enabled: true, reason: 'broker down playbook', retryAfterSeconds: 30 });
    const before = await count(`select count(*) n from telemetry`);
    const res = await post({
      messages: [envelope(telemetryTopic('globex', 'globex-1'), reading(9, { id: 'maint' }))],
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('30');
    expect(await count(`select count(*) n from telemetry`)).toBe(before);
  });
});
