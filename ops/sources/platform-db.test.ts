/** The database-backed checks on a real, migrated PostgreSQL with rows at known times. */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { seedIngestFixture, type IngestFixture } from '../../test/support/ingest-fixture.js';
import { aiSpendCheck } from '../checks/ai-spend.js';
import { deadLettersCheck } from '../checks/dead-letters.js';
import { pricingReviewCheck } from '../checks/pricing-review.js';
import { topTenantsCheck } from '../checks/top-tenants.js';
import { runChecks } from '../engine/run-checks.js';
import { createPlatformDbSource } from './platform-db.js';

const NOW = Date.parse('2026-11-26T12:30:00Z');
const HOUR = 3_600_000;
let db: TestDatabase;
let pool: pg.Pool;
let f: IngestFixture;

beforeAll(async () => {
  db = await createTestDatabase('ops_platform_db');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  f = await seedIngestFixture(pool);
});
afterAll(async () => {
  await pool.end();
  await db.drop();
});
beforeEach(async () => {
  await pool.query(
    'truncate public.usage_hourly, public.ingest_rejects, public.ai_usage, public.ai_usage_daily',
  );
});

const usage = (tenant: string, device: string, hoursAgo: number, messages: number) =>
  pool.query(
    `insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes) values ($1, $2, $3, $4, $5)`,
    [tenant, device, new Date(Math.floor((NOW - hoursAgo * HOUR) / HOUR) * HOUR), messages, messages * 100],
  );
let rejectId = 0;
const reject = (tenant: string | null, reason: string, hoursAgo: number, n = 1) =>
  Promise.all(
    Array.from({ length: n }, () =>
      pool.query(
        `insert into public.ingest_rejects (message_id, tenant_id, topic, reason, payload_bytes, received_at, created_at)
         values ($1, $2, 't/x/y/telemetry', $3, 10, $4, $4)`,
        [`m-${rejectId++}`, tenant, reason, new Date(NOW - hoursAgo * HOUR)],
      ),
    ),
  );

