import { runChecks } from '../engine/run-checks.js';
import type { BridgeStatusRow } from '../sources/bridge-status.js';
import { bridgeBacklogCheck, type BridgeBacklogOptions } from './bridge-backlog.js';

const now = Date.parse('2026-11-27T12:00:00Z');
const row = (
  over: Partial<Omit<BridgeStatusRow, 'receivedAt'>> & { receivedAt: string },
): BridgeStatusRow => ({
  bridgeId: 'bridge-vm1',
  pending: 0,
  oldestPendingAgeMs: 0,
  sentAt: new Date(over.receivedAt),
  ...over,
  receivedAt: new Date(over.receivedAt),
});

async function run(rows: BridgeStatusRow[], options?: Partial<BridgeBacklogOptions>) {
  const [r] = await runChecks([bridgeBacklogCheck({ read: async () => rows }, options)], { now: () => now });
  return r!;
}

test('a fresh report with nothing old pending: ok, naming the bridge, its backlog and the report time', async () => {
  const r = await run([row({ receivedAt: '2026-11-27T11:59:48Z', pending: 3, oldestPendingAgeMs: 40 })]);
  expect(r).toMatchObject({ id: 'daily.bridge-backlog', severity: 'critical', status: 'ok' });
  expect(r.summary).toBe(
    'bridge-vm1: 3 pending, oldest 0 s, last report 2026-11-27T11:59:48.000Z (12 s ago)',
  );
  expect(r.metrics).toEqual({ bridges: 1, pending: 3, oldest_pending_age_s: 0, report_age_s: 12 });
});

test('a backlog older than a minute warns, older than five minutes fails with what to look at', async () => {
  const warn = await run([
    row({ receivedAt: '2026-11-27T11:59:30Z', pending: 120, oldestPendingAgeMs: 61_000 }),
  ]);
  expect(warn.status).toBe('warn');
  expect(warn.summary).toBe(
    'bridge-vm1: oldest unacknowledged message 61 s old (warn at 60), 120 pending, last report 2026-11-27T11:59:30.000Z (30 s ago)',
  );

  const fail = await run([
    row({ receivedAt: '2026-11-27T11:59:30Z', pending: 4200, oldestPendingAgeMs: 690_000 }),
  ]);
  expect(fail.status).toBe('fail');
  expect(fail.summary).toBe(
    'bridge-vm1: oldest unacknowledged message 690 s old (limit 300), 4200 pending, last report 2026-11-27T11:59:30.000Z (30 s ago)',
  );
  expect(fail.evidence).toEqual([
    'bridge-vm1: 4200 pending, oldest unacknowledged 690 s, at its report sent 2026-11-27T11:59:30.000Z (bridge clock), received 2026-11-27T11:59:30.000Z (ingest clock)',
    expect.stringMatching(/^bridge-vm1: ingest is refusing its batches .* lastError/),
  ]);
  // Exactly at the limit is not over it; the limits come from runbook.yaml.
  expect(
    (await run([row({ receivedAt: '2026-11-27T11:59:30Z', pending: 1, oldestPendingAgeMs: 300_000 })]))
      .status,
  ).toBe('warn');
  expect(
    (
      await run([row({ receivedAt: '2026-11-27T11:59:30Z', pending: 1, oldestPendingAgeMs: 690_000 })], {
        failAgeSeconds: 900,
      })
    ).status,
  ).toBe('warn');
});

test('a bridge not heard for too long fails even if its last report was fine: it cannot reach ingest', async () => {
  const r = await run([row({ receivedAt: '2026-11-27T11:53:00Z', pending: 2, oldestPendingAgeMs: 1_000 })]);
  expect(r.status).toBe('fail');
  expect(r.summary).toBe(
    'bridge-vm1: no report for 420 s (limit 300): the bridge is down or cannot reach mqtt_ingest; ' +
      'its last report, at 2026-11-27T11:53:00.000Z, said 2 pending, oldest 1 s',
  );
  expect(r.evidence[1]).toMatch(/systemctl status.*401\/403: the function key/);
  expect((await run([row({ receivedAt: '2026-11-27T11:53:00Z' })], { staleReportSeconds: 600 })).status).toBe(
    'ok',
  );
});

test('no bridge ever reported: fail', async () => {
  const r = await run([]);
  expect(r.status).toBe('fail');
  expect(r.summary).toMatch(/^no bridge has ever reported its backlog to mqtt_ingest/);
});

test('several bridges: the worst decides and is named; every bridge is in the evidence, clock skew too', async () => {
  const r = await run([
    row({ bridgeId: 'bridge-a', receivedAt: '2026-11-27T11:59:50Z' }),
    row({
      bridgeId: 'bridge-b',
      receivedAt: '2026-11-27T11:59:50Z',
      sentAt: new Date('2026-11-27T11:57:50Z'),
      pending: 9,
      oldestPendingAgeMs: 75_000,
    }),
  ]);
  expect(r.status).toBe('warn');
  expect(r.summary).toMatch(/^bridge-b: oldest unacknowledged message 75 s old/);
  expect(r.evidence).toEqual([
    expect.stringMatching(/^bridge-a: 0 pending/),
    expect.stringMatching(/^bridge-b: 9 pending/),
    "bridge-b: its clock is 120 s behind ingest's",
  ]);
  expect(r.metrics).toEqual({ bridges: 2, pending: 9, oldest_pending_age_s: 75, report_age_s: 10 });
});
