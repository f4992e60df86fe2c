import { runChecks } from '../engine/run-checks.js';
import type { DeadLetterCount, PlatformDbSource } from '../sources/platform-db.js';
import { deadLettersCheck } from './dead-letters.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');

async function run(rejects: DeadLetterCount[], top?: number) {
  const source = {
    deadLetters: async () => rejects,
    tenantUsage: async () => [{ tenant: 'acme', messages: 10_000, bytes: 1, devices: 1 }],
  } as Pick<PlatformDbSource, 'deadLetters' | 'tenantUsage'> as PlatformDbSource;
  const [result] = await runChecks([deadLettersCheck(source, { top })], { now: () => NOW });
  return result!;
}

test('the groups past the top N are counted in one line, not dropped', async () => {
  const rejects = [
    { reason: 'invalid_json', tenant: 'acme', count: 30 },
    { reason: 'unknown_device', tenant: null, count: 10 },
    { reason: 'ts_too_old', tenant: 'acme', count: 4 },
    { reason: 'too_large', tenant: 'globex', count: 2 },
    { reason: 'invalid_json', tenant: 'globex', count: 1 },
  ];
  const result = await run(rejects, 2);
  expect(result.evidence).toEqual([
    '30 x invalid_json (acme)',
    '10 x unknown_device (no tenant: unknown device or topic)',
    '7 x in 3 other reason/tenant groups',
  ]);
  expect(result.metrics['rejected']).toBe(47);
  expect((await run(rejects.slice(0, 3), 2)).evidence.at(-1)).toBe('4 x in 1 other reason/tenant group');
  expect(await run(rejects.slice(0, 2), 2).then((r) => r.evidence)).toHaveLength(2);
});
