/**
 * The playbooks' archive steps against the real archive, on a real PostgreSQL and Azurite, with
 * the environment's archive enabled: cost-spike's retention cut says which of the tenant's rows
 * would leave, and the archive run then takes out exactly those; growth-spike's "archive sooner"
 * plans a run with a shorter retention (changing nothing), then runs it.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { jest } from '@jest/globals';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { runArchive } from '../../common/archive/run-archive.js';
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
import {
  recordingIo,
  writeTestEnvironment,
  type TestEnvironment,
} from '../../test/support/playbook-fixture.js';
import { runPlaybookCommand } from './cli.js';

jest.setTimeout(60_000);

const CONTAINER = 'archive-playbooks';
let db: TestDatabase;
let pool: pg.Pool;
let azurite: Azurite;
let environment: TestEnvironment;
let cut: ArchiveTenant;
let other: ArchiveTenant;
const days = [5, 12, 20, 40].map((n) => daysAgo(n));
const [d5, d12, d20, d40] = days as [string, string, string, string];

beforeAll(async () => {
  [db, azurite] = await Promise.all([createTestDatabase('playbook_archive'), startAzurite()]);
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  environment = await writeTestEnvironment({
    databaseUrl: db.url,
    extraEnv: { OPS_ARCHIVE_STORAGE_CONNECTION_STRING: azurite.connectionString },
  });
  await appendFile(
    join(environment.dir, 'test.yaml'),
    [
      'archive:',
      '  mode: enabled',
      `  container: ${CONTAINER}`,
      '  connectionStringEnv: OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
      '',
    ].join('\n'),
  );
  await BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient(CONTAINER)
    .create();
  [cut, other] = (await seedArchiveTenants(pool, [
    { slug: 'cut', retentionDays: 90 },
    { slug: 'other', retentionDays: 90 },
  ])) as [ArchiveTenant, ArchiveTenant];
  for (const day of days) await seedDay(pool, day, [cut, other], 5);
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
  await azurite?.stop();
  await environment?.remove();
});

const store = () => createArchiveStore({ connectionString: azurite.connectionString, container: CONTAINER });
const retentionLine = (printed: string[]) =>
  printed.find((l) => l.trim().startsWith('the cut takes effect'))!.trim();

test("cost-spike's cut says which rows leave; the archive run then removes exactly the tenant's rows older than N days", async () => {
  const leaving = await databaseRows(pool, [cut.id], [d12, d20, d40]);
  const staying = await databaseRows(pool, [cut.id], [d5]);
  const others = await databaseRows(pool, [other.id], days);
  expect(leaving).toHaveLength(30);
  const before = await telemetryFingerprint(pool);

  const dry = recordingIo(environment);
  expect(
    await runPlaybookCommand(
      ['cost-spike', '--env', 'test', '--tenant', 'cut', '--retention-days', '10'],
      dry,
    ),
  ).toBe(0);
  const expected =
    'the cut takes effect at the next daily archive run (20:30 UTC, docs/archive.md) or at once with ' +
    '`npm run ops -- archive run --env test --apply` (a dry run without --apply): ' +
    `30 rows of cut on 3 day(s), ${d40} to ${d12}, would be archived and removed`;
  expect(retentionLine(dry.printed)).toBe(expected);
  expect(await telemetryFingerprint(pool)).toEqual(before);
  expect((await pool.query('select 1 from ops.tenant_retention_overrides')).rowCount).toBe(0);

  const applied = recordingIo(environment);
  expect(
    await runPlaybookCommand(
      ['cost-spike', '--env', 'test', '--tenant', 'cut', '--retention-days', '10', '--apply'],
      applied,
    ),
  ).toBe(0);
  expect(retentionLine(applied.printed)).toBe(expected);
  expect(applied.printed).toContain(
    '[ok] act retention: a temporary retention cut for one tenant (--tenant <slug> --retention-days N [--retention-for-days N])',
  );
  // Nothing left the database yet: the cut works through the archive run.
  expect(await telemetryFingerprint(pool)).toEqual(before);

  const result = await runArchive({ pool, mode: 'enabled', store: store() });
  expect(result.errors).toEqual([]);
  expect(result).toMatchObject({ rowsRemoved: 30, tenantDaysDeleted: 3, partitionsDropped: [] });
  expect(await databaseRows(pool, [cut.id], days)).toEqual(staying);
  expect(await databaseRows(pool, [other.id], days)).toEqual(others);
  expect((await archivedRows(store())).lines).toEqual(leaving);
});

test("growth-spike's archive sooner: a dry run plans the run with N days and changes nothing; applied, it archives that", async () => {
  const before = await telemetryFingerprint(pool);
  const dry = recordingIo(environment);
  expect(await runPlaybookCommand(['growth-spike', '--env', 'test', '--retention-days', '15'], dry)).toBe(0);
  const at = dry.printed.findIndex((l) => l.startsWith('[dry run] act archive-sooner'));
  // cut keeps 10 days (its cut) and has nothing older left; other's days 20 and 40 go, day 12 stays.
  expect(dry.printed.slice(at + 1, at + 5).map((l) => l.trim())).toEqual([
    `${d40}: drop the partition; other 10 archive`,
    `${d20}: drop the partition; other 10 archive`,
    `${d12}: nothing leaves; other 10 keep`,
    'dry run (retention at most 15 days): would archive 20 rows of 2 tenant-day(s) on 3 day(s) ' +
      '(2 partition(s) dropped whole); 10 rows of those days stay within retention',
  ]);
  expect(dry.last()).toMatch(/\(dry run\): .*; would archive 20 rows with a 15-day retention$/);
  expect(await telemetryFingerprint(pool)).toEqual(before);

  const leaving = await databaseRows(pool, [other.id], [d20, d40]);
  const applied = recordingIo({ ...environment, env: { ...environment.env, GITHUB_ACTOR: 'octocat' } });
  expect(
    await runPlaybookCommand(['growth-spike', '--env', 'test', '--retention-days', '15', '--apply'], applied),
  ).toBe(0);
  expect(applied.last()).toMatch(/\(applied\): .*; archived 20 rows with a 15-day retention$/);
  expect(await databaseRows(pool, [other.id], [d20, d40])).toEqual([]);
  expect((await databaseRows(pool, [other.id], [d5, d12])).length).toBe(20);
  expect((await archivedRows(store(), 'other/')).lines).toEqual(leaving);
  const audit = await pool.query(
    `select actor, action, target from ops.audit_log where actor like 'playbook:%' order by id`,
  );
  expect(audit.rows).toEqual([
    { actor: 'playbook:cost-spike', action: 'tenant.retention_override', target: 'cut' },
    {
      actor: 'playbook:growth-spike (octocat)',
      action: 'telemetry.drop_archived_day',
      target: `telemetry_p${d40.replaceAll('-', '')}`,
    },
    {
      actor: 'playbook:growth-spike (octocat)',
      action: 'telemetry.drop_archived_day',
      target: `telemetry_p${d20.replaceAll('-', '')}`,
    },
    { actor: 'playbook:growth-spike (octocat)', action: 'telemetry.archive_run', target: 'test' },
  ]);

  // Applying needs the container's secret, read before any step runs; the dry run did not.
  const noSecret = recordingIo({ ...environment, env: { OPS_DATABASE_URL: db.url } });
  expect(
    await runPlaybookCommand(
      ['growth-spike', '--env', 'test', '--retention-days', '15', '--apply'],
      noSecret,
    ),
  ).toBe(2);
  expect(noSecret.errors.join('')).toContain('missing secrets OPS_ARCHIVE_STORAGE_CONNECTION_STRING');
  expect(
    await runPlaybookCommand(
      ['growth-spike', '--env', 'test', '--retention-days', '15'],
      recordingIo({ ...environment, env: { OPS_DATABASE_URL: db.url } }),
    ),
  ).toBe(0);
});
