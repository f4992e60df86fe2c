import {
  logsBody,
  standinCredential,
  startAzureStandin,
  type AzureStandin,
} from '../../test/support/azure-standin.js';
import { createAzureClients } from './azure-clients.js';
import { createFunctionLogsSource, invocationsQuery, messagesQuery } from './azure-logs.js';

const SUB = '11111111-2222-3333-4444-555555555555';
const WORKSPACE = '63613592-b6f7-4c3d-a390-22ba13102111';
let standin: AzureStandin;

beforeAll(async () => {
  standin = await startAzureStandin();
});
afterAll(() => standin.close());

const clients = () =>
  createAzureClients({
    credential: standinCredential(standin.token),
    subscriptionId: SUB,
    armEndpoint: standin.url,
    logsEndpoint: standin.logsUrl,
    ca: standin.ca,
    maxRetries: 0,
  });

test('failures: counts by function and top messages, through queryWorkspace against the stand-in', async () => {
  standin.on('logsQuery', (req, t) =>
    String((req.body as { query: string }).query).startsWith('AppRequests')
      ? logsBody(
          t,
          [
            { name: 'FunctionName', type: 'string' },
            { name: 'Invocations', type: 'long' },
            { name: 'Failures', type: 'long' },
          ],
          [
            ['mqtt_ingest', 1440, 12],
            ['health', 288, 0],
          ],
        )
      : logsBody(
          t,
          [
            { name: 'FunctionName', type: 'string' },
            { name: 'Kind', type: 'string' },
            { name: 'Message', type: 'string' },
            { name: 'Count', type: 'long' },
            { name: 'LastSeen', type: 'datetime' },
          ],
          [['mqtt_ingest', 'Error', 'connect ECONNREFUSED 10.0.0.4:5432', 12, '2026-11-26T09:59:00Z']],
        ),
  );
  const source = createFunctionLogsSource(clients().logs, {
    workspaceId: WORKSPACE,
    functionApp: 'mqtt-saas-func',
  });
  const from = new Date('2026-11-25T12:00:00Z');
  const to = new Date('2026-11-26T12:00:00Z');
  const result = await source.failures(from, to);
  expect(result.byFunction).toEqual([
    { functionName: 'mqtt_ingest', invocations: 1440, failures: 12 },
    { functionName: 'health', invocations: 288, failures: 0 },
  ]);
  expect(result.topMessages).toEqual([
    {
      functionName: 'mqtt_ingest',
      type: 'Error',
      message: 'connect ECONNREFUSED 10.0.0.4:5432',
      count: 12,
      lastSeen: new Date('2026-11-26T09:59:00Z'),
    },
  ]);
  const sent = standin.requests.filter((r) => r.route === 'logsQuery');
  expect(sent).toHaveLength(2);
  for (const r of sent) {
    expect(r.path).toBe(`/v1/workspaces/${WORKSPACE}/query`);
    expect(r.authorization).toBe(`Bearer ${standin.token}`);
    expect((r.body as { timespan: string }).timespan).toBe(`${from.toISOString()}/${to.toISOString()}`);
  }
  expect(sent.map((r) => (r.body as { query: string }).query).sort()).toEqual(
    [invocationsQuery('mqtt-saas-func'), messagesQuery('mqtt-saas-func', 10)].sort(),
  );
});

test('the published example (strings for numbers, no matching columns) is not silently read as zero', async () => {
  standin.on('logsQuery', (_req, t) => t);
  const source = createFunctionLogsSource(clients().logs, { workspaceId: WORKSPACE, functionApp: 'app' });
  await expect(source.failures(new Date(0), new Date(1000))).rejects.toThrow(/non-numeric count/);
});

test('the app name is checked before it goes into KQL', () => {
  const logs = clients().logs;
  expect(() => createFunctionLogsSource(logs, { workspaceId: WORKSPACE, functionApp: "x' or 1==1" })).toThrow(
    /functionApp/,
  );
  expect(() => createFunctionLogsSource(logs, { workspaceId: 'nope', functionApp: 'x' })).toThrow(
    /workspaceId/,
  );
});
