import {
  budgetBody,
  standinCredential,
  startAzureStandin,
  usageDetailsBody,
  type AzureStandin,
} from '../../test/support/azure-standin.js';
import { WORKED_PRICES } from '../../test/support/cost-fixture.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import { azureMonthlyByGroup, expectedMonthlyCost } from '../cost/environment.js';
import { runChecks } from '../engine/run-checks.js';
import { summarizeLoad } from '../sources/measured-load.js';
import { createAzureClients } from '../sources/azure-clients.js';
import { createAzureCostSource } from '../sources/azure-cost.js';
import type { AzureCostSource, CostBudget, CostUsage } from '../sources/azure-cost.js';
import {
  costBurnCheck,
  type CostBurnModel,
  type CostBurnOptions,
  environmentBurnModel,
} from './cost-burn.js';

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** Recorded-style usage: `perDay(date)` for every day in the range the check asks for. */
function fakeSource(perDay: (date: string) => number, budget: Partial<CostBudget> | Error = {}) {
  const calls: [string, string][] = [];
  const source: AzureCostSource = {
    async usage(from, to): Promise<CostUsage> {
      calls.push([from, to]);
      const days = [];
      for (let d = Date.parse(from); d <= Date.parse(to); d += DAY)
        days.push({ date: iso(d), cost: perDay(iso(d)) });
      return {
        currency: 'EUR',
        days,
        services: days.flatMap((d) => [
          { date: d.date, service: 'Microsoft.Compute', cost: d.cost * 0.75 },
          { date: d.date, service: 'Microsoft.Web', cost: d.cost * 0.25 },
        ]),
        rows: days.length * 2,
      };
    },
    async budget() {
      if (budget instanceof Error) throw budget;
      return {
        name: 'ops-monthly',
        amount: 40,
        timeGrain: 'Monthly',
        currentSpend: { amount: 20, currency: 'EUR' },
        notifications: [
          { name: 'a', enabled: true, operator: 'GreaterThan', threshold: 80, thresholdType: 'Actual' },
        ],
        ...budget,
      };
    },
  };
  return { source, calls };
}

// Every day costs 1 EUR; the two partial days have only part of their cost in yet.
const steady = (date: string) => (date === '2026-11-25' ? 0.3 : date === '2026-11-26' ? 0.1 : 1);
const NOW = Date.parse('2026-11-26T12:00:00Z');

async function run(source: AzureCostSource, now = NOW, options: CostBurnOptions = {}) {
  const [result] = await runChecks([costBurnCheck(source, options)], { now: () => now });
  return result!;
}

test('projection: complete days plus the 7-day average for each day not complete (partial days excluded)', async () => {
  const { source, calls } = fakeSource(steady);
  const r = await run(source);
  expect(r.status).toBe('ok');
  // Complete: Nov 1..24 (24 EUR); rate 1/day; 6 days left to count (25..30): 30 EUR of 40 = 75 %.
  expect(r.metrics).toMatchObject({
    month_to_date: 24.4,
    yesterday: 0.3,
    average_daily: 1,
    projected: 30,
    complete_days: 24,
    budget: 40,
    projected_percent: 75,
  });
  // It reads from the month start (or earlier, for the average) up to today.
  expect(calls).toEqual([['2026-11-01', '2026-11-26']]);
  expect(r.evidence.join('\n')).toMatch(/2026-11-01\.\.2026-11-24; partial: 2026-11-25, 2026-11-26/);
  expect(r.evidence.join('\n')).toMatch(
    /Yesterday 2026-11-25: 0\.30 EUR \(partial: complete after 2026-11-26T16:00:00\.000Z\)/,
  );
  expect(r.evidence.join('\n')).toMatch(
    /Top services this month: Microsoft\.Compute 18\.30 EUR \(75%\), Microsoft\.Web 6\.10 EUR \(25%\)/,
  );
  expect(r.evidence.join('\n')).toMatch(/alerts: Actual GreaterThan 80%/);
  expect(r.playbook).toBe('cost-spike');
});

test('services past topServices are summed as others, not dropped', async () => {
  const { source } = fakeSource(steady);
  const r = await run(source, NOW, { topServices: 1 });
  expect(r.evidence).toContain(
    'Top services this month: Microsoft.Compute 18.30 EUR (75%), 1 other service 6.10 EUR (25%)',
  );
});

