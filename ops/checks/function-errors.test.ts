import {
  logsBody,
  standinCredential,
  startAzureStandin,
  type AzureStandin,
} from '../../test/support/azure-standin.js';
import { runChecks } from '../engine/run-checks.js';
import { createAzureClients } from '../sources/azure-clients.js';
import { createFunctionLogsSource } from '../sources/azure-logs.js';
import type { FunctionFailures, FunctionLogsSource } from '../sources/azure-logs.js';
import { cleanMessage, functionErrorsCheck, type FunctionErrorsOptions } from './function-errors.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');

function source(data: FunctionFailures) {
  const windows: [Date, Date][] = [];
  const s: FunctionLogsSource = {
    async failures(from, to) {
      windows.push([from, to]);
      return data;
    },
  };
  return { s, windows };
}

const fn = (functionName: string, invocations: number, failures: number) => ({
  functionName,
  invocations,
  failures,
});

async function run(data: FunctionFailures, options: FunctionErrorsOptions = {}) {
  const { s, windows } = source(data);
  const [r] = await runChecks([functionErrorsCheck(s, options)], { now: () => NOW });
  return { r: r!, windows };
}

test.each([
  [[fn('mqtt_ingest', 1440, 0), fn('health', 288, 0)], 'ok', /1728 invocations, 0 failed/],
  [[fn('mqtt_ingest', 1440, 3)], 'warn', /failures: mqtt_ingest \(3\)/],
  [[fn('mqtt_ingest', 1440, 10)], 'fail', /failing: mqtt_ingest \(10\)/],
  // 2 of 25 = 8 % >= 5 % with enough invocations
  [[fn('health', 25, 2)], 'fail', /failing: health \(2\)/],
  // 2 of 10 is a high rate but too few invocations to call it
  [[fn('health', 10, 2)], 'warn', /failures: health/],
  [[], 'warn', /no invocations logged/],
] as const)('%j -> %s', async (byFunction, status, summary) => {
  const { r, windows } = await run({ byFunction: [...byFunction], topMessages: [] });
  expect(r.status).toBe(status);
  expect(r.summary).toMatch(summary);
  expect(windows[0]).toEqual([new Date(NOW - 86_400_000), new Date(NOW)]);
});

test('the fingerprint names the failing functions, so a new one opens a new incident', async () => {
  const { r } = await run({ byFunction: [fn('b', 100, 50), fn('a', 100, 50)], topMessages: [] });
  expect(r.fingerprint).toBe('daily.function-errors:a,b');
});

test('top messages are evidence, redacted and truncated', async () => {
  const { r } = await run(
    {
      byFunction: [fn('mqtt_ingest', 100, 12)],
      topMessages: [
        {
          functionName: 'mqtt_ingest',
          type: 'Error',
          message: 'connect to postgres://ingest:hunter2@db.example.com:5432/app failed\n  at pool.connect',
          count: 12,
          lastSeen: new Date('2026-11-26T09:59:00Z'),
        },
        {
          functionName: 'mqtt_ingest',
          type: 'trace',
          message: 'timeout '.repeat(60),
          count: 1,
          lastSeen: null,
        },
      ],
    },
    { messageMaxChars: 50 },
  );
  const text = r.evidence.join('\n');
  expect(text).not.toContain('hunter2');
  expect(text).toMatch(
    /12x mqtt_ingest Error \(last 2026-11-26T09:59:00\.000Z\): connect to postgres:\/\/ingest:\*\*\*@db/,
  );
  expect(r.evidence.at(-1)!.endsWith('…')).toBe(true);
  expect(r.evidence.at(-1)!.split(': ')[1]!.length).toBe(50);
});

