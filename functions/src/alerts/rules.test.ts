import type pg from 'pg';
import { NO_RULES, RuleCache, type TenantRules } from './rules.js';

const pool = {} as pg.Pool; // the injected loader never touches it

function countingLoader() {
  const calls: string[][] = [];
  let release: (() => void) | null = null;
  const gate = { hold: false };
  const load = async (_pool: pg.Pool, ids: readonly string[]) => {
    calls.push([...ids]);
    if (gate.hold) await new Promise<void>((resolve) => (release = resolve));
    const out = new Map<string, TenantRules>();
    for (const id of ids) out.set(id, id === 'with-rules' ? { threshold: [], noData: [] } : NO_RULES);
    return out;
  };
  return { calls, load, gate, release: () => release?.() };
}

test('one load per miss for all missing tenants, none while fresh, again after the TTL', async () => {
  let now = 1_000;
  const loader = countingLoader();
  const cache = new RuleCache({ ttlMs: 5_000, clock: () => now, load: loader.load });

  await cache.get(pool, ['a', 'b', 'a']);
  expect(loader.calls).toEqual([['a', 'b']]);
  now += 4_999;
  await cache.get(pool, ['a', 'b']);
  expect(loader.calls).toHaveLength(1);
  await cache.get(pool, ['a', 'c']);
  expect(loader.calls).toEqual([['a', 'b'], ['c']]);
  now += 1;
  const rules = await cache.get(pool, ['a', 'b', 'c']);
  expect(loader.calls[2]).toEqual(['a', 'b']);
  expect(rules.get('a')).toBe(NO_RULES);
  cache.invalidate('c');
  await cache.get(pool, ['c']);
  expect(loader.calls[3]).toEqual(['c']);
});

test('concurrent misses for the same tenant share one load', async () => {
  const loader = countingLoader();
  loader.gate.hold = true;
  const cache = new RuleCache({ load: loader.load });
  const first = cache.get(pool, ['with-rules']);
  const second = cache.get(pool, ['with-rules']);
  await new Promise((r) => setImmediate(r));
  loader.release();
  const [a, b] = await Promise.all([first, second]);
  expect(loader.calls).toHaveLength(1);
  expect(a.get('with-rules')).toBe(b.get('with-rules'));
});
