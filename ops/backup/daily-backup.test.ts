import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { latestMigrationVersion } from '../../supabase/migrate.js';
import { runDailyBackup } from './daily-backup.js';
import { createLocalDirBackupStore } from './local-dir-store.js';
import { findPgTool } from './pg-tools.js';
import { seedBackupFixture } from '../../test/support/backup-fixture.js';

const run = promisify(execFile);
// Trust auth ignores it, so the password can be checked for leaks without a real secret.
const PASSWORD = 'Sup3r-s3cret-pw';

let db: TestDatabase;
let dir: string;
let url: string;
beforeAll(async () => {
  db = await createTestDatabase('daily_backup');
  await seedBackupFixture(db.url);
  dir = await mkdtemp(join(tmpdir(), 'daily-backup-'));
  const u = new URL(db.url);
  u.password = PASSWORD;
  url = u.toString();
});
afterAll(async () => {
  await db?.drop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('dumps in custom format with metadata that matches the database and the file', async () => {
  const store = createLocalDirBackupStore({ dir: join(dir, 'ok') });
  const lines: string[] = [];
  const result = await runDailyBackup({
    databaseUrl: url,
    store,
    now: () => new Date('2026-02-18T03:15:00.000Z'),
    log: (l) => lines.push(l),
  });
  expect(result.name).toBe('20260218T031500000Z.dump');
  const [listed] = await store.list();
  expect(listed!.metadata).toEqual(result.metadata);
  const m = result.metadata;

  const file = await readFile(join(dir, 'ok', result.name));
  expect(file.subarray(0, 5).toString()).toBe('PGDMP'); // custom-format archive
  expect(m.sizeBytes).toBe(file.length);
  expect(m.sha256).toBe(createHash('sha256').update(file).digest('hex'));
  expect(m.schemaVersion).toBe(latestMigrationVersion());
  expect(m.createdAt).toBe('2026-02-18T03:15:00.000Z');
  expect(m.pgDumpVersion).toMatch(/^\d+\.\d+$/);
  expect(m.database).toBe(db.name);

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const actual = await client
    .query<{ t: string; n: number }>(
      `select 'public.devices' as t, count(*)::int as n from public.devices
       union all select 'public.telemetry', count(*)::int from public.telemetry
       union all select 'public.tenants', count(*)::int from public.tenants
       union all select 'public.usage_hourly', count(*)::int from public.usage_hourly`,
    )
    .finally(() => client.end());
  for (const { t, n } of actual.rows) expect(m.rowCounts[t]).toBe(n);
  expect(m.rowCounts['public.telemetry']).toBe(160);
  expect(Object.keys(m.rowCounts)).toEqual(
    expect.arrayContaining([
      'public.tenant_members',
      'public.alerts',
      'public.ai_usage',
      'public.device_latest',
    ]),
  );
  expect(Object.keys(m.rowCounts).some((t) => /telemetry_(p\d|default)/.test(t))).toBe(false);

  // pg_restore can read it and it holds the tenant data.
  const pgRestore = await findPgTool('pg_restore', Number(m.serverVersion.split('.')[0]));
  const { stdout } = await run(pgRestore.path, ['--list', join(dir, 'ok', result.name)]);
  expect(stdout).toMatch(/TABLE DATA public devices/);
  expect(stdout).toMatch(/POLICY public devices/);

  const everything = JSON.stringify(result) + (await readdir(join(dir, 'ok'))).join() + lines.join('\n');
  expect(everything).not.toContain(PASSWORD);
  expect(lines.join('\n')).toMatch(/backup 20260218T031500000Z\.dump: \d+ bytes, sha256 [0-9a-f]{12}/);
});

test('a pg_dump that fails midway leaves no backup and its error shows no secret', async () => {
  // A stand-in pg_dump: reports version 15+, writes part of an archive, prints the password it was given, fails.
  const bin = join(dir, 'fake-bin');
  await run('mkdir', ['-p', bin]);
  await writeFile(
    join(bin, 'pg_dump'),
    `#!/bin/sh
if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 99.1"; exit 0; fi
printf 'PGDMP partial archive'
echo "pg_dump: error: query failed: connection lost (password $PGPASSWORD)" >&2
exit 1
`,
  );
  await chmod(join(bin, 'pg_dump'), 0o755);
  const store = createLocalDirBackupStore({ dir: join(dir, 'failing') });
  const error = await runDailyBackup({ databaseUrl: url, store, pgBinDir: bin }).then(
    () => null,
    (e: Error) => e,
  );
  expect(error?.message).toMatch(
    /daily backup to local directory .*failed: pg_dump failed \(1\): .*connection lost/,
  );
  expect(error?.message).not.toContain(PASSWORD);
  expect(await store.list()).toEqual([]);
  expect(await readdir(join(dir, 'failing'))).toEqual([]);
});

test('a pg_dump that fails before the store reads anything is a clear error, not an unhandled error event', async () => {
  // The store's set-up (a directory, a network call) can outlast pg_dump on a loaded machine: this
  // one reads nothing until the failure has reached the stream, which used to crash the process.
  const bin = join(dir, 'fake-bin-early');
  await run('mkdir', ['-p', bin]);
  await writeFile(
    join(bin, 'pg_dump'),
    `#!/bin/sh
if [ "$1" = "--version" ]; then echo "pg_dump (PostgreSQL) 99.1"; exit 0; fi
echo "pg_dump: error: connection to server lost" >&2
exit 1
`,
  );
  await chmod(join(bin, 'pg_dump'), 0o755);
  const slowStore = {
    ...createLocalDirBackupStore({ dir: join(dir, 'slow') }),
    description: 'slow store',
    async upload(_name: string, body: Readable) {
      while (!body.destroyed) await new Promise((resolve) => setTimeout(resolve, 5));
      await pipeline(body, new Writable({ write: (_chunk, _enc, done) => done() }));
    },
  };
  const error = await runDailyBackup({ databaseUrl: url, store: slowStore, pgBinDir: bin }).then(
    () => null,
    (e: Error) => e,
  );
  expect(error?.message).toMatch(
    /daily backup to slow store failed: pg_dump failed \(1\): .*connection to server lost/,
  );
});

test('an unreachable database is a clear error without the password', async () => {
  const u = new URL(url);
  u.pathname = '/no_such_database_for_backup';
  const error = await runDailyBackup({
    databaseUrl: u.toString(),
    store: createLocalDirBackupStore({ dir: join(dir, 'none') }),
  }).then(
    () => null,
    (e: Error) => e,
  );
  // The server the tests use (TEST_DATABASE_ADMIN_URL may name another port), password masked.
  expect(error?.message).toContain(
    `cannot connect to postgres://${u.username}:***@${u.host}/no_such_database_for_backup`,
  );
  expect(error?.message).not.toContain(PASSWORD);
});

test('validates its options before touching anything', async () => {
  const store = createLocalDirBackupStore({ dir: join(dir, 'x') });
  await expect(runDailyBackup({ databaseUrl: 'nope', store })).rejects.toThrow(/databaseUrl is not a URL/);
  await expect(runDailyBackup({ databaseUrl: url, store, schemas: ['ops'] })).rejects.toThrow(
    /schemas must include public/,
  );
  await expect(runDailyBackup({ databaseUrl: url, store, retention: { keepDays: 0 } })).rejects.toThrow(
    /keepDays/,
  );
});
