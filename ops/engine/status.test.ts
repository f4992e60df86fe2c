import { atLeast, CHECK_STATUSES, STATUSES_WORST_FIRST, statusRank, worstStatus } from './status.js';
import { SEVERITIES, severityRank } from './severity.js';

test('statuses rank skipped < ok < warn < error < fail', () => {
  expect([...CHECK_STATUSES].sort((a, b) => statusRank(a) - statusRank(b))).toEqual([
    'skipped',
    'ok',
    'warn',
    'error',
    'fail',
  ]);
  expect(STATUSES_WORST_FIRST).toEqual(['fail', 'error', 'warn', 'ok', 'skipped']);
});

test('the worst of a list, with a value for an empty one', () => {
  expect(worstStatus(['ok', 'warn', 'ok'], 'ok')).toBe('warn');
  expect(worstStatus(['error', 'fail', 'skipped'], 'ok')).toBe('fail');
  expect(worstStatus(['skipped'], 'ok')).toBe('skipped');
  expect(worstStatus([], 'skipped')).toBe('skipped');
  expect(worstStatus(new Set(['ok', 'warn'] as const).values(), 'ok')).toBe('warn');
});

test('atLeast: error counts as bad as a failure threshold of error, warn does not', () => {
  expect(atLeast('fail', 'error')).toBe(true);
  expect(atLeast('error', 'error')).toBe(true);
  expect(atLeast('warn', 'error')).toBe(false);
  expect(atLeast('warn', 'warn')).toBe(true);
  expect(atLeast('skipped', 'ok')).toBe(false);
});

test('severities rank low < medium < high < critical', () => {
  expect(SEVERITIES.map(severityRank)).toEqual([0, 1, 2, 3]);
  expect(severityRank('critical')).toBeGreaterThan(severityRank('high'));
});
