/** The measured load on a real, migrated PostgreSQL with rollup rows at known hours. */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { seedIngestFixture, type IngestFixture } from '../../test/support/ingest-fixture.js';
import { createMeasuredLoadSource, lastWholeDays, summarizeLoad } from './measured-load.js';

const NOW = Date.parse('2026-11-26T12:30:00Z');
let db: TestDatabase;
let pool: pg.Pool;
let f: IngestFixture;

beforeAll(async () => {
  db = await createTestDatabase('ops_measured_load');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  f = await seedIngestFixture(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});
beforeEach(async () => {
  await pool.query('truncate public.usage_hourly');
});

const usage = (tenant: string, device: string, at: string, messages: number, bytesPer = 100) =>
  pool.query(
    `insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes) values ($1, $2, $3, $4, $5)`,
    [tenant, device, new Date(at), messages, messages * bytesPer],
  );

test('the last whole UTC days: devices, messages, bytes per tenant, and the platform age', async () => {
  await usage(f.tenantA, f.deviceA, '2026-11-01T00:00:00Z', 5); // before the window: only the age
  await usage(f.tenantA, f.deviceA, '2026-11-19T00:00:00Z', 1_000); // first hour of the window
  await usage(f.tenantA, f.deviceA2, '2026-11-22T05:00:00Z', 400, 50);
  await usage(f.tenantB, f.deviceB, '2026-11-25T23:00:00Z', 3_000, 120); // last hour of the window
  await usage(f.tenantB, f.deviceB, '2026-11-26T00:00:00Z', 9_999); // today: not a whole day
  const { from, to } = lastWholeDays(NOW, 7);
  expect([from.toISOString(), to.toISOString()]).toEqual([
    '2026-11-19T00:00:00.000Z',
    '2026-11-26T00:00:00.000Z',
  ]);
  const load = await createMeasuredLoadSource(pool).measuredLoad(from, to);
  expect(load).toMatchObject({
    days: 7,
    devices: 3,
    messages: 4_400,
    bytes: 100_000 + 20_000 + 360_000,
    messagesPerDay: 4_400 / 7,
    ageDays: 25,
  });
  expect(load.payloadBytes).toBeCloseTo(480_000 / 4_400, 10);
  expect(load.tenants.map((t) => [t.tenant, t.messages, t.devices])).toEqual([
    ['globex', 3_000, 1],
    ['acme', 1_400, 2],
  ]);
});

test('an empty rollup is no load and no age', async () => {
  const { from, to } = lastWholeDays(NOW, 30);
  const load = await createMeasuredLoadSource(pool).measuredLoad(from, to);
  expect(load).toMatchObject({
    days: 30,
    devices: 0,
    messages: 0,
    payloadBytes: 0,
    ageDays: null,
    tenants: [],
  });
});

test('summarizeLoad: the age is at least the window; refuses an empty window', () => {
  const from = new Date('2026-11-01T00:00:00Z');
  const to = new Date('2026-11-08T00:00:00Z');
  expect(summarizeLoad(from, to, [], new Date('2026-11-05T00:00:00Z')).ageDays).toBe(7);
  expect(() => summarizeLoad(to, from, [], null)).toThrow(/window/);
  expect(() => lastWholeDays(NOW, 0)).toThrow(/days/);
});