test('the lag: yesterday becomes complete 16 h after it ends, not before', async () => {
  const { source } = fakeSource((d) => (d === '2026-11-26' ? 0.1 : 1));
  const before = await run(source, Date.parse('2026-11-26T15:59:00Z'));
  const after = await run(source, Date.parse('2026-11-26T16:00:00Z'));
  expect(before.metrics.complete_days).toBe(24);
  expect(after.metrics.complete_days).toBe(25);
  expect(after.evidence.join('\n')).toMatch(/Yesterday 2026-11-25: 1\.00 EUR$/m);
});

test.each([
  [40, 'ok', /projected 30\.00 EUR \(75% of budget\)/],
  [36, 'warn', /projected 30\.00 EUR = 83\.3% of the budget/],
  [30, 'fail', /projected 30\.00 EUR = 100% of the 30\.00 EUR budget/],
  [20, 'fail', /month to date 24\.40 EUR is over the 20\.00 EUR budget/],
] as const)('budget %p: %s', async (amount, status, summary) => {
  const r = await run(fakeSource(steady, { amount }).source);
  expect(r.status).toBe(status);
  expect(r.summary).toMatch(summary);
});

test('thresholds come from options', async () => {
  const r = await run(fakeSource(steady).source, NOW, { warnPercent: 70, failPercent: 74 });
  expect(r.status).toBe('fail');
});

test('early in the month the rate comes from the previous month and nothing is complete yet', async () => {
  const { source, calls } = fakeSource((d) => (d.startsWith('2026-10') ? 2 : 0.5));
  const r = await run(source, Date.parse('2026-11-01T10:00:00Z'));
  // Last complete day is Oct 30; the average spans Oct 24..30; the spike baseline goes back 14 days.
  expect(calls).toEqual([['2026-10-17', '2026-11-01']]);
  expect(r.metrics).toMatchObject({ complete_days: 0, average_daily: 2, projected: 60, month_to_date: 0.5 });
  expect(r.status).toBe('fail');
  expect(r.evidence[0]).toMatch(/none yet this month; partial: 2026-11-01/);
});

test('a spike (last complete day over 2 x the average before it) warns', async () => {
  const r = await run(fakeSource((d) => (d === '2026-11-24' ? 5 : steady(d)), { amount: 100 }).source);
  expect(r.status).toBe('warn');
  expect(r.summary).toMatch(/cost spike on 2026-11-24: 5\.00 EUR/);
});

test('an unreadable budget falls back to the configured amount, or warns without one', async () => {
  const gone = new Error('BudgetNotFound');
  const withFallback = await run(fakeSource(steady, gone).source, NOW, { fallbackBudget: 100 });
  expect(withFallback.status).toBe('ok');
  expect(withFallback.evidence.join('\n')).toMatch(
    /Budget unreadable \(BudgetNotFound\); using the configured 100\.00 EUR/,
  );
  const without = await run(fakeSource(steady, gone).source);
  expect(without.status).toBe('warn');
  expect(without.summary).toMatch(/no budget to compare with/);
});

test('a budget in another currency is not compared', async () => {
  const r = await run(
    fakeSource(steady, { amount: 10, currentSpend: { amount: 1, currency: 'USD' } }).source,
  );
  expect(r.status).toBe('warn');
  expect(r.summary).toMatch(/different currencies/);
});

test('chart: a bar per day of the month, the cumulative line and the budget pace', async () => {
  const r = await run(fakeSource(steady).source);
  const [chart] = r.charts;
  expect(chart!.xLabels).toHaveLength(30);
  const [bars, cumulative, pace] = chart!.series;
  expect(bars!.values.slice(22, 27)).toEqual([1, 1, 0.3, 0.1, 0]);
  expect(cumulative!.values[23]).toBe(24);
  expect(cumulative!.values[29]).toBe(30);
  expect(pace!.values[29]).toBe(40);
  expect(pace!.values[14]).toBe(20);
});

test('options are validated', () => {
  const { source } = fakeSource(steady);
  expect(() => costBurnCheck(source, { warnPercent: 120 })).toThrow(
    /warnPercent must not exceed failPercent/,
  );
  expect(() => costBurnCheck(source, { averageDays: 0 })).toThrow(/averageDays/);
  expect(() => costBurnCheck(source, { lagHours: -1 })).toThrow(/lagHours/);
});

