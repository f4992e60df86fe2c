/**
 * `ops archive restore` against objects made by the real archive run (the Functions app's archive,
 * run as a process: ops does not import it), on a real PostgreSQL and Azurite: exactly the archived
 * rows come back into a recreated partition, twice adds nothing, the hold keeps the daily run off
 * them until it ends, and a damaged object is refused by name.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { jest } from '@jest/globals';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createArchiveStore } from '../../common/telemetry-archive-store.js';
import {
  archivedRows,
  databaseRows,
  daysAgo,
  seedArchiveTenants,
  rowsDigest,
  seedDay,
  telemetryFingerprint,
  type ArchiveTenant,
} from '../../test/support/archive-fixture.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { runCli } from '../cli.js';

jest.setTimeout(60_000);

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const HARNESS = join(root, 'functions', 'src', 'archive', 'archive-child-harness.ts');
const CONTAINER = 'archive-restore';

let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let envDir: string;
let acme: ArchiveTenant;
let globex: ArchiveTenant;
const d1 = daysAgo(41);
const d2 = daysAgo(40);
let archived: string[];
let archivedDigest: string;

/** The daily archive run, as the Function App would run it, to its end. */
async function archiveRun(): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', HARNESS], {
    cwd: root,
    env: {
      ...process.env,
      DATABASE_URL: db.url,
      ARCHIVE_MODE: 'enabled',
      ARCHIVE_STORAGE_CONNECTION_STRING: azurite.connectionString,
      ARCHIVE_CONTAINER: CONTAINER,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0 || !output.includes('ARCHIVE_RESULT'))
    throw new Error(`archive run exited ${code}:\n${output}`);
  return output;
}

async function ops(...argv: string[]) {
  const io = { out: '', err: '' };
  const code = await runCli(argv, {
    out: (t) => (io.out += t),
    err: (t) => (io.err += t),
    env: { OPS_DATABASE_URL: db.url, OPS_ARCHIVE_STORAGE_CONNECTION_STRING: azurite.connectionString },
    environmentsDir: envDir,
  });
  return { code, ...io };
}

const restore = (tenant: string, ...more: string[]) =>
  ops('archive', 'restore', '--env', 'archivetest', '--tenant', tenant, '--from', d1, '--to', d2, ...more);

beforeAll(async () => {
  [db, azurite] = await Promise.all([createTestDatabase('archive_restore'), startAzurite()]);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  envDir = await mkdtemp(join(tmpdir(), 'archive-env-'));
  await copyFile(join(root, 'runbook', 'environments', 'prod.yaml'), join(envDir, 'prod.yaml'));
  await writeFile(
    join(envDir, 'archivetest.yaml'),
    [
      'name: archivetest',
      'description: the archive restore test',
      'sandbox: false',
      'database:',
      '  urlEnv: OPS_DATABASE_URL',
      'archive:',
      '  mode: enabled',
      `  container: ${CONTAINER}`,
      '  connectionStringEnv: OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
      'budget: { monthlyUsd: 10, aiMonthlyUsd: 1 }',
      'thresholds: {}',
      '',
    ].join('\n'),
  );
  [acme, globex] = (await seedArchiveTenants(pool, [
    { slug: 'acme', retentionDays: 30 },
    { slug: 'globex', retentionDays: 30 },
  ])) as [ArchiveTenant, ArchiveTenant];
  for (const day of [d1, d2]) await seedDay(pool, day, [acme, globex], 30);
  archived = await databaseRows(pool, [acme.id], [d1, d2]);
  archivedDigest = await rowsDigest(pool, [acme.id], [d1, d2]);
  expect(archived).toHaveLength(120);
  await archiveRun();
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await azurite?.stop();
  if (envDir) await rm(envDir, { recursive: true, force: true });
});

const partitionExists = async (day: string) =>
  (await pool.query(`select to_regclass($1) as r`, [`public.telemetry_p${day.replaceAll('-', '')}`])).rows[0]
    .r !== null;

