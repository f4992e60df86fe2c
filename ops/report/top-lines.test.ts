import { sumOf, topLines } from './top-lines.js';

const rows = [5, 4, 3, 2, 1].map((n) => ({ name: `t${n}`, n }));
const line = (r: { name: string; n: number }) => `${r.name}: ${r.n}`;
const others = (rest: { n: number }[]) => `${rest.length} others: ${sumOf(rest, (r) => r.n)}`;

test('the rows past the limit become one line that says how many and how much', () => {
  expect(topLines(rows, 3, line, others)).toEqual(['t5: 5', 't4: 4', 't3: 3', '2 others: 3']);
});

test('no others line when everything fits; a limit of 0 leaves only the others', () => {
  expect(topLines(rows, 5, line, others)).toEqual(['t5: 5', 't4: 4', 't3: 3', 't2: 2', 't1: 1']);
  expect(topLines(rows, 9, line, others)).toHaveLength(5);
  expect(topLines(rows, 0, line, others)).toEqual(['5 others: 15']);
  expect(topLines([], 3, line, others)).toEqual([]);
});