describe('through @azure/arm-consumption against the stand-in', () => {
  const SUB = '11111111-2222-3333-4444-555555555555';
  let standin: AzureStandin;
  beforeAll(async () => {
    standin = await startAzureStandin();
  });
  afterAll(() => standin.close());

  test('usage and budget read by the SDK give the projection; the requests carry the month and api-version', async () => {
    standin.on('usageDetails', (_req, t) => {
      const rows = [];
      for (let d = Date.parse('2026-11-01'); d <= Date.parse('2026-11-26'); d += DAY) {
        const date = iso(d);
        rows.push({ date, cost: steady(date) * 0.8, service: 'Microsoft.Compute' });
        rows.push({ date, cost: steady(date) * 0.2, service: 'Microsoft.Storage' });
      }
      return usageDetailsBody(t, rows);
    });
    standin.on('budget', (_req, t) => budgetBody(t, { amount: 32, spent: 24, thresholds: [80, 100] }));
    const clients = createAzureClients({
      credential: standinCredential(standin.token),
      subscriptionId: SUB,
      armEndpoint: standin.url,
      ca: standin.ca,
      maxRetries: 0,
    });
    const source = createAzureCostSource(clients.consumption, {
      scope: `subscriptions/${SUB}`,
      budgetName: 'ops-monthly',
    });
    const r = await run(source);
    // 24 complete days at 1 EUR + 6 x 1 EUR = 30 EUR of 32 = 93.75 %: over the 80 % warning.
    expect(r.status).toBe('warn');
    expect(r.metrics).toMatchObject({
      projected: 30,
      budget: 32,
      projected_percent: 93.8,
      month_to_date: 24.4,
    });
    expect(r.evidence.join('\n')).toMatch(/Microsoft\.Compute 19\.52 EUR \(80%\)/);
    const usage = standin.requests.find((q) => q.route === 'usageDetails')!;
    expect(usage.apiVersion).toBe('2024-08-01');
    expect(usage.query.$filter).toBe(
      "properties/usageStart ge '2026-11-01' and properties/usageEnd le '2026-11-26'",
    );
    expect(standin.requests.find((q) => q.route === 'budget')!.path).toBe(
      `/subscriptions/${SUB}/providers/Microsoft.Consumption/budgets/ops-monthly`,
    );
  });
});

