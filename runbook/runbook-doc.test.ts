/**
 * RUNBOOK.md is the contract between the operator's runbook and this repository: every item has
 * a status, and every path it names exists (documentation that matches the code).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseRunbook } from './runbook-md.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const STATUSES = ['automated', 'planned', 'manual', 'info'] as const;

const items = parseRunbook(readFileSync(join(here, 'RUNBOOK.md'), 'utf8'));

test("every section of the operator's runbook (1-8) has its items", () => {
  const sections = new Set(items.map((i) => i.section));
  expect([...sections].sort()).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']);
  // The original runbook's cadence and go-live lists, item for item.
  expect(items.filter((i) => i.id.startsWith('golive.'))).toHaveLength(7);
  expect(items.filter((i) => /^(daily|weekly|monthly)\./.test(i.id))).toHaveLength(9);
});

test('ids are unique', () => {
  const ids = items.map((i) => i.id);
  expect(ids.filter((id, n) => ids.indexOf(id) !== n)).toEqual([]);
});

test.each(items.map((i) => [i.id, i] as const))('%s has a status and says where', (_id, item) => {
  expect(STATUSES).toContain(item.status);
  expect(item.item.length).toBeGreaterThan(5);
  expect(item.where.length).toBeGreaterThan(3);
  if (item.status === 'planned') expect(item.where).toMatch(/#\d+|not filed/);
  if (item.status === 'automated') expect(pathsIn(item.where).length).toBeGreaterThan(0);
});

test('every path RUNBOOK.md names exists', () => {
  const missing = items.flatMap((i) =>
    pathsIn(i.where)
      .filter((p) => !existsSync(join(root, p)))
      .map((p) => `${i.id}: ${p}`),
  );
  expect(missing).toEqual([]);
});

/** Backticked tokens that are repository paths (they contain a slash and no spaces). */
function pathsIn(text: string): string[] {
  return [...text.matchAll(/`([^`\s]+)`/g)]
    .map((m) => m[1]!)
    .filter((t) => t.includes('/') && !t.startsWith('/'));
}
