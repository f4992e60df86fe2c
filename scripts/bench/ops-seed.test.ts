/**
 * The bench:ops seed at a small size on a real migrated database: the rollups add up to the
 * telemetry, phases interleave in the same window, nothing lands in the default partition, and
 * the database-backed checks run on it without error.
 */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { createPlatformDbSource } from '../../ops/sources/platform-db.js';
import { PLANS } from '../sandbox/seed.js';
import { BENCH_CADENCES, databaseChecks, explainQueries, timeCadence } from './ops-checks.js';
import {
  addSideRows,
  addTelemetry,
  refreshLatest,
  seededCounts,
  seedRegistry,
  tenantLayout,
  vacuumAnalyze,
} from './ops-seed.js';

let db: TestDatabase;
let a: pg.Client;
let b: pg.Client;
const anchor = new Date('2026-11-26T12:00:00Z');
const shape = { tenants: 10, devices: 60, days: 3, anchor };

beforeAll(async () => {
  db = await createTestDatabase('bench_ops_seed');
  a = new pg.Client({ connectionString: db.url });
  b = new pg.Client({ connectionString: db.url });
  await Promise.all([a.connect(), b.connect()]);
});
afterAll(async () => {
  await Promise.all([a?.end(), b?.end()]);
  await db?.drop();
});

test('tenant layout: small tenants within their plan, the rest of the devices on paid tenants', () => {
  const layout = tenantLayout({ tenants: 100, devices: 1000 }, PLANS);
  expect(layout).toHaveLength(100);
  expect(layout.reduce((n, t) => n + t.devices, 0)).toBe(1000);
  for (const t of layout) {
    const plan = PLANS.find((p) => p.id === t.planId)!;
    expect(t.devices).toBeLessThanOrEqual(plan.maxDevices);
    expect(t.devices).toBeGreaterThan(0);
  }
  expect(layout.filter((t) => t.status === 'suspended')).toHaveLength(1);
  expect(() => tenantLayout({ tenants: 100, devices: 150 }, PLANS)).toThrow(/too few/);
});

test('two phases of telemetry with rollups that add up, then every database check runs', async () => {
  expect(await seedRegistry(a, shape, PLANS)).toBe(60);
  const chunks: number[] = [];
  expect(
    await addTelemetry([a, b], shape, { phase: 1, perDevice: 50, chunks: 3, offset: 0 }, (d) =>
      chunks.push(d),
    ),
  ).toBe(3_000);
  expect(chunks).toEqual([1, 2, 3]);
  expect(await addTelemetry([a, b], shape, { phase: 2, perDevice: 100, chunks: 4, offset: 0.5 })).toBe(6_000);
  await addSideRows(a, shape, { phase: 1, rejects: 40, aiRows: 90 });
  await refreshLatest(a);
  await vacuumAnalyze(a);

  expect(await seededCounts(a)).toMatchObject({
    telemetry: 9_000,
    rolledUpMessages: 9_000,
    rejects: 40,
    aiUsage: 90,
    latest: 60,
    defaultPartition: 0,
  });
  const span = await a.query<{ first: Date; last: Date; late: number }>(
    `select min(ts) as first, max(ts) as last, count(*) filter (where received_at <= ts)::int as late
       from public.telemetry`,
  );
  expect(span.rows[0]!.first.getTime()).toBeGreaterThanOrEqual(anchor.getTime() - 3 * 86_400_000);
  expect(span.rows[0]!.last.getTime()).toBeLessThanOrEqual(anchor.getTime());
  expect(span.rows[0]!.late).toBe(0);
  const unknown = await a.query(
    `select count(*)::int as n from public.ingest_rejects where reason = 'unknown_device' and tenant_id is not null`,
  );
  expect(unknown.rows[0].n).toBe(0);

  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  try {
    const checks = databaseChecks(createPlatformDbSource(pool));
    for (const cadence of BENCH_CADENCES) {
      const timing = await timeCadence(cadence, checks[cadence], anchor.getTime(), 2);
      expect(timing.runsMs).toHaveLength(2);
      expect(timing.checks.map((c) => c.id)).toEqual(checks[cadence].map((c) => c.id));
    }
    const [topTenants] = await timeCadence('weekly', checks.weekly, anchor.getTime(), 1).then(
      (t) => t.checks,
    );
    expect(topTenants!.summary).toMatch(/messages from 10 tenants/);
  } finally {
    await pool.end();
  }

  const plans = await explainQueries(a, anchor.getTime());
  expect(plans.map((p) => p.label)).toEqual([
    'deadLetters (24 h)',
    'tenantUsage (24 h)',
    'tenantUsage (7 d)',
    'aiUsage (month to date)',
    'planUse (30 d)',
  ]);
  for (const p of plans) {
    expect(p.executionMs).toBeGreaterThanOrEqual(0);
    expect(p.seqScans).not.toContain('telemetry');
    expect(p.text).toMatch(/Execution Time/);
  }
});