test('restore brings back exactly the archived rows, into recreated partitions; restoring twice adds nothing', async () => {
  expect(await partitionExists(d1)).toBe(false);
  expect(await databaseRows(pool, [acme.id, globex.id], [d1, d2])).toEqual([]);
  const hourly = (await telemetryFingerprint(pool)).hourly;

  const first = await restore('acme');
  expect(first.err).not.toMatch(/NOT restored|failed/);
  expect(first.code).toBe(0);
  expect(first.out).toMatch(
    new RegExp(
      `^restored 120 of 120 archived rows of acme from ${d1} to ${d2} \\(2 object\\(s\\)\\); 0 were already there; ` +
        'the archive leaves these days alone until \\S+\\n$',
    ),
  );
  expect(first.err).toContain(
    `acme/${d1.slice(0, 4)}/${d1.slice(5, 7)}/${d1.slice(8)}.ndjson.gz: 60 rows restored, 0 already there`,
  );
  expect(await partitionExists(d1)).toBe(true);
  expect(await databaseRows(pool, [acme.id], [d1, d2])).toEqual(archived);
  expect(await rowsDigest(pool, [acme.id], [d1, d2])).toBe(archivedDigest);
  // Only the tenant asked for; the hourly rollup, kept through the archive, is not counted twice.
  expect(await databaseRows(pool, [globex.id], [d1, d2])).toEqual([]);
  expect((await telemetryFingerprint(pool)).hourly).toBe(hourly);

  const second = await restore('acme', '--json');
  expect(second.code).toBe(0);
  const result = JSON.parse(second.out) as { restored: number; alreadyThere: number; objects: unknown[] };
  expect(result).toMatchObject({ restored: 0, alreadyThere: 120 });
  expect(result.objects).toHaveLength(2);
  expect(await databaseRows(pool, [acme.id], [d1, d2])).toEqual(archived);
});

test('the daily run leaves restored days alone while held, then takes them out again through the same objects', async () => {
  const store = createArchiveStore({ connectionString: azurite.connectionString, container: CONTAINER });
  const objectsBefore = (await archivedRows(store)).objects.map((o) => o.name);
  await archiveRun();
  expect(await databaseRows(pool, [acme.id], [d1, d2])).toEqual(archived);

  await pool.query(`update ops.archive_holds set until = now() - interval '1 second'`);
  const output = await archiveRun();
  expect(output).toContain('are those of acme/');
  expect(await databaseRows(pool, [acme.id], [d1, d2])).toEqual([]);
  expect(await partitionExists(d1)).toBe(false);
  // No second copy: the rows went back to the objects they came from.
  const after = await archivedRows(store);
  expect(after.objects.map((o) => o.name)).toEqual(objectsBefore);
  expect(after.lines.filter((l) => l.includes(acme.id))).toEqual(archived);
  const states = await pool.query(`select distinct state, generation from ops.archive_objects`);
  expect(states.rows).toEqual([{ state: 'dropped', generation: 1 }]);
});

test('a damaged object is not restored: named, nothing of it inserted, exit 1', async () => {
  const name = `globex/${d2.slice(0, 4)}/${d2.slice(5, 7)}/${d2.slice(8)}.ndjson.gz`;
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(CONTAINER)
    .getBlockBlobClient(name);
  const { metadata } = await blob.getProperties();
  const bytes = await blob.downloadToBuffer();
  await blob.upload(bytes.subarray(0, bytes.length - 100), bytes.length - 100, { metadata });

  const run = await restore('globex');
  expect(run.code).toBe(1);
  expect(run.err).toContain(`${name}: NOT restored`);
  expect(run.out).toMatch(/^restored 60 of 60 archived rows of globex .* 1 object\(s\) NOT restored/);
  expect((await databaseRows(pool, [globex.id], [d2])).length).toBe(0);
  expect((await databaseRows(pool, [globex.id], [d1])).length).toBe(60);
});

test('refused before touching anything: bad days, an archive that is not enabled', async () => {
  expect((await restore('acme', '--hold-days', 'x')).err).toMatch(/--hold-days must be a whole number/);
  const bad = await ops(
    'archive',
    'restore',
    '--env',
    'archivetest',
    '--tenant',
    'acme',
    '--from',
    '2026-1-1',
    '--to',
    d2,
  );
  expect(bad.code).toBe(2);
  expect(bad.err).toMatch(
    /^ops archive restore: --from must be a day, YYYY-MM-DD \(see npm run ops -- archive restore --help\)\n$/,
  );
  const local = await ops(
    'archive',
    'restore',
    '--env',
    'prod',
    '--tenant',
    'acme',
    '--from',
    d1,
    '--to',
    d2,
  );
  expect(local.code).toBe(2);
  expect(local.err).toMatch(/archive.mode is disabled in prod.yaml/);
});