test('messages past topMessages are counted in one line, not dropped', async () => {
  const message = (text: string, count: number) => ({
    functionName: 'mqtt_ingest',
    type: 'Error',
    message: text,
    count,
    lastSeen: null,
  });
  const { r } = await run(
    {
      byFunction: [fn('mqtt_ingest', 100, 12)],
      topMessages: [message('a', 7), message('b', 3), message('c', 2)],
    },
    { topMessages: 1 },
  );
  expect(r.evidence.slice(-2)).toEqual(['7x mqtt_ingest Error: a', '5x in 2 other messages, not shown']);
});

test.each([
  ['Authorization: Bearer abc.def-123', 'Authorization: Bearer ***'],
  ['password=s3cr3t; host=x', 'password=***; host=x'],
  ['https://f.azurewebsites.net/api/x?code=AbC123==&y=1', 'https://f.azurewebsites.net/api/x?code=***&y=1'],
  ['token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-here rejected', 'token *** rejected'],
  ['AccountKey=' + 'k'.repeat(30) + ';EndpointSuffix=core', 'AccountKey=***;EndpointSuffix=core'],
  ['key sb_secret_abcdef123 leaked', 'key sb_secret_*** leaked'],
  ['blob ' + 'A1b2'.repeat(12) + '== failed', 'blob *** failed'],
  [
    'device 7f3c2a1e-0b9d-4e5f-8a6b-1c2d3e4f5a6b rejected: payload too large',
    'device 7f3c2a1e-0b9d-4e5f-8a6b-1c2d3e4f5a6b rejected: payload too large',
  ],
])('cleanMessage %j', (input, expected) => {
  expect(cleanMessage(input)).toBe(expected);
});

test('options are validated', () => {
  const { s } = source({ byFunction: [], topMessages: [] });
  expect(() => functionErrorsCheck(s, { warnFailures: 5, failFailures: 2 })).toThrow(/warnFailures/);
  expect(() => functionErrorsCheck(s, { windowHours: 0 })).toThrow(/windowHours/);
});

describe('through @azure/monitor-query-logs against the stand-in', () => {
  let standin: AzureStandin;
  beforeAll(async () => {
    standin = await startAzureStandin();
  });
  afterAll(() => standin.close());

  test('failures read by the SDK fail the check, with the message redacted', async () => {
    standin.on('logsQuery', (req, t) =>
      String((req.body as { query: string }).query).startsWith('AppRequests')
        ? logsBody(
            t,
            [
              { name: 'FunctionName', type: 'string' },
              { name: 'Invocations', type: 'long' },
              { name: 'Failures', type: 'long' },
            ],
            [['mqtt_ingest', 1440, 37]],
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
            [
              [
                'mqtt_ingest',
                'Error',
                'password authentication failed; password=hunter2',
                37,
                '2026-11-26T11:00:00Z',
              ],
            ],
          ),
    );
    const clients = createAzureClients({
      credential: standinCredential(standin.token),
      subscriptionId: '11111111-2222-3333-4444-555555555555',
      logsEndpoint: standin.logsUrl,
      ca: standin.ca,
      maxRetries: 0,
    });
    const logs = createFunctionLogsSource(clients.logs, {
      workspaceId: '63613592-b6f7-4c3d-a390-22ba13102111',
      functionApp: 'mqtt-saas-func',
    });
    const [r] = await runChecks([functionErrorsCheck(logs)], { now: () => NOW });
    expect(r!.status).toBe('fail');
    expect(r!.summary).toBe('failing: mqtt_ingest (37)');
    expect(r!.evidence.join('\n')).toContain(
      '37x mqtt_ingest Error (last 2026-11-26T11:00:00.000Z): password authentication failed; password=***',
    );
    expect(JSON.stringify(r)).not.toContain('hunter2');
    const bodies = standin.requests.map((q) => q.body as { timespan: string });
    expect(bodies.map((b) => b.timespan)).toEqual([
      '2026-11-25T12:00:00.000Z/2026-11-26T12:00:00.000Z',
      '2026-11-25T12:00:00.000Z/2026-11-26T12:00:00.000Z',
    ]);
  });
});
