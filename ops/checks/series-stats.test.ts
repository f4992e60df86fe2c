import { mean, percentile, round, slope } from './series-stats.js';

test('percentile is nearest-rank', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => 100 - i); // 100..1, unsorted on purpose
  expect(percentile(hundred, 95)).toBe(95);
  expect(percentile(hundred, 100)).toBe(100);
  expect(percentile([5, 1, 3], 50)).toBe(3);
  expect(percentile([7], 95)).toBe(7);
  expect(percentile([], 95)).toBeNull();
});

test('slope is the least-squares line through the points', () => {
  expect(slope([0, 1, 2, 3].map((x) => ({ x, y: 144 - 6 * x })))).toBeCloseTo(-6);
  expect(
    slope([
      { x: 0, y: 1 },
      { x: 1, y: 3 },
      { x: 2, y: 2 },
    ]),
  ).toBeCloseTo(0.5);
  expect(slope([{ x: 1, y: 1 }])).toBeNull();
  expect(
    slope([
      { x: 1, y: 1 },
      { x: 1, y: 2 },
    ]),
  ).toBeNull();
});

test('mean and round', () => {
  expect(mean([1, 2, 6])).toBe(3);
  expect(mean([])).toBeNull();
  expect(round(1.2345)).toBe(1.23);
  expect(round(2.71828, 3)).toBe(2.718);
});
