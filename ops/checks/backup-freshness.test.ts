import { runChecks } from '../engine/run-checks.js';
import { BACKUP_FORMAT } from '../backup/metadata.js';
import type { BackupInfo } from '../backup/store.js';
import { backupFreshnessCheck } from './backup-freshness.js';

const NOW = Date.parse('2026-02-20T09:00:00Z');
const HOUR = 3_600_000;

function backup(hoursAgo: number, bytes: number, over: Partial<BackupInfo> = {}): BackupInfo {
  const at = new Date(NOW - hoursAgo * HOUR);
  return {
    name: `${at.toISOString().replace(/[-:.]/g, '')}.dump`,
    storedBytes: bytes,
    lastModified: at,
    metadata: {
      format: BACKUP_FORMAT,
      createdAt: at.toISOString(),
      sizeBytes: bytes,
      sha256: 'b'.repeat(64),
      schemaVersion: '20261126000004',
      rowCounts: {},
      pgDumpVersion: '15.20',
      serverVersion: '15.20',
      database: 'postgres',
    },
    ...over,
  };
}

async function run(list: BackupInfo[], options = {}) {
  const check = backupFreshnessCheck(
    { description: 'Azure blob acct/backups/production/', list: async () => list },
    options,
  );
  const [result] = await runChecks([check], { now: () => NOW });
  return result!;
}

test.each([
  ['fresh', [backup(30, 1_000_000), backup(6, 1_050_000)], {}, 'ok', /latest backup 6 h old, 1 MiB/],
  ['late', [backup(27, 1_000_000)], {}, 'warn', /27 h old \(more than 26 h\): the nightly run is late/],
  ['missed', [backup(51, 1_000_000)], {}, 'fail', /51 h old \(more than 50 h\)/],
  ['custom thresholds', [backup(13, 1_000_000)], { warnAgeHours: 12, failAgeHours: 24 }, 'warn', /13 h old/],
  ['none', [], {}, 'fail', /no backup in Azure blob acct\/backups\/production\//],
  ['empty', [backup(30, 1_000), backup(2, 0)], {}, 'fail', /latest backup is empty \(0 bytes\)/],
  [
    'shrunk',
    [backup(26, 1_000_000), backup(2, 400_000)],
    {},
    'fail',
    /shrank 60% since the previous backup \(more than 50%\)/,
  ],
  [
    'shrunk within limit',
    [backup(26, 1_000_000), backup(2, 400_000)],
    { maxSizeDropPercent: 70 },
    'ok',
    /2 h old/,
  ],
  [
    'no sha256',
    [backup(2, 10, { metadata: null, metadataProblem: 'metadata lacks sha256' })],
    {},
    'fail',
    /undescribed \(metadata lacks sha256\): no sha256 to trust it by/,
  ],
  [
    'truncated',
    [backup(2, 10, { storedBytes: 5 })],
    {},
    'fail',
    /stored 5 bytes but the dump had 10 \(truncated\?\)/,
  ],
] as const)('%s', async (_name, list, options, status, summary) => {
  const result = await run([...list], options);
  expect(result.id).toBe('daily.backup-freshness');
  expect(result.status).toBe(status);
  expect(result.summary).toMatch(summary);
});

test('reports age, size and change as metrics and charts recent sizes', async () => {
  const list = Array.from({ length: 20 }, (_, i) => backup(24 * (20 - i) - 20, 1_048_576 * (i + 1)));
  const result = await run(list);
  expect(result.status).toBe('ok');
  expect(result.metrics).toMatchObject({
    age_hours: 4,
    size_bytes: 20 * 1_048_576,
    backups: 20,
    size_change_pct: 5.3,
  });
  expect(result.charts[0]!.series[0]!.values).toHaveLength(14);
  expect(result.charts[0]!.series[0]!.values.at(-1)).toBe(20);
  expect(result.evidence.join('\n')).toMatch(/sha256 b{16}\.\.\./);
});

test('rejects nonsensical thresholds', () => {
  const store = { description: 'x', list: async () => [] };
  expect(() => backupFreshnessCheck(store, { warnAgeHours: 50, failAgeHours: 26 })).toThrow(
    /warnAgeHours < failAgeHours/,
  );
  expect(() => backupFreshnessCheck(store, { maxSizeDropPercent: 0 })).toThrow(/maxSizeDropPercent/);
});
