import {
  budgetBody,
  standinCredential,
  startAzureStandin,
  usageDetailsBody,
  type AzureStandin,
} from '../../test/support/azure-standin.js';
import { createAzureClients } from './azure-clients.js';
import { createAzureCostSource, type AzureCostSource } from './azure-cost.js';

const SUB = '11111111-2222-3333-4444-555555555555';
let standin: AzureStandin;
let source: AzureCostSource;

beforeAll(async () => {
  standin = await startAzureStandin();
  const clients = createAzureClients({
    credential: standinCredential(standin.token),
    subscriptionId: SUB,
    armEndpoint: standin.url,
    ca: standin.ca,
    maxRetries: 0,
  });
  source = createAzureCostSource(clients.consumption, {
    scope: `/subscriptions/${SUB}`,
    budgetName: 'ops-monthly',
  });
});
afterAll(() => standin.close());
beforeEach(() => standin.requests.splice(0));

test('usage: follows nextLink pages and sums per day and per service in the billing currency', async () => {
  standin.on('usageDetails', (req, t) =>
    req.query.$skiptoken === 'page2'
      ? usageDetailsBody(t, [
          { date: '2026-11-02', cost: 0.5, service: 'Microsoft.Web' },
          { date: '2026-10-31', cost: 99, service: 'Microsoft.Compute' }, // outside the range
        ])
      : usageDetailsBody(
          t,
          [
            { date: '2026-11-01', cost: 1.25, service: 'Microsoft.Compute' },
            { date: '2026-11-01', cost: 0.25, service: 'Microsoft.Storage' },
            { date: '2026-11-02', cost: 1, service: 'Microsoft.Compute' },
          ],
          `${standin.url}/subscriptions/${SUB}/providers/Microsoft.Consumption/usageDetails?api-version=2024-08-01&$skiptoken=page2`,
        ),
  );
  const usage = await source.usage('2026-11-01', '2026-11-26');
  expect(usage.currency).toBe('EUR');
  expect(usage.rows).toBe(4);
  expect(usage.days).toEqual([
    { date: '2026-11-01', cost: 1.5 },
    { date: '2026-11-02', cost: 1.5 },
  ]);
  expect(usage.services).toEqual(
    expect.arrayContaining([
      { date: '2026-11-01', service: 'Microsoft.Compute', cost: 1.25 },
      { date: '2026-11-02', service: 'Microsoft.Web', cost: 0.5 },
    ]),
  );
  const [first, second] = standin.requests;
  expect(standin.requests).toHaveLength(2);
  expect(first).toMatchObject({
    route: 'usageDetails',
    path: `/subscriptions/${SUB}/providers/Microsoft.Consumption/usageDetails`,
    apiVersion: '2024-08-01',
    authorization: `Bearer ${standin.token}`,
  });
  expect(first!.query.$filter).toBe(
    "properties/usageStart ge '2026-11-01' and properties/usageEnd le '2026-11-26'",
  );
  expect(second!.query.$skiptoken).toBe('page2');
});

test('usage: the published example as is (legacy row, CAD) is read', async () => {
  standin.on('usageDetails', (_req, t) => t);
  const usage = await source.usage('2019-04-01', '2019-04-30');
  expect(usage).toMatchObject({
    currency: 'CAD',
    rows: 1,
    days: [{ date: '2019-04-09', cost: 0.000001980949998 }],
  });
  expect(usage.services[0]!.service).toBe('Microsoft.ClassicStorage');
});

test('usage in two currencies is an error, not a wrong sum', async () => {
  standin.on('usageDetails', (_req, t) =>
    usageDetailsBody(t, [
      { date: '2026-11-01', cost: 1, service: 'a', currency: 'EUR' },
      { date: '2026-11-01', cost: 1, service: 'a', currency: 'USD' },
    ]),
  );
  await expect(source.usage('2026-11-01', '2026-11-02')).rejects.toThrow(/several currencies \(EUR, USD\)/);
});

test('budget: amount, spend and notification thresholds', async () => {
  standin.on('budget', (_req, t) => budgetBody(t, { amount: 30, spent: 12.5, thresholds: [80, 100] }));
  const budget = await source.budget();
  expect(budget).toMatchObject({
    amount: 30,
    timeGrain: 'Monthly',
    currentSpend: { amount: 12.5, currency: 'EUR' },
  });
  expect(budget.notifications.map((n) => [n.threshold, n.enabled, n.thresholdType])).toEqual([
    [80, true, 'Actual'],
    [100, true, 'Actual'],
  ]);
  expect(standin.requests[0]).toMatchObject({
    path: `/subscriptions/${SUB}/providers/Microsoft.Consumption/budgets/ops-monthly`,
    apiVersion: '2024-08-01',
  });
});

test('options are checked before anything is sent', () => {
  const client = createAzureClients({ credential: standinCredential(), subscriptionId: SUB }).consumption;
  expect(() => createAzureCostSource(client, { scope: 'tenants/x', budgetName: 'b' })).toThrow(
    /scope must be/,
  );
  expect(() => createAzureCostSource(client, { scope: `subscriptions/${SUB}`, budgetName: "b'1" })).toThrow(
    /budgetName/,
  );
  return expect(
    createAzureCostSource(client, { scope: `subscriptions/${SUB}`, budgetName: 'b' }).usage(
      '2026-11-02',
      '2026-11-01',
    ),
  ).rejects.toThrow(/bad date range/);
});
