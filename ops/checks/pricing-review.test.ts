/** monthly.pricing-review with the cost model: fakes for the database and the model. */
import { WORKED_PRICES } from '../../test/support/cost-fixture.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import type { Attribution } from '../cost/attribution.js';
import { runChecks } from '../engine/run-checks.js';
import { summarizeLoad } from '../sources/measured-load.js';
import type { PlatformDbSource, TenantPlanUse, TenantUsage } from '../sources/platform-db.js';
import { environmentPricingModel, type PricingModel, pricingReviewCheck } from './pricing-review.js';

const NOW = Date.parse('2026-11-26T12:30:00Z');
const plan = (tenant: string, planId: string, cents: number): TenantPlanUse => ({
  tenant,
  plan: planId,
  monthlyPriceCents: cents,
  maxDevices: 100,
  devices: 1,
  maxMessagesPerDay: 1e9,
  peakMessagesPerDay: 1,
});
const usage: TenantUsage[] = [
  { tenant: 'globex', messages: 700, bytes: 70_000, devices: 7 },
  { tenant: 'acme', messages: 300, bytes: 30_000, devices: 3 },
];
const db = (ai: { tenant: string; costUsd: number }[] = []): PlatformDbSource => ({
  deadLetters: async () => [],
  tenantUsage: async () => usage,
  aiUsage: async () => ai.map((a) => ({ ...a, model: 'm', tokens: 1, allowance: 1 })),
  planUse: async () => [plan('acme', 'free', 0), plan('globex', 'pro', 4900)],
});
const attribution = (globex: number, currency = 'USD'): Attribution => ({
  currency,
  total: 100,
  fixed: 40,
  working: [],
  tenants: [
    { tenant: 'acme', fixed: 20, variable: 10, total: 30, messageShare: 0.3 },
    { tenant: 'globex', fixed: 20, variable: globex - 20, total: globex, messageShare: 0.7 },
  ],
});
const fakeModel = (a: Attribution | string): PricingModel & { calls: unknown[][] } => {
  const calls: unknown[][] = [];
  return {
    calls,
    attribute: async (...args) => {
      calls.push(args);
      return typeof a === 'string' ? a : { attribution: a, basis: ['load: 10 devices'] };
    },
  };
};
const run = (check: ReturnType<typeof pricingReviewCheck>) =>
  runChecks([check], { now: () => NOW }).then((r) => r[0]!);

test('a paying tenant whose modelled cost (plus AI) exceeds its price warns', async () => {
  const model = fakeModel(attribution(45));
  const r = await run(pricingReviewCheck(db([{ tenant: 'globex', costUsd: 5 }]), { model }));
  // The model gets the 30-day window and every active tenant for the fixed split.
  expect(model.calls[0]).toEqual([new Date(NOW - 30 * 86_400_000), new Date(NOW), ['acme', 'globex']]);
  expect(r.status).toBe('warn');
  expect(r.summary).toBe('costing more than they pay: globex');
  expect(r.metrics).toMatchObject({ modelled_cost_usd: 80, attributed_cost_usd: 80, loss_making: 1 });
  expect(r.evidence).toContain(
    'globex (pro): pays $49, modelled $50 (fixed $20 + usage $25 for 70% of messages + AI $5): costs more than it pays',
  );
  expect(r.evidence).toContain('model load: 10 devices');
  expect(r.evidence.join('\n')).toMatch(/fixed \$40 split evenly over the active tenants/);
});

test('within its price: ok; the bill split by bytes is still shown when the Azure cost is known', async () => {
  const r = await run(
    pricingReviewCheck(db(), {
      model: fakeModel(attribution(40)),
      // The bill says globex costs $70 x 70% = $49.7: the model decides, the bill is shown.
      platformCost: { lastMonth: async () => ({ amount: 71, currency: 'USD' }) },
    }),
  );
  expect(r.status).toBe('ok');
  expect(r.metrics).toMatchObject({ modelled_cost_usd: 70, bill_attributed_usd: 71, loss_making: 0 });
  expect(r.evidence).toContain(
    "attributed cost: platform $71 last month shared by bytes ingested, plus each tenant's AI spend",
  );
  expect(r.evidence).toContain('globex (pro): pays $49, costs $49.7 (70% of bytes)');
});

test('without a usable model, the bill split decides as before and the reason is shown', async () => {
  const bill = { lastMonth: async () => ({ amount: 100, currency: 'USD' }) };
  const none = await run(
    pricingReviewCheck(db(), {
      model: fakeModel('environment prod has no prices section'),
      platformCost: bill,
    }),
  );
  expect(none.status).toBe('warn');
  expect(none.summary).toBe('costing more than they pay: globex');
  expect(none.evidence).toContain('modelled cost: not available (environment prod has no prices section)');
  const euros = await run(pricingReviewCheck(db(), { model: fakeModel(attribution(80, 'EUR')) }));
  expect(euros.status).toBe('ok');
  expect(euros.evidence).toContain("modelled cost: in EUR, not the plans' USD: not compared");
});

test('the environment model prices the measured load with the environment plan and archive', async () => {
  const prod = loadEnvironmentConfig('prod');
  const config = {
    ...prod,
    prices: WORKED_PRICES,
    deploy: { functions: { plan: 'linux-consumption' as const } },
  };
  const from = new Date(NOW - 30 * 86_400_000);
  const to = new Date(NOW);
  // 100 devices x 864,000 messages a day over 30 days, 100 B each.
  const tenants = [
    { tenant: 'globex', messages: 864_000 * 30 * 0.7, bytes: 864_000 * 30 * 70, devices: 70 },
    { tenant: 'acme', messages: 864_000 * 30 * 0.3, bytes: 864_000 * 30 * 30, devices: 30 },
  ];
  const model = environmentPricingModel(config, {
    measuredLoad: async (f, t) => summarizeLoad(f, t, tenants, new Date(NOW - 365 * 86_400_000)),
  });
  const r = await model.attribute(from, to, ['acme', 'globex', 'initech']);
  if (typeof r === 'string') throw new Error(r);
  expect(r.basis[1]).toMatch(/linux-consumption.*archive disabled: nothing dropped/);
  const [acme, globex, initech] = ['acme', 'globex', 'initech'].map((n) =>
    r.attribution.tenants.find((t) => t.tenant === n)!,
  );
  expect(initech!.variable).toBe(0);
  expect(initech!.fixed).toBeCloseTo(r.attribution.fixed / 3, 10);
  // Same payload size: the variable part splits like the messages, 70:30.
  expect(globex!.variable / acme!.variable).toBeCloseTo(7 / 3, 6);
  const sum = r.attribution.tenants.reduce((a, t) => a + t.total, 0);
  expect(sum).toBeCloseTo(r.attribution.total, 6);
  expect(
    await environmentPricingModel(
      { ...config, prices: undefined },
      {
        measuredLoad: async () => {
          throw new Error('unused');
        },
      },
    ).attribute(from, to, []),
  ).toMatch(/no prices section/);
});
