import { addDays, keepFrom, MIN_ARCHIVE_AGE_DAYS, planDay, type TenantOnDay } from './plan-day.js';

const today = '2026-12-01';
const tenant = (id: string, retentionDays: number | null, held = false): TenantOnDay => ({
  tenantId: id,
  rows: 10,
  folder: id,
  retentionDays,
  held,
});
const actions = (p: ReturnType<typeof planDay>) =>
  Object.fromEntries(p.tenants.map((t) => [t.tenantId, t.action]));

test('days and retention: a day is past a retention of N days once it ended more than N days ago', () => {
  expect(addDays('2026-03-01', -1)).toBe('2026-02-28');
  expect(keepFrom(today, 30)).toBe('2026-11-01');
  // Never within ingest's backfill window, whatever the retention says.
  expect(MIN_ARCHIVE_AGE_DAYS).toBe(8);
  expect(keepFrom(today, 3)).toBe('2026-11-23');
});

test('every tenant of the day past its retention: archived, and the partition dropped', () => {
  const plan = planDay({
    day: '2026-10-31',
    today,
    mode: 'enabled',
    tenants: [tenant('a', 30), tenant('b', 7)],
  });
  expect(actions(plan)).toEqual({ a: 'archive', b: 'archive' });
  expect(plan.removal).toBe('drop');
  expect(planDay({ day: '2026-11-01', today, mode: 'enabled', tenants: [tenant('a', 30)] }).removal).toBe(
    'none',
  );
});

test('tenants of one day with different retention: only the expired ones leave, row by row', () => {
  const plan = planDay({
    day: '2026-10-15',
    today,
    mode: 'enabled',
    tenants: [tenant('a', 30), tenant('b', 90)],
  });
  expect(actions(plan)).toEqual({ a: 'archive', b: 'keep' });
  expect(plan.removal).toBe('delete');
  expect(plan.tenants[1]!.why).toBe('within retention (90 days)');
});

test('held (restored) rows and tenants of unknown retention stay', () => {
  const plan = planDay({
    day: '2026-09-01',
    today,
    mode: 'enabled',
    tenants: [tenant('a', 30, true), tenant('gone', null), tenant('c', 30)],
  });
  expect(actions(plan)).toEqual({ a: 'held', gone: 'keep', c: 'archive' });
  expect(plan.removal).toBe('delete');
  // Held only matters past retention: within it the rows are simply kept.
  expect(
    actions(planDay({ day: '2026-11-20', today, mode: 'enabled', tenants: [tenant('a', 30, true)] })),
  ).toEqual({ a: 'keep' });
  expect(
    planDay({ day: '2026-09-01', today, mode: 'enabled', tenants: [tenant('a', 30, true)] }).removal,
  ).toBe('none');
  expect(plan.tenants[1]!.why).toMatch(/no retention known/);
});

test('purging takes the same rows out with no copy; an empty old partition is dropped', () => {
  const plan = planDay({
    day: '2026-10-01',
    today,
    mode: 'purge-without-archive',
    tenants: [tenant('a', 30)],
  });
  expect(actions(plan)).toEqual({ a: 'purge' });
  expect(planDay({ day: '2026-10-01', today, mode: 'enabled', tenants: [] }).removal).toBe('drop');
  expect(planDay({ day: '2026-11-25', today, mode: 'enabled', tenants: [] }).removal).toBe('none');
});