test('dead letters: share of the last 24 h only, by reason and tenant', async () => {
  await usage(f.tenantA, f.deviceA, 2, 900);
  await usage(f.tenantB, f.deviceB, 5, 1_000);
  await reject(f.tenantA, 'invalid_json', 1, 30);
  await reject(null, 'unknown_device', 3, 10);
  await reject(f.tenantB, 'ts_too_old', 30, 500); // older than 24 h: not counted
  const [result] = await runChecks([deadLettersCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(result!.metrics).toEqual({ rejected: 40, accepted: 1_900, reject_share_pct: 2.06 });
  expect(result!.status).toBe('warn');
  expect(result!.evidence).toEqual([
    '30 x invalid_json (acme)',
    '10 x unknown_device (no tenant: unknown device or topic)',
  ]);
});

test('dead letters: ok under 1 %, fail over 10 %', async () => {
  await usage(f.tenantA, f.deviceA, 2, 10_000);
  await reject(f.tenantA, 'invalid_json', 1, 5);
  const [quiet] = await runChecks([deadLettersCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(quiet!.status).toBe('ok');
  await reject(f.tenantA, 'invalid_json', 1, 1_500);
  const [loud] = await runChecks([deadLettersCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(loud!.status).toBe('fail');
});

test('top tenants: ordered by messages, with devices and growth; a spike is a warning', async () => {
  // This week: globex 3,000 from one device, acme 2,000 from two; last week: acme 1,800, globex 1,000.
  await usage(f.tenantB, f.deviceB, 10, 3_000);
  await usage(f.tenantA, f.deviceA, 20, 1_000);
  await usage(f.tenantA, f.deviceA2, 30, 1_000);
  await usage(f.tenantA, f.deviceA, 7 * 24 + 5, 1_800);
  await usage(f.tenantB, f.deviceB, 7 * 24 + 5, 1_000);
  const [result] = await runChecks([topTenantsCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(result!.evidence).toEqual([
    'Accepted messages in 2026-11-19T13:00Z .. now (2026-11-26T12:30Z), the current hour so far included; ' +
      'compared with 2026-11-12T13:00Z .. 2026-11-19T13:00Z',
    'globex: 3000 messages, 300000 bytes, 1 devices, +200% week over week',
    'acme: 2000 messages, 200000 bytes, 2 devices, +11% week over week',
  ]);
  expect(result!.status).toBe('warn');
  expect(result!.summary).toMatch(/over \+100% week over week for globex/);
  expect(result!.playbook).toBe('growth-spike');
  const [calm] = await runChecks([topTenantsCheck(createPlatformDbSource(pool), { growthWarnPct: 250 })], {
    now: () => NOW,
  });
  expect(calm!.status).toBe('ok');
  expect(calm!.metrics).toEqual({ tenants: 2, messages: 5_000 });
});

test('top tenants: the current hour so far counts; the hour a week ago belongs to the week before', async () => {
  await usage(f.tenantA, f.deviceA, 0, 42); // this hour, 12:00, 30 minutes in
  await usage(f.tenantB, f.deviceB, 7 * 24, 7); // 2026-11-19T12:00: just before the window
  const [result] = await runChecks([topTenantsCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(result!.summary).toBe(
    '42 messages from 1 tenant in 2026-11-19T13:00Z .. now (2026-11-26T12:30Z); top: acme',
  );
});

const ai = (tenant: string, model: string, at: string, tokens: number, costUsd: number) =>
  pool.query(
    `insert into public.ai_usage (tenant_id, occurred_at, provider, model, input_tokens, output_tokens, cost_usd)
     values ($1, $2, 'openai', $3, $4, 0, $5)`,
    [tenant, at, model, tokens, costUsd],
  );

test('AI spend: month to date per tenant and model, projected to the month end', async () => {
  // 25.5 of November's 30 days have passed: acme's 9,000 of 10,000 tokens project to ~10,600.
  await ai(f.tenantA, 'gpt-small', '2026-11-03T10:00:00Z', 6_000, 0.6);
  await ai(f.tenantA, 'gpt-large', '2026-11-20T10:00:00Z', 3_000, 1.5);
  await ai(f.tenantB, 'gpt-small', '2026-11-10T10:00:00Z', 100_000, 10);
  await ai(f.tenantA, 'gpt-large', '2026-10-30T10:00:00Z', 50_000, 25); // last month: not counted
  const [result] = await runChecks([aiSpendCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(result!.status).toBe('warn');
  expect(result!.summary).toBe('on course to exceed their allowance: acme');
  expect(result!.metrics).toEqual({ tokens: 109_000, cost_usd: 12.1, projected_usd: 14.22 });
  expect(result!.evidence).toContain('acme: 9000 of 10000 tokens (90%), $2.1');
  expect(result!.evidence).toContain('acme / gpt-large: 3000 tokens, $1.5');
  expect(result!.playbook).toBe('cost-spike');

  await ai(f.tenantA, 'gpt-small', '2026-11-25T10:00:00Z', 2_000, 0.2);
  const [over] = await runChecks([aiSpendCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(over!.status).toBe('fail');
  expect(over!.summary).toBe("over their plan's AI allowance: acme");
});

test('AI spend: a projected total over the monthly budget is a warning', async () => {
  await ai(f.tenantB, 'gpt-small', '2026-11-10T10:00:00Z', 10_000, 85);
  const check = (monthlyBudgetUsd: number) =>
    aiSpendCheck(createPlatformDbSource(pool), { monthlyBudgetUsd });
  const [within] = await runChecks([check(150)], { now: () => NOW });
  expect(within!.status).toBe('ok');
  const [over] = await runChecks([check(90)], { now: () => NOW });
  expect(over!.status).toBe('warn');
  expect(over!.summary).toMatch(/projected \$99.\d+ over the \$90 budget/);
});

test('pricing review: a tenant near its messages/day limit on its busiest day of the last 30', async () => {
  const [quiet] = await runChecks([pricingReviewCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(quiet!.status).toBe('ok');
  expect(quiet!.metrics).toEqual({
    tenants: 2,
    near_or_over: 0,
    monthly_revenue_usd: 49,
    attributed_cost_usd: 0,
    loss_making: 0,
  });

  // acme (free: 1,000,000 messages/day, 5 devices): 600k + 300k in two hours of one day = 90 %.
  await usage(f.tenantA, f.deviceA, 30, 600_000);
  await usage(f.tenantA, f.deviceA2, 31, 300_000);
  await usage(f.tenantA, f.deviceA, 24 * 40, 2_000_000); // 40 days ago: outside the window
  await usage(f.tenantB, f.deviceB, 30, 1_000_000); // globex (pro): 10 %
  const [result] = await runChecks([pricingReviewCheck(createPlatformDbSource(pool))], { now: () => NOW });
  expect(result!.status).toBe('warn');
  expect(result!.summary).toBe('1 tenants near or at a plan limit: acme');
  expect(result!.evidence).toEqual([
    'acme (free, $0/month): devices 2/5 (40%), busiest day 900000/1000000 messages (90%)',
    'attributed cost: AI spend only (no platform cost source for this environment)',
  ]);
});

test('pricing review: revenue against the platform cost shared by bytes plus AI spend', async () => {
  await usage(f.tenantA, f.deviceA, 30, 300_000); // acme (free): 30 % of the bytes
  await usage(f.tenantB, f.deviceB, 30, 700_000); // globex (pro, $49): 70 %
  await ai(f.tenantB, 'gpt-small', '2026-11-20T10:00:00Z', 10_000, 5);
  await ai(f.tenantB, 'gpt-small', '2026-10-01T10:00:00Z', 10_000, 500); // older than 30 days
  const review = (amount: number, currency = 'USD') =>
    runChecks(
      [
        pricingReviewCheck(createPlatformDbSource(pool), {
          platformCost: { lastMonth: async () => ({ amount, currency }) },
        }),
      ],
      { now: () => NOW },
    ).then((r) => r[0]!);

  // $60 x 70 % + $5 of AI = $47 for globex: within its $49.
  const paying = await review(60);
  expect(paying.status).toBe('ok');
  expect(paying.metrics.attributed_cost_usd).toBe(65);
  expect(paying.summary).toMatch(/revenue \$49\/month against \$65 attributed$/);

  // $100 x 70 % + $5 = $75: globex costs more than it pays. acme pays nothing and is not flagged.
  const losing = await review(100);
  expect(losing.status).toBe('warn');
  expect(losing.summary).toBe('costing more than they pay: globex');
  expect(losing.evidence).toContain('globex (pro): pays $49, costs $75 (70% of bytes)');

  // A cost in another currency is not mixed with the plans' dollars.
  const euros = await review(100, 'EUR');
  expect(euros.evidence).toContain(
    "attributed cost: AI spend only (platform cost 100 EUR is not in the plans' USD)",
  );
  expect(euros.status).toBe('ok');
});

test('tenant usage counts a device once across its hours; plan use skips suspended tenants', async () => {
  await usage(f.tenantA, f.deviceA, 1, 10);
  await usage(f.tenantA, f.deviceA, 2, 20);
  await usage(f.tenantA, f.deviceA, 3, 30);
  const source = createPlatformDbSource(pool);
  const from = new Date(NOW - 24 * HOUR);
  expect(await source.tenantUsage(from, new Date(NOW))).toEqual([
    { tenant: 'acme', messages: 60, bytes: 6_000, devices: 1 },
  ]);
  await pool.query(`update public.tenants set status = 'suspended' where id = $1`, [f.tenantB]);
  try {
    const rows = await source.planUse(new Date(NOW - 30 * 24 * HOUR), new Date(NOW));
    expect(rows.map((r) => [r.tenant, r.devices, r.peakMessagesPerDay])).toEqual([['acme', 2, 60]]);
  } finally {
    await pool.query(`update public.tenants set status = 'active' where id = $1`, [f.tenantB]);
  }
});
