/**
 * Crashes: the archive run as its own process (archive-child-harness.ts, configured as the Function
 * App is) SIGKILLed between each two steps of a tenant-day, then run again to the end. After every
 * crash and restart each seeded row is either in the database or in a verified object, never lost
 * and never in both or twice, and the day is finished: dropped whole, or its expired tenants' rows
 * deleted while a tenant of longer retention keeps its own.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createArchiveStore, type ArchiveStore } from '../../../common/telemetry-archive-store.js';
import {
  archivedRows,
  databaseRows,
  daysAgo,
  seedArchiveTenants,
  seedDay,
  type ArchiveTenant,
} from '../../../test/support/archive-fixture.js';
import { startAzurite, type Azurite } from '../../../test/support/azurite.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { ARCHIVE_STEPS, type ArchiveStep } from '../../../common/archive/run-archive.js';

jest.setTimeout(60_000);

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const CONTAINER = 'archive-kill';

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let store: ArchiveStore;
let tenants: ArchiveTenant[];

beforeAll(async () => {
  [db, azurite] = await Promise.all([createTestDatabase('archive_kill'), startAzurite()]);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  store = createArchiveStore({ connectionString: azurite.connectionString, container: CONTAINER });
  tenants = await seedArchiveTenants(pool, [
    { slug: 'k-one', retentionDays: 30 },
    { slug: 'k-two', retentionDays: 30 },
    { slug: 'k-long', retentionDays: 365 },
  ]);
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await azurite?.stop();
});

/** One archive run as a process; with `stopAt` it is SIGKILLed once it reaches that step. */
async function archiveProcess(stopAt?: ArchiveStep): Promise<{ stoppedAt?: string; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'archive-child-harness.ts')], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      ARCHIVE_MODE: 'enabled',
      ARCHIVE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ARCHIVE_CONTAINER: CONTAINER,
      // Objects of several 1 KiB blocks: 'uploading' stops with blocks staged, none committed.
      ARCHIVE_HARNESS_BLOCK_BYTES: '1024',
      ARCHIVE_HARNESS_CONCURRENCY: '1',
      ...(stopAt ? { ARCHIVE_HARNESS_STOP_AT: stopAt } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const onData = (d: Buffer) => {
      output += d.toString();
      const stopped = /ARCHIVE_STOPPED (\S+) (\S+)/.exec(output);
      if (stopped && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        void exited.then(() => resolve({ stoppedAt: `${stopped[1]} ${stopped[2]}`, output }));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then((code) => {
      if (child.signalCode === 'SIGKILL') return;
      if (code !== 0 || stopAt)
        reject(new Error(`archive process exited ${code} without stopping:\n${output}`));
      else resolve({ output });
    });
  });
}

/** What a kill at each step leaves of the object it was working on (detail: its name, or the day). */
const AT_THE_KILL: Record<ArchiveStep, string> = {
  'export-started': 'record exporting, no blob',
  uploading: 'record exporting, blocks staged, no blob',
  uploaded: 'record exporting, blob committed',
  recorded: 'record uploaded, blob committed',
  verified: 'record verified, blob committed',
  removed: 'day removed',
};

async function leftBehind(detail: string): Promise<string> {
  if (/^\d{4}-\d{2}-\d{2}$/.test(detail)) {
    const left = await pool.query(
      `select count(*)::int as n from ops.archive_objects where day = $1 and state <> 'dropped'`,
      [detail],
    );
    return left.rows[0].n === 0 ? 'day removed' : `${left.rows[0].n} objects not dropped`;
  }
  const record = await pool.query(`select state from ops.archive_objects where blob_name = $1`, [detail]);
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(CONTAINER)
    .getBlockBlobClient(detail);
  const staged = await blob
    .getBlockList('uncommitted')
    .then((l) => l.uncommittedBlocks?.length ?? 0)
    .catch(() => 0);
  const committed = await blob.exists();
  return [
    `record ${record.rows[0]?.state ?? 'none'}`,
    ...(staged > 0 && !committed ? ['blocks staged'] : []),
    committed ? 'blob committed' : 'no blob',
  ].join(', ');
}

const resultOf = (output: string) =>
  JSON.parse(/ARCHIVE_RESULT (.*)/.exec(output)![1]!) as { errors: string[]; objectsVerified: number };

describe.each(ARCHIVE_STEPS.map((step, i) => [step, i] as const))('killed at %s', (step, i) => {
  // Even steps: every tenant of the day expires (the partition is dropped); odd: one tenant keeps
  // its rows (the others' are deleted).
  const day = daysAgo(40 + i);
  const withLong = i % 2 === 1;

  test('the next run finishes the day: every row in the database or in a verified object, once', async () => {
    const onDay = withLong ? tenants : tenants.slice(0, 2);
    // About 20 kB per object: the 'uploading' stop (after 8 kB) finds 1 kB blocks staged.
    await seedDay(pool, day, onDay, 300);
    const ids = tenants.map((t) => t.id);
    const seeded = await databaseRows(pool, ids, [day]);
    const before = (await archivedRows(store)).lines;

    const killed = await archiveProcess(step);
    expect(killed.stoppedAt).toMatch(new RegExp(`^${step} `));
    expect(await leftBehind(killed.stoppedAt!.split(' ')[1]!)).toEqual(AT_THE_KILL[step]);
    const finished = await archiveProcess();
    const result = resultOf(finished.output);
    expect(result.errors).toEqual([]);
    // Killed before an object was recorded 'uploaded': the next run exports the day's objects again,
    // from one scan of the partition (every leaving tenant's rows are at least half of it).
    if (ARCHIVE_STEPS.indexOf(step) < ARCHIVE_STEPS.indexOf('recorded'))
      expect(finished.output).toMatch(/: exporting 2 objects from one scan of telemetry_p\d{8}/);

    const inDatabase = await databaseRows(pool, ids, [day]);
    const archived = await archivedRows(store);
    const archivedNow = archived.lines.filter((l) => !before.includes(l));
    // None lost, none twice: the database's rows and the objects' new rows are the seeded ones, once.
    expect([...inDatabase, ...archivedNow].sort()).toEqual(seeded);
    expect(archived.lines.length).toBe(before.length + archivedNow.length);
    // Finished: only the long-retention tenant's rows stay, and every object is verified and dropped.
    expect(inDatabase).toEqual(withLong ? await databaseRows(pool, [tenants[2]!.id], [day]) : []);
    expect(inDatabase.length).toBe(withLong ? 600 : 0);
    const states = await pool.query<{ blob_name: string; state: string }>(
      `select blob_name, state from ops.archive_objects where day = $1 order by blob_name`,
      [day],
    );
    expect(states.rows.map((r) => r.state)).toEqual(['dropped', 'dropped']);
    expect(archived.objects.filter((o) => !o.matchesManifest)).toEqual([]);
    const partition = await pool.query(`select to_regclass($1) as r`, [
      `public.telemetry_p${day.replaceAll('-', '')}`,
    ]);
    expect(partition.rows[0].r === null).toBe(!withLong);
  });
});
