import type { Check, CheckOutcome } from './check.js';
import { checkProgress } from './progress.js';
import { runChecks } from './run-checks.js';

const check = (id: string, run: () => Promise<CheckOutcome>): Check => ({
  id,
  title: `check ${id}`,
  severity: 'low',
  playbook: null,
  run,
});
const after = (ms: number, outcome: CheckOutcome) =>
  new Promise<CheckOutcome>((resolve) => setTimeout(() => resolve(outcome), ms));

test('one line per check, when it has its result', async () => {
  const lines: string[] = [];
  let t = 0;
  const checks = [
    check('daily.a', async () => ({ status: 'ok', summary: 'fine' })),
    check('daily.b', async () => {
      t += 41;
      return { status: 'warn', summary: 'hm' };
    }),
    check('daily.c', () => Promise.reject(new Error('boom'))),
  ];
  await runChecks(checks, { now: () => t, onProgress: checkProgress(checks.length, (l) => lines.push(l)) });
  expect(lines).toEqual([
    '[1/3] daily.a: ok (0 ms)',
    '[2/3] daily.b: warn (41 ms)',
    '[3/3] daily.c: error (0 ms)',
  ]);
});

test('a check still running after slowAfterMs gets one more line before its result', async () => {
  const lines: string[] = [];
  const checks = [
    check('weekly.restore-test', () => after(120, { status: 'ok', summary: 'restored' })),
    check('weekly.quick', async () => ({ status: 'ok', summary: 'fine' })),
  ];
  await runChecks(checks, {
    now: () => 0,
    onProgress: checkProgress(checks.length, (l) => lines.push(l), { slowAfterMs: 30 }),
  });
  expect(lines).toEqual([
    '[1/2] weekly.restore-test: still running after 0.03 s ...',
    '[1/2] weekly.restore-test: ok (0 ms)',
    '[2/2] weekly.quick: ok (0 ms)',
  ]);
});
