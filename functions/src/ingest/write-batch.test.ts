/**
 * Defence in depth on real PostgreSQL: when the database refuses a message that validation let
 * through, only that message is dead-lettered (`unstorable`, whole payload in base64) and the rest
 * of the batch commits; a failure of the infrastructure still fails the batch (the bridge retries).
 * The refusals are real ones: a trigger raising a data exception, and a device deleted after the
 * registry cached it (a foreign-key violation).
 */
import pg from 'pg';
import { telemetryTopic } from '../../../common/topics.js';
import type { IngestEnvelope } from '../../../common/ingest-protocol.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import {
  installRefusalTrigger,
  liftRateLimits,
  seedIngestFixture,
  type IngestFixture,
} from '../../../test/support/ingest-fixture.js';
import { IngestService } from './ingest-service.js';
import { BASE64_EXCERPT_PREFIX } from './payload-excerpt.js';
import { isContentError } from './write-batch.js';

let db: TestDatabase;
let pool: pg.Pool;
let fx: IngestFixture;
const now = Date.now();
let seq = 0;

const envelope = (topic: string, payload: string): IngestEnvelope => ({
  id: `wb:${++seq}`,
  topic,
  payload: Buffer.from(payload).toString('base64'),
  receivedAt: now,
});
const reading = (metrics: Record<string, unknown>) => JSON.stringify({ ts: now - seq, metrics });

beforeAll(async () => {
  db = await createTestDatabase('write_batch');
  pool = new pg.Pool({ connectionString: db.url, max: 4 });
  fx = await seedIngestFixture(pool);
  await liftRateLimits(pool, fx);
  await installRefusalTrigger(pool, { infraMetric: 'disk' });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const count = async (sql: string, params: unknown[] = []) =>
  Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);

test('a message the database refuses is dead-lettered whole; every other message of the batch commits', async () => {
  const service = new IngestService({ pool, clock: () => now });
  const messages: IngestEnvelope[] = [];
  for (let i = 0; i < 40; i++) {
    const [tenant, device] = i % 2 ? ['acme', 'acme-1'] : ['globex', 'globex-1'];
    const poison = i === 7 || i === 30;
    messages.push(envelope(telemetryTopic(tenant!, device!), reading(poison ? { poison: i } : { t: i })));
  }
  messages.push(envelope(telemetryTopic('acme', 'acme-1'), 'not json')); // an ordinary reject alongside
  const outcome = await service.ingest({ messages });
  if (outcome.kind !== 'handled') throw new Error('expected handled');
  const status = outcome.response.results.map((r) => r.reason ?? r.status);
  expect(status.filter((s) => s === 'inserted')).toHaveLength(38);
  expect([status[7], status[30], status[40]]).toEqual(['unstorable', 'unstorable', 'invalid_json']);
  expect(outcome.inserted).toBe(38);
  expect(outcome.rejected).toBe(3);

  expect(await count(`select count(*) n from telemetry`)).toBe(38);
  expect(await count(`select sum(messages) n from usage_hourly`)).toBe(38);
  const letters = await pool.query<{
    message_id: string;
    detail: string;
    payload_excerpt: string;
    tenant_id: string;
  }>(`select message_id, detail, payload_excerpt, tenant_id from ingest_rejects where reason = 'unstorable'`);
  const letterOf = new Map(letters.rows.map((r) => [r.message_id, r]));
  expect([...letterOf.keys()].sort()).toEqual([messages[7]!.id, messages[30]!.id].sort());
  const [acme, globex] = [letterOf.get(messages[7]!.id)!, letterOf.get(messages[30]!.id)!];
  expect(acme.detail).toBe('the database refused it: 22023 poison metric');
  expect([acme.tenant_id, globex.tenant_id]).toEqual([fx.tenantA, fx.tenantB]);
  // Nothing is lost: the dead letter holds the payload byte for byte.
  expect(acme.payload_excerpt.startsWith(BASE64_EXCERPT_PREFIX)).toBe(true);
  expect(
    Buffer.from(acme.payload_excerpt.slice(BASE64_EXCERPT_PREFIX.length), 'base64').toString('base64'),
  ).toBe(messages[7]!.payload);

  // The bridge's retry of the same batch stores nothing twice.
  const again = await service.ingest({ messages });
  expect(
    again.kind === 'handled' && again.response.results.filter((r) => r.status === 'duplicate'),
  ).toHaveLength(38);
  expect(await count(`select count(*) n from ingest_rejects`)).toBe(3);
});

test('a device deleted after the registry cached it: its messages are dead-lettered bare, the rest commits', async () => {
  const service = new IngestService({ pool, clock: () => now, registryTtlMs: 3_600_000 });
  await service.ingest({ messages: [envelope(telemetryTopic('acme', 'acme-2'), reading({ t: 1 }))] });
  await pool.query(`delete from devices where id = $1`, [fx.deviceA2]);
  const gone = envelope(telemetryTopic('acme', 'acme-2'), reading({ t: 2 }));
  const fine = envelope(telemetryTopic('globex', 'globex-1'), reading({ t: 3 }));
  const outcome = await service.ingest({ messages: [gone, fine] });
  if (outcome.kind !== 'handled') throw new Error('expected handled');
  expect(outcome.response.results.map((r) => r.reason ?? r.status)).toEqual(['unstorable', 'inserted']);
  const letter = await pool.query(
    `select reason, tenant_id, device_id, detail from ingest_rejects where message_id = $1`,
    [gone.id],
  );
  // Its reference to the device cannot be stored either: kept without it, and says why.
  expect(letter.rows).toEqual([
    expect.objectContaining({ reason: 'unstorable', tenant_id: null, device_id: null }),
  ]);
  expect(letter.rows[0].detail).toMatch(/^the database refused it: 23503 .*\(stored bare: 23503 /);
});

test('a failure of the infrastructure is not blamed on a message: the batch fails whole', async () => {
  const service = new IngestService({ pool, clock: () => now });
  const before = await count(`select count(*) n from telemetry`);
  const ok = envelope(telemetryTopic('globex', 'globex-1'), reading({ t: 1 }));
  const disk = envelope(telemetryTopic('globex', 'globex-1'), reading({ disk: 1 }));
  await expect(service.ingest({ messages: [ok, disk] })).rejects.toMatchObject({ code: '53100' });
  expect(await count(`select count(*) n from telemetry`)).toBe(before);
  expect(
    await count(`select count(*) n from ingest_rejects where message_id = any($1)`, [[ok.id, disk.id]]),
  ).toBe(0);
});

test('content errors are the data, integrity and limit classes only', () => {
  expect(['22P05', '23503', '23514', '54000'].map((code) => isContentError({ code }))).toEqual([
    true,
    true,
    true,
    true,
  ]);
  expect(
    ['08006', '53100', '57014', '57P01', 'P0001', '40P01'].some((code) => isContentError({ code })),
  ).toBe(false);
  expect(isContentError(new Error('Connection terminated unexpectedly'))).toBe(false);
});
