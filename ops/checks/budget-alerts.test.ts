import { runChecks } from '../engine/run-checks.js';
import type { CostBudget } from '../sources/azure-cost.js';
import { budgetAlertsCheck } from './budget-alerts.js';

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
