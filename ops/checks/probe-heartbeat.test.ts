import { runChecks } from '../engine/run-checks.js';
import type { ProbeStateRow } from '../sources/probe-state.js';
import { probeHeartbeatCheck } from './probe-heartbeat.js';

const now = Date.parse('2026-11-27T12:00:00Z');
const row = (checkId: string, lastAt: string, state: 'up' | 'down' = 'up'): ProbeStateRow => ({
  checkId,
  state,
  status: state === 'up' ? 'ok' : 'fail',
  since: new Date('2026-11-27T11:00:00Z'),
  lastAt: new Date(lastAt),
  summary: state === 'up' ? 'fine' : 'connect failed: ECONNREFUSED',
});

async function run(rows: ProbeStateRow[], staleMinutes?: number) {
  const [r] = await runChecks([probeHeartbeatCheck({ read: async () => rows }, { staleMinutes })], {
    now: () => now,
  });
  return r!;
}

test('fresh heartbeat: ok, naming what is down', async () => {
  const r = await run([
    row('daily.broker-uptime.tls', '2026-11-27T11:59:00Z', 'down'),
    row('daily.endpoints.dashboard', '2026-11-27T11:58:00Z'),
  ]);
  expect(r.status).toBe('ok');
  expect(r.summary).toBe('alive: last result 1 min ago, 2 checks, 1 down');
  expect(r.evidence[1]).toBe(
    'daily.broker-uptime.tls down since 2026-11-27T11:00:00.000Z: connect failed: ECONNREFUSED',
  );
});

test('stale heartbeat fails with its age; the limit is configurable', async () => {
  const rows = [row('daily.broker-uptime.tls', '2026-11-27T11:50:00Z')];
  const r = await run(rows);
  expect(r.status).toBe('fail');
  expect(r.summary).toBe('heartbeat stale: last result 10 min ago (limit 5)');
  expect((await run(rows, 15)).status).toBe('ok');
});

test('a probe that never ran fails and says what to look at', async () => {
  const r = await run([]);
  expect(r.status).toBe('fail');
  expect(r.summary).toMatch(/never recorded a result: is the uptime_probe function deployed/);
});