describe('against the cost model', () => {
  // Complete days at NOW: to Nov 24; the 7 compared are Nov 18..24: 5.25 EUR of Microsoft.Compute
  // (VM and storage) and 1.75 EUR of Microsoft.Web (Functions).
  const model = (
    monthly: Partial<Record<'vm-storage' | 'network' | 'functions' | 'monitoring', number>>,
    currency = 'EUR',
  ) => {
    const calls: [Date, Date][] = [];
    const m: CostBurnModel = {
      async expected(from, to) {
        calls.push([from, to]);
        return {
          currency,
          monthlyByGroup: new Map(Object.entries(monthly)) as Map<
            'vm-storage' | 'network' | 'functions' | 'monitoring',
            number
          >,
          basis: ['load: 100 devices'],
          topTenant: { tenant: 'globex', messages: 700, share: 0.7 },
        };
      },
    };
    return { m, calls };
  };
  const perMonth = (perSevenDays: number) => (perSevenDays * (730 / 24)) / 7;

  test('a model that agrees: ok, the comparison is evidence, over the same complete days', async () => {
    const { source } = fakeSource(steady);
    const { m, calls } = model({ 'vm-storage': perMonth(5.25), functions: perMonth(1.75) });
    const r = await run(source, NOW, { model: m });
    expect(calls).toEqual([[new Date('2026-11-18T00:00:00Z'), new Date('2026-11-25T00:00:00Z')]]);
    expect(r.status).toBe('ok');
    expect(r.metrics).toMatchObject({ model_expected: 7, model_actual: 7, model_diverging: 0 });
    expect(r.evidence).toContain(
      'Model against Azure over the 7 complete days 2026-11-18..2026-11-24 (load: 100 devices):',
    );
    expect(r.evidence).toContain('  Functions: 1.75 EUR against 1.75 EUR modelled (+0%)');
  });

  test('Functions far above the model warns with a mis-sized plan or the noisiest tenant', async () => {
    const { source } = fakeSource(steady);
    const { m } = model({ 'vm-storage': perMonth(5.25), functions: 0.5 });
    // 1.75 against 0.12: +1,421 %, but under the default 10 EUR minimum: only evidence.
    expect((await run(source, NOW, { model: m })).status).toBe('ok');
    const r = await run(source, NOW, { model: m, modelDivergeMin: 1 });
    expect(r.status).toBe('warn');
    expect(r.summary).toBe(
      'Functions 1.75 EUR over 2026-11-18..2026-11-24 against 0.12 EUR modelled (+1421%): likely a mis-sized plan ' +
        "(deploy.functions.plan, infra.functions.instanceMemoryMb, the bridge's linger) or a noisy tenant " +
        '(top by messages: globex, 70% of 1,000 messages)',
    );
    expect(r.metrics.model_diverging).toBe(1);
  });

  test('a service the model does not price is a leak; a group far below says the model is off', async () => {
    const { source: base } = fakeSource(steady);
    const source: AzureCostSource = {
      ...base,
      async usage(from, to, signal) {
        const u = await base.usage(from, to, signal);
        return {
          ...u,
          services: [
            ...u.services,
            ...u.days.map((d) => ({ date: d.date, service: 'Azure Cosmos DB', cost: 2 })),
          ],
        };
      },
    };
    // VM and storage: (5.25 - 30) / 30 = -82.5 %, rounded half up to -82.
    const { m } = model({ 'vm-storage': perMonth(30), functions: perMonth(1.75) });
    const r = await run(source, NOW, { model: m });
    expect(r.status).toBe('warn');
    expect(r.summary).toContain(
      'Azure Cosmos DB 14.00 EUR over 2026-11-18..2026-11-24 against 0.00 EUR modelled (not modelled): likely a leak: a service the model does not price',
    );
    expect(r.summary).toContain(
      'VM, disk and storage 5.25 EUR over 2026-11-18..2026-11-24 against 30.00 EUR modelled (-82%): likely the model expects more',
    );
  });

  test('no model, another currency or an unreadable load: not compared, said so', async () => {
    const { source } = fakeSource(steady);
    const reason = await run(source, NOW, {
      model: { expected: async () => 'environment prod has no prices section' },
    });
    expect(reason.evidence).toContain('Model: not compared (environment prod has no prices section)');
    expect(reason.status).toBe('ok');
    const usd = await run(source, NOW, { model: model({ functions: 1000 }, 'USD').m });
    expect(usd.evidence).toContain('Model: in USD, usage in EUR: not compared');
    expect(usd.status).toBe('ok');
    const broken = await run(source, NOW, {
      model: {
        expected: async () => {
          throw new Error('connection refused');
        },
      },
    });
    expect(broken.evidence).toContain(
      "Model: not compared (the model's load could not be read: connection refused)",
    );
  });

  test('the environment model: Azure groups of the estimate at the measured load, and the top tenant', async () => {
    const prod = loadEnvironmentConfig('prod');
    const config = { ...prod, prices: WORKED_PRICES };
    const tenants = [
      { tenant: 'globex', messages: 7_000_000, bytes: 700_000_000, devices: 70 },
      { tenant: 'acme', messages: 3_000_000, bytes: 300_000_000, devices: 30 },
    ];
    const from = new Date('2026-11-18T00:00:00Z');
    const to = new Date('2026-11-25T00:00:00Z');
    const e = await environmentBurnModel(config, {
      measuredLoad: async (f, t) => summarizeLoad(f, t, tenants, new Date('2025-11-25T00:00:00Z')),
    }).expected(from, to);
    if (typeof e === 'string') throw new Error(e);
    expect(e.currency).toBe('USD');
    expect(e.topTenant).toEqual({ tenant: 'globex', messages: 7_000_000, share: 0.7 });
    const direct = expectedMonthlyCost(
      config,
      summarizeLoad(from, to, tenants, new Date('2025-11-25T00:00:00Z')),
    );
    expect(e.monthlyByGroup).toEqual(azureMonthlyByGroup(direct.estimate));
    expect(e.basis).toEqual(direct.basis);
  });
});
