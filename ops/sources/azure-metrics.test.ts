import {
  metricsBody,
  standinCredential,
  startAzureStandin,
  type AzureStandin,
} from '../../test/support/azure-standin.js';
import { createAzureClients } from './azure-clients.js';
import { createVmMetricsSource, vmResourceId } from './azure-metrics.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const VM = { subscriptionId: SUB, resourceGroup: 'rg-mqtt', vmName: 'vm-broker' };
let standin: AzureStandin;

beforeAll(async () => {
  standin = await startAzureStandin();
});
afterAll(() => standin.close());

const source = () =>
  createVmMetricsSource(
    createAzureClients({
      credential: standinCredential(standin.token),
      subscriptionId: SUB,
      armEndpoint: standin.url,
      ca: standin.ca,
      maxRetries: 0,
    }),
    VM,
  );

const point = (hour: number, v: number, total?: number) => ({
  timeStamp: new Date(Date.UTC(2026, 10, 1, hour)).toISOString(),
  average: v,
  minimum: v,
  maximum: v,
  ...(total !== undefined ? { total } : {}),
});

test('metrics: one request for the four VM metrics at 1 h grain, read per metric oldest first', async () => {
  standin.on('metrics', (req, t) =>
    metricsBody(t, vmResourceId(VM), req.query.timespan!, [
      { name: 'Percentage CPU', unit: 'Percent', data: [point(1, 12), point(0, 8)] },
      { name: 'CPU Credits Remaining', unit: 'Count', data: [point(0, 144), point(1, 143)] },
      { name: 'Network Out Total', unit: 'Bytes', data: [point(0, 1000, 60_000)] },
    ]),
  );
  const from = new Date('2026-10-27T00:00:00Z');
  const to = new Date('2026-11-26T00:00:00Z');
  const m = await source().metrics(from, to);
  expect(m.interval).toBe('PT1H');
  expect(m.series['Percentage CPU'].map((p) => p.average)).toEqual([8, 12]);
  expect(m.series['CPU Credits Remaining'][1]).toEqual({
    at: new Date('2026-11-01T01:00:00Z'),
    average: 143,
    minimum: 143,
    maximum: 143,
  });
  expect(m.series['Network Out Total'][0]!.total).toBe(60_000);
  expect(m.series['Available Memory Bytes']).toEqual([]);
  const [req] = standin.requests.filter((r) => r.route === 'metrics');
  expect(req).toMatchObject({
    path: `${vmResourceId(VM)}/providers/Microsoft.Insights/metrics`,
    apiVersion: '2024-02-01',
    query: {
      timespan: `${from.toISOString()}/${to.toISOString()}`,
      interval: 'PT1H',
      metricnames: 'Percentage CPU,CPU Credits Remaining,Available Memory Bytes,Network Out Total',
      aggregation: 'average,minimum,maximum,total',
      metricnamespace: 'Microsoft.Compute/virtualMachines',
    },
  });
});

test('vm: the size from virtualMachines.get (the published example: Standard_DS3_v2)', async () => {
  const vm = await source().vm();
  expect(vm).toEqual({ name: 'myVM', size: 'Standard_DS3_v2', location: 'West US' });
  const req = standin.requests.find((r) => r.route === 'virtualMachine');
  expect(req!.path).toBe(
    `/subscriptions/${SUB}/resourceGroups/rg-mqtt/providers/Microsoft.Compute/virtualMachines/vm-broker`,
  );
  expect(req!.apiVersion).toBe('2026-04-01');
});

test('a metric Azure reports as failed is an error, not an empty series', async () => {
  standin.on('metrics', (req, t) => {
    const body = metricsBody(t, vmResourceId(VM), req.query.timespan!, [
      { name: 'Percentage CPU', unit: 'Percent', data: [] },
    ]);
    body.value[0].errorCode = 'Throttled';
    return body;
  });
  await expect(source().metrics(new Date(0), new Date(3_600_000))).rejects.toThrow(
    /Percentage CPU: Throttled/,
  );
});
