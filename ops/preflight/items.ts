/**
 * What `ops preflight` reports: one item per line, each with its status and what to do when it is
 * not ok. `fail` makes the environment not ready (exit 1); `warn` is said and does not fail it;
 * `skip` says why an item does not apply (no Azure in the sandbox).
 */

export const ITEM_STATUSES = ['ok', 'warn', 'fail', 'skip'] as const;
export type ItemStatus = (typeof ITEM_STATUSES)[number];

export interface PreflightItem {
  /** What is checked, a few words: `azure login`, `subscription`, `secrets`, `name infra.names.publicIp`. */
  item: string;
  status: ItemStatus;
  /** What was found and, when it is not ok, what to do. One line; never a secret's value. */
  detail: string;
}

const WIDTH = Math.max(...ITEM_STATUSES.map((s) => s.length)) + 2;

/** `fail  subscription: ...`: the status first, so a column of them reads at a glance. */
export function formatItem(item: PreflightItem): string {
  return `${item.status.padEnd(WIDTH)}${item.item}: ${item.detail.replace(/\s*\n\s*/g, ' ')}`;
}

/** The closing line: ready or not, with the counts. */
export function formatVerdict(env: string, items: readonly PreflightItem[]): string {
  const count = (s: ItemStatus) => items.filter((i) => i.status === s).length;
  const counts = ITEM_STATUSES.filter((s) => count(s) > 0).map((s) => `${count(s)} ${s}`);
  return `${isReady(items) ? 'ready' : 'NOT ready'}: environment ${env} (${counts.join(', ') || 'nothing checked'})`;
}

export const isReady = (items: readonly PreflightItem[]): boolean => items.every((i) => i.status !== 'fail');
