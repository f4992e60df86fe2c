import type { Check, CheckOutcome } from './check.js';
import { runChecks } from './run-checks.js';

const check = (id: string, run: Check['run']): Check => ({
  id,
  title: `check ${id}`,
  severity: 'high',
  playbook: null,
  run,
});
const ok = (summary: string): Promise<CheckOutcome> => Promise.resolve({ status: 'ok', summary });

test('a check that throws is an error result and the next check still runs', async () => {
  const results = await runChecks([
    check('a', () => ok('fine')),
    check('b', () => Promise.reject(new Error('database unreachable'))),
    check('c', () => ok('also fine')),
  ]);
  expect(results.map((r) => [r.id, r.status])).toEqual([
    ['a', 'ok'],
    ['b', 'error'],
    ['c', 'ok'],
  ]);
  expect(results[1]!.summary).toBe('the check itself failed: database unreachable');
  expect(results[1]!.fingerprint).toBe('b');
});

test('a check past its budget is an error and sees its signal aborted', async () => {
  let aborted = false;
  const results = await runChecks(
    [
      check('slow', ({ signal }) => {
        signal.addEventListener('abort', () => (aborted = true));
        return new Promise(() => undefined); // never answers
      }),
      check('next', () => ok('ran')),
    ],
    { timeoutMs: 50 },
  );
  expect(results.map((r) => r.status)).toEqual(['error', 'ok']);
  expect(results[0]!.summary).toMatch(/no result within 0.05 s/);
  expect(aborted).toBe(true);
});

test('results carry the outcome, defaults, timing from the injected clock, and progress events', async () => {
  let t = 1_000;
  const events: string[] = [];
  const [result] = await runChecks(
    [
      check('timed', async () => {
        t += 250;
        return {
          status: 'warn',
          summary: 'slow',
          metrics: { latency_ms: 250 },
          evidence: ['250 ms > 200 ms'],
        };
      }),
    ],
    {
      now: () => t,
      onProgress: (e) => events.push(e.phase === 'start' ? `start ${e.check.id}` : `done ${e.result.status}`),
    },
  );
  expect(result).toMatchObject({
    id: 'timed',
    status: 'warn',
    metrics: { latency_ms: 250 },
    evidence: ['250 ms > 200 ms'],
    fingerprint: 'timed',
    component: null,
    startedAt: new Date(1_000).toISOString(),
    durationMs: 250,
  });
  expect(events).toEqual(['start timed', 'done warn']);
});

test("a result carries the check's component (runbook.yaml's, set by the cadence plan), error or not", async () => {
  const results = await runChecks([
    { ...check('a', () => ok('fine')), component: 'ingest' },
    { ...check('b', () => Promise.reject(new Error('x'))), component: 'broker' },
  ]);
  expect(results.map((r) => r.component)).toEqual(['ingest', 'broker']);
});
