/**
 * A "top N" listing: the first `limit` rows of a ranked list as lines, then one line for all the
 * others, so a report never drops the rows after the N-th without saying how many and how much.
 */
export function topLines<T>(
  rows: readonly T[],
  limit: number,
  line: (row: T) => string,
  others: (rest: T[]) => string,
): string[] {
  const n = Math.max(0, Math.floor(limit));
  const rest = rows.slice(n);
  return [...rows.slice(0, n).map(line), ...(rest.length ? [others(rest)] : [])];
}

export function sumOf<T>(rows: readonly T[], value: (row: T) => number): number {
  return rows.reduce((total, row) => total + value(row), 0);
}
