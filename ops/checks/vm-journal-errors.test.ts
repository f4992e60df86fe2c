import { readFileSync } from 'node:fs';
import { runChecks } from '../engine/run-checks.js';
import { redactSecrets } from '../report/redact-secrets.js';
import type { JournalEntry, JournalReading } from '../sources/ssh-host.js';
import { parseJournalJson } from '../sources/ssh-parsers.js';
import { messageShape, vmJournalErrorsCheck, type VmJournalErrorsOptions } from './vm-journal-errors.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const fixture = (name: string) =>
  readFileSync(new URL(`../sources/fixtures/journal/${name}`, import.meta.url), 'utf8');

const entry = (unit: string, priority: number, message: string, hoursAgo = 1): JournalEntry => ({
  unit,
  priority,
  message,
  time: new Date(NOW - hoursAgo * 3_600_000),
});

async function run(reading: JournalReading, options?: VmJournalErrorsOptions) {
  const queries: unknown[] = [];
  const check = vmJournalErrorsCheck(
    {
      journalErrors: async (query) => {
        queries.push(query);
        return reading;
      },
    },
    options,
  );
  const [result] = await runChecks([check], { now: () => NOW });
  return { result: result!, queries };
}

test('recorded journals: the broker core dump fails, the bridge errors warn; evidence is grouped', async () => {
  const entries = [
    ...parseJournalJson(fixture('mosquitto.priority.jsonl'), 'mosquitto'),
    ...parseJournalJson(fixture('mqtt-bridge.priority.jsonl'), 'mqtt-bridge'),
    ...parseJournalJson(fixture('mqtt-bridge.json-level.jsonl'), 'mqtt-bridge'),
  ];
  const { result, queries } = await run({ entries, truncatedUnits: [] });
  expect(queries).toEqual([{ units: ['mosquitto', 'mqtt-bridge'], sinceHours: 24 }]);
  expect(result).toMatchObject({ id: 'daily.vm-errors', status: 'fail', playbook: 'broker-down' });
  expect(result.fingerprint).toBe('daily.vm-errors:mosquitto');
  expect(result.evidence).toEqual([
    'mosquitto: 3 errors (1 critical), 3 warnings in 24 h',
    '  1x [crit] Process 812 (mosquitto) of user 108 dumped core. (last 2026-11-25T16:00Z)',
    '  2x [err] Error: Unable to open pwfile "/etc/mosquitto/passwd". (last 2026-11-26T10:59Z)',
    "  2x [warning] mosquitto.service: Failed with result 'exit-code'. (last 2026-11-26T11:00Z)",
    '  1x [warning] Warning: Client \uFFFD\uFFFD-42 sent a CONNECT with an invalid client id. (last 2026-11-26T07:00Z)',
    'mqtt-bridge: 7 errors, 3 warnings in 24 h',
    '  6x [err] journal_write_failed {"error":"ENOSPC: no space left on device, write","topic":"t/acme/dev-1/telemetry","policy":"message not acknowledged; the broker redelivers it after the reconnect the bridge f...' +
      ' (last 2026-11-26T09:54Z)',
    '  1x [err] bridge_start_failed {"error":"connect to mqtt://svc-bridge:***@127.0.0.1:1883 refused"} (last 2026-11-26T09:59Z)',
    "  1x [warning] mqtt-bridge.service: Failed with result 'exit-code'. (last 2026-11-26T10:00Z)",
    '  1x [warning] ingest_unavailable {"error":"HTTP 503 from https://func-mqtt.azurewebsites.net/api/mqtt_ingest?code=***","retryInMs":2000,"firstSeq":1042,"policy":"retrying with backoff until ingest accepts; messa...' +
      ' (last 2026-11-26T11:30Z)',
    '  1x [warning] mqtt_error {"error":"Connection refused: Not authorized","token":"***"} (last 2026-11-26T08:00Z)',
  ]);
});

test('no errors is ok, and metrics say so per unit', async () => {
  const { result } = await run({
    entries: [entry('mosquitto', 4, 'Warning: something minor')],
    truncatedUnits: [],
  });
  expect(result.status).toBe('ok');
  expect(result.summary).toBe('no errors from mosquitto, mqtt-bridge in 24 h');
  expect(result.metrics).toEqual({
    mosquitto_errors: 0,
    mosquitto_critical: 0,
    mosquitto_warnings: 1,
    mqtt_bridge_errors: 0,
    mqtt_bridge_critical: 0,
    mqtt_bridge_warnings: 0,
    errors_total: 0,
  });
  expect(result.fingerprint).toBe('daily.vm-errors');
});

