/**
 * The backup chain with real parts: pg_dump of a migrated, seeded database into Azurite, then the
 * freshness and restore-test checks (pg_restore into a scratch database on the test server).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import pg from 'pg';
import { latestMigrationVersion } from '../../supabase/migrate.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { runChecks } from '../engine/run-checks.js';
import { backupFreshnessCheck } from '../checks/backup-freshness.js';
import { restoreTestCheck } from '../checks/restore-test.js';
import { createAzureBlobBackupStore } from './azure-blob-store.js';
import { runDailyBackup } from './daily-backup.js';
import { BACKUP_FORMAT, decodeMetadata, encodeMetadata } from './metadata.js';
import { createRestoreTestSource } from './restore.js';
import { backupName, type BackupStore } from './store.js';
import { seedBackupFixture } from '../../test/support/backup-fixture.js';

const SCRATCH = `rt_${randomBytes(3).toString('hex')}`;
const CONTAINER = 'backups';
const PREFIX = 'ci/';

let azurite: Azurite;
let db: TestDatabase;
let store: BackupStore;

beforeAll(async () => {
  // Both at once (each takes seconds); whatever started is stopped in afterAll even if the other failed.
  const [a, d] = await Promise.allSettled([startAzurite(), createTestDatabase('restore_src')]);
  if (a.status === 'fulfilled') azurite = a.value;
  if (d.status === 'fulfilled') db = d.value;
  if (a.status === 'rejected') throw a.reason;
  if (d.status === 'rejected') throw d.reason;
  await seedBackupFixture(db.url);
  store = createAzureBlobBackupStore({
    connectionString: azurite.connectionString,
    containerName: CONTAINER,
    prefix: PREFIX,
  });
});
afterAll(async () => {
  await Promise.all([azurite?.stop(), db?.drop()]);
});

async function sql<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, values)).rows;
  } finally {
    await c.end();
  }
}

const leftoverScratch = async () =>
  (
    await sql<{ n: number }>(ADMIN_URL, `select count(*)::int as n from pg_database where datname like $1`, [
      `${SCRATCH}%`,
    ])
  )[0]!.n;

const source = () => createRestoreTestSource({ store, adminUrl: ADMIN_URL, scratchPrefix: SCRATCH });

async function backupAt(iso: string) {
  return runDailyBackup({ databaseUrl: db.url, store, now: () => new Date(iso) });
}

test('a backup taken under concurrent writes restores with exactly its recorded counts, schema and RLS', async () => {
  const [device] = await sql<{ id: string; tenant_id: string }>(
    db.url,
    'select id, tenant_id from public.devices limit 1',
  );
  const writer = new pg.Client({ connectionString: db.url });
  await writer.connect();
  let writing = true;
  let written = 0;
  const writes = (async () => {
    while (writing) {
      await writer.query(
        `insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics) values ($1, $2, now(), $3, '{}')`,
        [device!.tenant_id, device!.id, `w${written++}`],
      );
    }
  })();
  const result = await backupAt('2026-02-18T03:00:00.000Z').finally(async () => {
    writing = false;
    await writes;
    await writer.end();
  });
  expect(written).toBeGreaterThan(0);
  expect(result.metadata.rowCounts['public.telemetry']).toBeGreaterThanOrEqual(160);

  const [fresh, restore] = await runChecks(
    [
      backupFreshnessCheck(store),
      restoreTestCheck(source(), { expectedSchemaVersion: latestMigrationVersion() }),
    ],
    { now: () => Date.parse('2026-02-18T09:00:00Z') },
  );
  expect(fresh).toMatchObject({ id: 'daily.backup-freshness', status: 'ok' });
  expect(fresh!.summary).toMatch(/latest backup 6 h old/);
  expect(restore!.status).toBe('ok');
  expect(restore!.summary).toMatch(
    new RegExp(
      `restored ${result.name} .* schema ${latestMigrationVersion()}, \\d+ tables / \\d+ rows match, RLS on all \\d+ tenant tables`,
    ),
  );
  for (const m of ['download_ms', 'restore_ms', 'verify_ms', 'total_ms'])
    expect(restore!.metrics[m]).toBeGreaterThanOrEqual(0);
  expect(restore!.metrics.size_bytes).toBe(result.metadata.sizeBytes);
  expect(restore!.metrics.tables_checked).toBeGreaterThanOrEqual(10);
  expect(restore!.evidence.join('\n')).toMatch(
    new RegExp(`scratch database ${SCRATCH}_\\d{14}_[0-9a-f]{6}: dropped afterwards`),
  );
  expect(await leftoverScratch()).toBe(0);
});

test('tampered metadata (row counts that the dump does not hold) fails and says which table', async () => {
  const result = await backupAt('2026-02-18T04:00:00.000Z');
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(CONTAINER)
    .getBlockBlobClient(PREFIX + result.name);
  const props = await blob.getProperties();
  const decoded = decodeMetadata(props.metadata);
  if (!decoded.ok) throw new Error(decoded.problem);
  const devices = decoded.metadata.rowCounts['public.devices']!;
  await blob.setMetadata(
    encodeMetadata({
      ...decoded.metadata,
      rowCounts: { ...decoded.metadata.rowCounts, 'public.devices': devices + 1 },
    }),
  );
  const [restore] = await runChecks([restoreTestCheck(source())]);
  expect(restore!.status).toBe('fail');
  expect(restore!.summary).toBe(
    `row counts differ: public.devices has ${devices} rows, the backup recorded ${devices + 1}`,
  );
  expect(await leftoverScratch()).toBe(0);
});

test('a dump taken while RLS was off on a tenant table fails the restore test', async () => {
  await sql(db.url, 'alter table public.devices disable row level security');
  try {
    await backupAt('2026-02-18T05:00:00.000Z');
  } finally {
    await sql(db.url, 'alter table public.devices enable row level security');
  }
  const [restore] = await runChecks([restoreTestCheck(source())]);
  expect(restore!.status).toBe('fail');
  expect(restore!.summary).toBe('RLS not intact: public.devices: row level security is disabled');
  expect(await leftoverScratch()).toBe(0);
});

test('a corrupt archive fails with pg_restore errors and the scratch database is still dropped', async () => {
  const garbage = Buffer.from('PGDMP this is not an archive');
  const name = backupName(new Date('2026-02-18T06:00:00.000Z'));
  await store.upload(name, Readable.from([garbage]), () => ({
    format: BACKUP_FORMAT,
    createdAt: '2026-02-18T06:00:00.000Z',
    sizeBytes: garbage.length,
    sha256: createHash('sha256').update(garbage).digest('hex'),
    schemaVersion: latestMigrationVersion(),
    rowCounts: { 'public.devices': 4 },
    pgDumpVersion: '15.20',
    serverVersion: '15.20',
    database: db.name,
  }));
  const [restore] = await runChecks([restoreTestCheck(source())]);
  expect(restore!.status).toBe('fail');
  expect(restore!.summary).toMatch(
    /^pg_restore reported 1 error\(s\), first: error: .* \(and \d more, see evidence\)$/,
  );
  expect(restore!.evidence.join('\n')).toMatch(/problem: no tenant table in the restored database/);
  expect(restore!.evidence.join('\n')).toMatch(/dropped afterwards/);
  expect(await leftoverScratch()).toBe(0);
});
