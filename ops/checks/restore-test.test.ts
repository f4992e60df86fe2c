import { runChecks } from '../engine/run-checks.js';
import { BACKUP_FORMAT } from '../backup/metadata.js';
import type { RestoreInspection, RestoreTestSource } from '../backup/restore.js';
import type { BackupInfo } from '../backup/store.js';
import { restoreTestCheck } from './restore-test.js';

const SHA = 'c'.repeat(64);
const BACKUP: BackupInfo = {
  name: '20260218T031500000Z.dump',
  storedBytes: 2_000_000,
  lastModified: new Date('2026-02-18T03:16:00Z'),
  metadata: {
    format: BACKUP_FORMAT,
    createdAt: '2026-02-18T03:15:00.000Z',
    sizeBytes: 2_000_000,
    sha256: SHA,
    schemaVersion: '20261126000004',
    rowCounts: { 'public.devices': 4, 'public.telemetry': 160, 'public.tenants': 2 },
    pgDumpVersion: '15.20',
    serverVersion: '15.20',
    database: 'postgres',
  },
};

function inspection(over: Partial<RestoreInspection> = {}): RestoreInspection {
  return {
    backup: BACKUP,
    downloadedSha256: SHA,
    downloadedBytes: 2_000_000,
    scratchDatabase: 'restore_test_20260220_abc123',
    restoreExitCode: 0,
    restoreErrors: [],
    toleratedErrors: [],
    schemaVersion: '20261126000004',
    rowCounts: { 'public.devices': 4, 'public.telemetry': 160, 'public.tenants': 2 },
    rls: [
      { table: 'public.devices', rlsEnabled: true, policies: 2, partition: false },
      { table: 'public.telemetry', rlsEnabled: true, policies: 1, partition: false },
      { table: 'public.telemetry_default', rlsEnabled: true, policies: 0, partition: true },
      { table: 'public.tenants', rlsEnabled: true, policies: 1, partition: false },
    ],
    timings: { downloadMs: 100, restoreMs: 900, verifyMs: 50, totalMs: 1_100 },
    ...over,
  };
}

async function run(source: Partial<RestoreTestSource>, options = {}) {
  const check = restoreTestCheck(
    {
      description: 'local directory /b -> scratch database on postgres://postgres@h/postgres',
      latest: async () => BACKUP,
      restore: async () => inspection(),
      ...source,
    },
    options,
  );
  const [result] = await runChecks([check], { now: () => Date.parse('2026-02-20T00:00:00Z') });
  return result!;
}

test('passes with timings as metrics when everything matches', async () => {
  const result = await run({});
  expect(result.id).toBe('weekly.restore-test');
  expect(result.status).toBe('ok');
  expect(result.summary).toBe(
    'restored 20260218T031500000Z.dump (1.9 MiB) in 1.1 s: schema 20261126000004, 3 tables / 166 rows match, RLS on all 3 tenant tables',
  );
  expect(result.metrics).toEqual({
    download_ms: 100,
    restore_ms: 900,
    verify_ms: 50,
    total_ms: 1_100,
    size_bytes: 2_000_000,
    tables_checked: 3,
    rows_total: 166,
  });
  expect(result.evidence.join('\n')).toMatch(
    /scratch database restore_test_20260220_abc123: dropped afterwards/,
  );
});

test.each([
  [
    'row counts',
    { rowCounts: { 'public.devices': 3, 'public.telemetry': 160, 'public.tenants': 2 } },
    /row counts differ: public\.devices has 3 rows, the backup recorded 4/,
  ],
  [
    'missing table',
    { rowCounts: { 'public.telemetry': 160, 'public.tenants': 2 } },
    /public\.devices missing \(expected 4 rows\)/,
  ],
  [
    'extra table',
    { rowCounts: { ...inspection().rowCounts, 'public.new_thing': 0 } },
    /public\.new_thing is not in the backup's row counts/,
  ],
  [
    'rls off',
    { rls: [{ table: 'public.devices', rlsEnabled: false, policies: 2, partition: false }] },
    /RLS not intact: public\.devices: row level security is disabled/,
  ],
  [
    'partition rls off',
    {
      rls: [
        ...inspection().rls.slice(0, 2),
        { table: 'public.telemetry_default', rlsEnabled: false, policies: 0, partition: true },
      ],
    },
    /public\.telemetry_default: row level security is disabled/,
  ],
  [
    'no policy',
    { rls: [{ table: 'public.devices', rlsEnabled: true, policies: 0, partition: false }] },
    /public\.devices: no policy/,
  ],
  [
    'schema',
    { schemaVersion: '20261126000003' },
    /restored schema version 20261126000003 is not the backup's 20261126000004/,
  ],
  ['no schema', { schemaVersion: null }, /restored schema version none/],
  [
    'sha',
    { downloadedSha256: 'd'.repeat(64) },
    /sha256 dddddddddddd\.\.\. differs from the backup's cccccccccccc/,
  ],
  [
    'pg_restore errors',
    {
      restoreExitCode: 1,
      restoreErrors: ['error: could not execute query: ERROR: role "supabase_admin" does not exist'],
    },
    /pg_restore reported 1 error\(s\), first: .*supabase_admin/,
  ],
  ['no tenant tables', { rls: [] }, /no tenant table in the restored database/],
] as const)('fails and says why: %s', async (_name, over, summary) => {
  const result = await run({ restore: async () => inspection(over as Partial<RestoreInspection>) });
  expect(result.status).toBe('fail');
  expect(result.summary).toMatch(summary);
});

test('fails when the backup is not the expected latest migration', async () => {
  const result = await run({}, { expectedSchemaVersion: '20261201000001' });
  expect(result.status).toBe('fail');
  expect(result.summary).toMatch(
    /backup schema version 20261126000004 is not the expected latest migration 20261201000001/,
  );
  expect((await run({}, { expectedSchemaVersion: '20261126000004' })).status).toBe('ok');
});

test('fails without a backup, without metadata, or when the restore throws', async () => {
  expect((await run({ latest: async () => null })).summary).toMatch(/no backup to restore \(local directory/);
  const undescribed = await run({
    latest: async () => ({ ...BACKUP, metadata: null, metadataProblem: 'no metadata' }),
  });
  expect(undescribed.status).toBe('fail');
  expect(undescribed.summary).toMatch(/has no usable metadata \(no metadata\)/);
  const thrown = await run({
    restore: async () => {
      throw new Error('Azure blob download failed: 404');
    },
  });
  expect(thrown.status).toBe('fail');
  expect(thrown.summary).toMatch(
    /restore of 20260218T031500000Z\.dump failed: Azure blob download failed: 404/,
  );
});

test('warns when the scratch database could not be dropped or the restore is slow', async () => {
  const leftover = await run({
    restore: async () => inspection({ dropError: 'could not drop scratch database x: busy' }),
  });
  expect(leftover.status).toBe('warn');
  expect(leftover.summary).toMatch(/restore verified but could not drop scratch database x/);
  const slow = await run({}, { warnTotalMs: 1_000 });
  expect(slow.status).toBe('warn');
  expect(slow.summary).toMatch(/slower than the 1\.0 s budget/);
});
