import { WORKED_PRICES } from '../../test/support/cost-fixture.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import { runChecks } from '../engine/run-checks.js';
import type { CostBudget } from '../sources/azure-cost.js';
import { budgetAlertsCheck, type PlannedCost, plannedCostOf } from './budget-alerts.js';

const budget = (over: Partial<CostBudget> = {}): CostBudget => ({
  name: 'mqtt-saas-monthly',
  amount: 60,
  timeGrain: 'Monthly',
  currentSpend: { amount: 12.5, currency: 'USD' },
  notifications: [
    { name: 'actual_80', enabled: true, operator: 'GreaterThan', threshold: 80, thresholdType: 'Actual' },
    {
      name: 'forecast_100',
      enabled: true,
      operator: 'GreaterThan',
      threshold: 100,
      thresholdType: 'Forecasted',
    },
  ],
  ...over,
});

const run = async (b: CostBudget | Error, configuredMonthly = 60) =>
  (
    await runChecks([
      budgetAlertsCheck(
        {
          budget: async () => {
            if (b instanceof Error) throw b;
            return b;
          },
        },
        { configuredMonthly },
      ),
    ])
  )[0]!;

test('a budget with an early alert is ok; evidence lists every notification', async () => {
  const r = await run(budget());
  expect([r.status, r.summary]).toEqual(['ok', 'budget 60 with alerts at 80 %, 100 %']);
  expect(r.evidence).toContain('forecast_100: on, Forecasted GreaterThan 100 %');
});

test('no enabled alert fails; only late alerts or a different amount warn; unreadable is error', async () => {
  const off = budget({ notifications: budget().notifications.map((n) => ({ ...n, enabled: false })) });
  expect((await run(off)).status).toBe('fail');
  const late = budget({ notifications: [budget().notifications[1]!] });
  expect((await run(late)).summary).toBe('no alert before 100 % of the budget');
  expect((await run(budget(), 80)).summary).toBe(
    'budget mqtt-saas-monthly is 60, the environment says 80: align them',
  );
  expect((await run(new Error('404 budget not found'))).status).toBe('error');
});

describe('against the model at the planned load', () => {
  const planned = (functions: number): PlannedCost => ({
    currency: 'USD',
    basis: ['load: 100 devices'],
    components: [
      { title: 'VM (broker and bridge)', monthly: 7.59, azure: true },
      { title: 'Functions (Flex Consumption)', monthly: functions, azure: true },
      { title: 'Log Analytics (Application Insights)', monthly: 0, azure: true },
      { title: 'Supabase (Pro)', monthly: 25, azure: false },
    ],
  });
  const check = (p: PlannedCost, b = budget()) =>
    runChecks([budgetAlertsCheck({ budget: async () => b }, { configuredMonthly: 60, planned: p })]).then(
      (r) => r[0]!,
    );

  test('within the budget: ok, with the Azure components and the rest listed', async () => {
    // 7.59 + 50 = 57.59 of 60 (Supabase's 25 is not on Azure's bill).
    const r = await check(planned(50));
    expect(r.status).toBe('ok');
    expect(r.metrics.model_expected_monthly).toBe(57.59);
    expect(r.evidence).toContain(
      'model at the planned load (load: 100 devices): Azure 57.59 USD a month: VM (broker and bridge) 7.59, Functions (Flex Consumption) 50.00, Log Analytics (Application Insights) 0.00',
    );
    expect(r.evidence).toContain("not on Azure's bill: Supabase (Pro) 25.00");
  });

  test('over the budget fails, the components listed by cost', async () => {
    const r = await check(planned(124.8));
    expect(r.status).toBe('fail');
    expect(r.summary).toBe(
      'the model expects 132.39 USD a month on Azure at the planned load, over the 60 budget: ' +
        'Functions (Flex Consumption) 124.80, VM (broker and bridge) 7.59',
    );
  });

  test('no planned load or another currency: said so, not compared', async () => {
    const none = await check('no planned load: set thresholds.plannedDevices');
    expect(none.status).toBe('ok');
    expect(none.evidence).toContain('model: not compared (no planned load: set thresholds.plannedDevices)');
    const eur = await check(planned(500), budget({ currentSpend: { amount: 1, currency: 'EUR' } }));
    expect(eur.status).toBe('ok');
    expect(eur.evidence).toContain('model: in USD, the budget in EUR: not compared');
  });

  test('plannedCostOf: the environment model at the planned devices, defaults for the rest', () => {
    const prod = loadEnvironmentConfig('prod');
    const config = {
      ...prod,
      prices: WORKED_PRICES,
      deploy: { functions: { plan: 'flex-consumption' as const } },
    };
    expect(plannedCostOf(config, {})).toMatch(/set thresholds.plannedDevices/);
    expect(plannedCostOf({ ...config, prices: undefined }, { plannedDevices: 100 })).toMatch(
      /no prices section/,
    );
    const p = plannedCostOf(config, { plannedDevices: 100 });
    if (typeof p === 'string') throw new Error(p);
    expect(p.basis[0]).toMatch(
      /^load: 100 devices, 864,000 messages a day \(6 a device a minute\), 100 B payload, 365 days/,
    );
    const fn = p.components.find((c) => c.title.startsWith('Functions'))!;
    // docs/cost.md's 100 devices, Flex, at 11 messages per execution.
    expect(fn).toEqual({
      title: 'Functions (Flex Consumption)',
      monthly: expect.closeTo(124.8, 2),
      azure: true,
    });
    expect(p.components.find((c) => c.title.startsWith('Supabase'))!.azure).toBe(false);
  });
});
