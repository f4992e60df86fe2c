/**
 * `ops archive run` on a real PostgreSQL and Azurite: refused with the way to turn it on when the
 * environment's archive is disabled; a dry run that changes nothing and says per day what would go;
 * --retention-days capped by the environment's own; --apply archives exactly what the dry run said.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { jest } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ArchiveRunResult } from '../../common/archive/run-archive.js';
import { createArchiveStore } from '../../common/telemetry-archive-store.js';
import {
  archivedRows,
  databaseRows,
  daysAgo,
  seedArchiveTenants,
  seedDay,
  telemetryFingerprint,
  type ArchiveTenant,
} from '../../test/support/archive-fixture.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { runCli } from '../cli.js';

jest.setTimeout(60_000);

const CONTAINER = 'archive-run';
let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let envDir: string;
let short: ArchiveTenant;
let long: ArchiveTenant;
const [d20, d35, d45, d70] = [daysAgo(20), daysAgo(35), daysAgo(45), daysAgo(70)];

const yaml = (name: string, archive: string[]) =>
  writeFile(
    join(envDir, `${name}.yaml`),
    [
      `name: ${name}`,
      'description: the archive run test',
      'sandbox: false',
      'database:',
      '  urlEnv: OPS_DATABASE_URL',
      'archive:',
      ...archive.map((l) => `  ${l}`),
      'budget: { monthlyUsd: 10, aiMonthlyUsd: 1 }',
      'thresholds: {}',
      '',
    ].join('\n'),
  );

beforeAll(async () => {
  [db, azurite] = await Promise.all([createTestDatabase('archive_run_cli'), startAzurite()]);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  envDir = await mkdtemp(join(tmpdir(), 'archive-run-env-'));
  await yaml('on', [
    'mode: enabled',
    `container: ${CONTAINER}`,
    'connectionStringEnv: OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
    'retentionDays: 60',
  ]);
  await yaml('off', ['mode: disabled', 'reason: no Blob archive in this phase of the project']);
  // The container exists, as provision creates it: the commands never create one.
  await BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(CONTAINER)
    .create();
  [short, long] = (await seedArchiveTenants(pool, [
    { slug: 'short', retentionDays: 30 },
    { slug: 'long', retentionDays: 90 },
  ])) as [ArchiveTenant, ArchiveTenant];
  for (const day of [d20, d35, d45, d70]) await seedDay(pool, day, [short, long], 5);
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await azurite?.stop();
  if (envDir) await rm(envDir, { recursive: true, force: true });
});

async function ops(env: Record<string, string>, ...argv: string[]) {
  const io = { out: '', err: '' };
  const code = await runCli(argv, {
    out: (t) => (io.out += t),
    err: (t) => (io.err += t),
    env: { USER: 'tester', ...env },
    environmentsDir: envDir,
  });
  return { code, ...io };
}
const secrets = () => ({
  OPS_DATABASE_URL: db.url,
  OPS_ARCHIVE_STORAGE_CONNECTION_STRING: azurite.connectionString,
});
const store = () => createArchiveStore({ connectionString: azurite.connectionString, container: CONTAINER });
const everything = async () => ({
  telemetry: await telemetryFingerprint(pool),
  objects: (await pool.query(`select count(*)::int as n from ops.archive_objects`)).rows[0].n,
  audit: (await pool.query(`select count(*)::int as n from ops.audit_log`)).rows[0].n,
  container: (await archivedRows(store())).objects.length,
});

test('disabled: refused before anything is read, saying how to turn it on', async () => {
  const before = await everything();
  const run = await ops({}, 'archive', 'run', '--env', 'off', '--apply');
  expect(run.code).toBe(2);
  expect(run.out).toBe('');
  expect(run.err).toBe(
    'ops archive run: the archive is disabled in runbook/environments/off.yaml (no Blob archive in this ' +
      'phase of the project): nothing is archived and nothing leaves the database. To turn it on: ' +
      'archive.mode: enabled with container and connectionStringEnv in runbook/environments/off.yaml, and ' +
      'ARCHIVE_MODE=enabled with the same container in the Function App (docs/archive.md, "Turning it on")\n',
  );
  expect(await everything()).toEqual(before);
});

test('bad arguments exit 2 before anything runs', async () => {
  const zero = await ops(secrets(), 'archive', 'run', '--env', 'on', '--retention-days', '0');
  expect(zero.code).toBe(2);
  expect(zero.err).toBe(
    'ops archive run: --retention-days must be a positive whole number of days (got "0") (see npm run ops -- archive run --help)\n',
  );
  expect((await ops(secrets(), 'archive', 'run')).err).toContain('--env is required');
  const help = await ops({}, 'archive', '--help');
  expect(help.out).toMatch(/^ {2}run +the daily archive run now/m);
});

test("a dry run with the environment's retention: per day what would go, nothing changed; it needs no container secret", async () => {
  const before = await everything();
  const dry = await ops({ OPS_DATABASE_URL: db.url }, 'archive', 'run', '--env', 'on');
  expect(dry.code).toBe(0);
  // 60 days at most (on.yaml): long's 70-day-old rows go too; its 35- and 45-day-old ones stay.
  expect(dry.out).toBe(
    'dry run (retention at most 60 days): would archive 40 rows of 4 tenant-day(s) on 3 day(s) ' +
      '(1 partition(s) dropped whole); 20 rows of those days stay within retention; ' +
      'nothing was changed (--apply to run it)\n',
  );
  expect(dry.err).toContain(
    `ops archive run: ${d45}: would archive: 10 rows of 1 tenant(s) deleted, 1 tenant(s) kept: long 10 keep, short 10 archive\n`,
  );
  expect(dry.err).toContain(
    `ops archive run: ${d70}: would archive: partition dropped, 20 rows: long 10 archive, short 10 archive\n`,
  );
  expect(await everything()).toEqual(before);

  // Asking for more than the environment keeps: its own 60 days apply, and it says so.
  const json = await ops(secrets(), 'archive', 'run', '--env', 'on', '--retention-days', '90', '--json');
  expect(json.code).toBe(0);
  expect(json.err).toContain("ops archive run: on's archive keeps at most 60 days: that applies, not 90\n");
  const result = JSON.parse(json.out) as ArchiveRunResult & { dryRun: boolean; retentionDays: number };
  expect(result).toMatchObject({ env: 'on', dryRun: true, retentionDays: 60, rowsRemoved: 0 });
  expect(result.plan!.map((d) => [d.day, d.removal])).toEqual([
    [d70, 'drop'],
    [d45, 'delete'],
    [d35, 'delete'],
  ]);
  expect(await everything()).toEqual(before);

  // Applying needs the container's secret: refused by name before anything runs.
  const noSecret = await ops({ OPS_DATABASE_URL: db.url }, 'archive', 'run', '--env', 'on', '--apply');
  expect(noSecret.code).toBe(2);
  expect(noSecret.err).toMatch(/^ops archive run: .* missing secrets OPS_ARCHIVE_STORAGE_CONNECTION_STRING /);
  expect(await everything()).toEqual(before);
});

test('--retention-days 15 --apply archives and removes exactly what its dry run said, audited by who ran it', async () => {
  const dry = await ops(secrets(), 'archive', 'run', '--env', 'on', '--retention-days', '15', '--json');
  const plan = (JSON.parse(dry.out) as ArchiveRunResult).plan!;
  expect(plan.map((d) => d.day)).toEqual([d70, d45, d35, d20]);
  expect(plan.every((d) => d.removal === 'drop')).toBe(true);
  const rows = await databaseRows(pool, [short.id, long.id], [d20, d35, d45, d70]);
  expect(rows).toHaveLength(80);

  const run = await ops(secrets(), 'archive', 'run', '--env', 'on', '--retention-days', '15', '--apply');
  expect(run.code).toBe(0);
  expect(run.out).toBe(
    'archived (retention at most 15 days): 80 rows removed from the database on 4 day(s) ' +
      '(8 object(s) verified, 8 exported), 4 partition(s) dropped, 0 tenant-day(s) deleted\n',
  );
  expect(run.err).toContain(`ops archive run: ${d20}: dropped telemetry_p${d20.replaceAll('-', '')}`);
  expect(await databaseRows(pool, [short.id, long.id], [d20, d35, d45, d70])).toEqual([]);
  expect((await archivedRows(store())).lines).toEqual(rows);
  const audit = await pool.query<{ actor: string; n: number }>(
    `select actor, count(*)::int as n from ops.audit_log group by actor`,
  );
  expect(audit.rows).toEqual([{ actor: 'ops archive run (tester)', n: 4 }]);

  // Nothing left to do: the next dry run plans nothing.
  const after = await ops(secrets(), 'archive', 'run', '--env', 'on', '--retention-days', '15');
  expect(after.out).toMatch(/^dry run \(retention at most 15 days\): nothing would leave the database/);
});
