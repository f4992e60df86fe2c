/** The preflight's lines: status first, one line each, and the verdict. */
import { formatItem, formatVerdict, isReady, type PreflightItem } from './items.js';

const items: PreflightItem[] = [
  { item: 'azure login', status: 'ok', detail: 'AzureCliCredential answered' },
  { item: 'subscription', status: 'warn', detail: '"Prod" is PastDue: pay it' },
  { item: 'names', status: 'skip', detail: 'no infra.naming' },
];

test('one line per item, the status in a column, a multi-line detail folded into the line', () => {
  expect(items.map(formatItem)).toEqual([
    'ok    azure login: AzureCliCredential answered',
    'warn  subscription: "Prod" is PastDue: pay it',
    'skip  names: no infra.naming',
  ]);
  expect(formatItem({ item: 'secrets', status: 'fail', detail: 'two\n  lines' })).toBe(
    'fail  secrets: two lines',
  );
});

test('warnings and skipped items leave the environment ready; a failed one does not', () => {
  expect(isReady(items)).toBe(true);
  expect(formatVerdict('prod', items)).toBe('ready: environment prod (1 ok, 1 warn, 1 skip)');
  const failed = [...items, { item: 'secrets', status: 'fail', detail: 'x' } as const];
  expect(isReady(failed)).toBe(false);
  expect(formatVerdict('prod', failed)).toBe('NOT ready: environment prod (1 ok, 1 warn, 1 fail, 1 skip)');
});
