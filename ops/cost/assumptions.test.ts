import {
  ASSUMPTION_SOURCES,
  type Assumptions,
  checkAssumptions,
  DEFAULT_ASSUMPTIONS,
} from './assumptions.js';

test('every assumption says where it comes from: measured or read here (M), estimated (E), published (P)', () => {
  expect(Object.keys(ASSUMPTION_SOURCES).sort()).toEqual(Object.keys(DEFAULT_ASSUMPTIONS).sort());
  for (const [name, source] of Object.entries(ASSUMPTION_SOURCES))
    expect([name, /^(M|E|P|M\/E): /.test(source)]).toEqual([name, true]);
});

test('the defaults pass; the database bytes of a reading add up to the measured 360 B', () => {
  expect(() => checkAssumptions(DEFAULT_ASSUMPTIONS)).not.toThrow();
  // 360 B measured for the simulator's 100-byte payload.
  expect(DEFAULT_ASSUMPTIONS.readingOverheadBytes + 100).toBe(360);
});

test.each<[Partial<Assumptions>, string]>([
  [{ timerSeconds: -1 }, 'cost model: assumption timerSeconds must be a non-negative number (got -1)'],
  [
    { baseDatabaseMb: Number.NaN },
    'cost model: assumption baseDatabaseMb must be a non-negative number (got NaN)',
  ],
  [
    { archiveTier: 'archive' as 'cool' },
    'cost model: assumption archiveTier must be hot or cool (got archive)',
  ],
  [{ bridgeFsyncIntervalMs: 0 }, 'cost model: assumption bridgeFsyncIntervalMs must be positive'],
  [
    { vmSizes: { Standard_B1s: { vcpus: 1, memoryGiB: -1, baselinePercent: 10 } } },
    'cost model: assumption vmSizes.Standard_B1s.memoryGiB must be a non-negative number (got -1)',
  ],
])('refuses %p', (over, message) => {
  expect(() => checkAssumptions({ ...DEFAULT_ASSUMPTIONS, ...over })).toThrow(message);
});