test.each([
  [[entry('mqtt-bridge', 3, 'x')], 'warn', 'daily.vm-errors:mqtt-bridge'],
  [Array.from({ length: 3 }, () => entry('mqtt-bridge', 3, 'x')), 'fail', 'daily.vm-errors:mqtt-bridge'],
  [
    [entry('mosquitto', 0, 'x'), entry('mqtt-bridge', 1, 'y')],
    'fail',
    'daily.vm-errors:mosquitto+mqtt-bridge',
  ],
  [Array.from({ length: 4 }, () => entry('mosquitto', 4, 'flood')), 'warn', 'daily.vm-errors:mosquitto'],
  [[entry('mosquitto', 3, 'too old', 25)], 'ok', 'daily.vm-errors'],
] as const)('thresholds: %# is %s', async (entries, status, fingerprint) => {
  const { result } = await run(
    { entries: [...entries], truncatedUnits: [] },
    { warnErrors: 1, failErrors: 3, warnWarnings: 4 },
  );
  expect(result.status).toBe(status);
  expect(result.fingerprint).toBe(fingerprint);
});

test('messages past topMessages are counted in one line per unit, not dropped', async () => {
  const entries = [
    ...Array.from({ length: 3 }, () => entry('mqtt-bridge', 3, 'Error: disk full')),
    ...Array.from({ length: 2 }, () => entry('mqtt-bridge', 3, 'Error: ingest refused the batch')),
    entry('mqtt-bridge', 4, 'Warning: slow ack'),
  ];
  const { result } = await run({ entries, truncatedUnits: [] }, { topMessages: 1 });
  expect(result.evidence).toEqual([
    'mosquitto: 0 errors, 0 warnings in 24 h',
    'mqtt-bridge: 5 errors, 1 warnings in 24 h',
    '  3x [err] Error: disk full (last 2026-11-26T11:00Z)',
    '  3x in 2 other messages, not shown',
  ]);
});

test('a flood that was cut short is reported as a lower bound', async () => {
  const entries = Array.from({ length: 60 }, (_, i) => entry('mosquitto', 3, `Error: socket ${i} closed`));
  const { result } = await run({ entries, truncatedUnits: ['mosquitto'] });
  expect(result.status).toBe('fail');
  expect(result.summary).toBe('mosquitto >= 60 errors, >= 0 warnings');
  expect(result.evidence[0]).toMatch(/log flood: only the newest entries were read/);
  expect(result.evidence[1]).toMatch(/^ {2}60x \[err\] Error: socket \d+ closed/);
});

test('options are validated early', () => {
  const source = { journalErrors: async () => ({ entries: [], truncatedUnits: [] }) };
  expect(() => vmJournalErrorsCheck(source, { units: [] })).toThrow(/at least one systemd unit/);
  expect(() => vmJournalErrorsCheck(source, { warnErrors: 10, failErrors: 5 })).toThrow(/must not exceed/);
  expect(() => vmJournalErrorsCheck(source, { windowHours: 0 })).toThrow(/windowHours must be > 0/);
});

describe('redactSecrets', () => {
  it.each([
    ['connect mqtt://bridge:s3cr3t-pw@10.0.0.4:1883', 'connect mqtt://bridge:***@10.0.0.4:1883'],
    ['GET /api/x?code=abcDEF123==&name=a', 'GET /api/x?code=***&name=a'],
    ['password=hunter2 user=ops', 'password=*** user=ops'],
    ['{"clientSecret":"abc123","n":1}', '{"clientSecret":"***","n":1}'],
    ['Authorization: Bearer abcdef0123456789', 'Authorization: Bearer ***'],
    [
      'AccountName=x;AccountKey=Zm9vYmFy;EndpointSuffix=core',
      'AccountName=x;AccountKey=***;EndpointSuffix=core',
    ],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcHMifQ.c2ln here', 'jwt *** here'],
    ['-----BEGIN OPENSSH PRIVATE KEY-----\nb3Blbn\n-----END OPENSSH PRIVATE KEY----- ok', '*** ok'],
    ['Error: Address already in use', 'Error: Address already in use'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });
});

test('message shapes fold what varies between occurrences', () => {
  expect(messageShape('Client 3f2a9c1be8d7 from 10.0.0.7:51234 timed out at 2026-11-26T10:00:00Z')).toBe(
    messageShape('Client 99aa00bbccdd from 10.0.0.9:40000 timed out at 2026-11-26T11:30:12Z'),
  );
  expect(messageShape('Error: A')).not.toBe(messageShape('Error: B'));
});
