/**
 * The database stage on real PostgreSQL with the real `supabase db push` and pg_dump: a database
 * with every committed migration applied, and a copy of supabase/ (config.toml, migrations/) that
 * gains the migrations of a later merge, one test at a time.
 */
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { applyShim, latestMigrationVersion, migrationsDir, REPO_ROOT } from '../../supabase/migrate.js';
import type { BackupStore } from '../backup/store.js';
import { backupStoreFor } from '../checks/shared-sources.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import { createSecretReader } from '../config/secrets.js';
import { runDatabaseStage, type DatabaseStageOptions } from './database.js';

// Trust auth ignores it: a password only to prove it never reaches the report.
const PASSWORD = 'deploy-Pw-4b1e';

let db: TestDatabase;
let tmp: string;
let workdir: string;
let target: OpsTarget;
let store: BackupStore;
let lines: string[];

beforeAll(async () => {
  db = await createTestDatabase('deploy_database');
  tmp = await mkdtemp(join(tmpdir(), 'deploy-database-'));
  workdir = join(tmp, 'repo');
  await cp(join(REPO_ROOT, 'supabase', 'config.toml'), join(workdir, 'supabase', 'config.toml'));
  await cp(migrationsDir(), migrationsDir(workdir), { recursive: true });
  const url = new URL(db.url);
  url.password = PASSWORD;
  const env = { DEPLOY_TEST_DATABASE_URL: url.toString() };
  const config = {
    name: 'deploytest',
    description: 'the database stage test',
    sandbox: false,
    database: { urlEnv: 'DEPLOY_TEST_DATABASE_URL' },
    backup: { store: 'local', location: join(tmp, 'backups'), prefix: 'deploytest/', keepDays: 30 },
    budget: { monthlyUsd: 1, aiMonthlyUsd: 1 },
    thresholds: {},
  } satisfies EnvironmentConfig;
  target = { name: 'deploytest', config, secrets: createSecretReader('deploytest', env), env };
  store = backupStoreFor(target);
});
afterAll(async () => {
  await db?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

function stage(options: Partial<DatabaseStageOptions> = {}) {
  lines = [];
  return runDatabaseStage({ target, workdir, log: (l) => lines.push(l), ...options });
}

async function addMigration(name: string, sql: string): Promise<void> {
  await writeFile(join(migrationsDir(workdir), name), sql);
}

async function query<T extends pg.QueryResultRow>(sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

async function columns(table: string): Promise<string[]> {
  const rows = await query<{ column_name: string }>(
    `select column_name from information_schema.columns where table_schema = 'public' and table_name = '${table}' order by ordinal_position`,
  );
  return rows.map((r) => r.column_name);
}

function failingStore(): BackupStore {
  return {
    ...store,
    description: 'a store that refuses uploads',
    upload: async (_name, body) => {
      body.destroy();
      throw new Error('upload refused by the test store');
    },
  };
}

const SAFE = '20991201000001_device_notes.sql';
const DESTRUCTIVE = '20991201000002_drop_device_note_body.sql';

test('nothing pending: a no-op, and no backup taken', async () => {
  const result = await stage();
  expect(result).toMatchObject({
    stage: 'database',
    status: 'success',
    details: [],
    pending: [],
    versionBefore: latestMigrationVersion(),
    versionAfter: latestMigrationVersion(),
  });
  expect(result.summary).toMatch(
    /^no pending migration \(schema \d{14}\): nothing applied, no backup needed$/,
  );
  expect(result.backup).toBeUndefined();
  expect(await store.list()).toEqual([]);
});

test('one pending safe migration: backed up into the environment’s store, then applied', async () => {
  await addMigration(
    SAFE,
    `-- A later merge's migration.
create table public.device_notes (id bigint generated always as identity primary key, body text, author text);
insert into public.device_notes (body, author) values ('first', 'ops'), ('second', 'ops');
`,
  );
  const result = await stage();
  expect(result.status).toBe('success');
  expect(result.pending).toEqual([SAFE]);
  expect(result.details).toEqual([SAFE]);
  expect(result.versionAfter).toBe('20991201000001');
  expect(result.guard).toMatchObject({ refused: [], allowed: [] });
  const backups = await store.list();
  expect(backups).toHaveLength(1);
  expect(result.backup).toMatchObject({ name: backups[0]!.name, store: store.description });
  // The backup holds the schema from before the push.
  expect(backups[0]!.metadata?.schemaVersion).toBe(latestMigrationVersion());
  expect(result.summary).toMatch(
    new RegExp(
      `^applied 1 migration\\(s\\) \\(schema \\d{14} -> 20991201000001\\) after backup ${backups[0]!.name}: ${SAFE}$`,
    ),
  );
  expect(result.timings.backupMs).toBeGreaterThan(0);
  expect(result.timings.pushMs).toBeGreaterThan(0);
  expect(await columns('device_notes')).toEqual(['id', 'body', 'author']);
});

test('a destructive migration is refused: nothing applied, no backup, the report says where and how to allow it', async () => {
  await addMigration(
    DESTRUCTIVE,
    `create index device_notes_author on public.device_notes (author);

alter table public.device_notes drop column body;
`,
  );
  const result = await stage();
  expect(result.status).toBe('refused');
  expect(result.details).toEqual([]);
  expect(result.pending).toEqual([DESTRUCTIVE]);
  expect(result.versionAfter).toBe('20991201000001');
  expect(result.summary).toBe(
    `refused, nothing applied: ${DESTRUCTIVE} would destroy data (allow a file by name: Allow-destructive-migration)`,
  );
  expect(result.error).toMatch(/^refused: 1 pending migration would destroy data \(nothing was applied\):\n/);
  expect(result.error).toContain(
    `supabase/migrations/${DESTRUCTIVE}:3: drop column public.device_notes.body [drop column]: alter table public.device_notes drop column body`,
  );
  expect(result.error).toContain(`Allow-destructive-migration: ${DESTRUCTIVE}`);
  expect(result.error).toContain(`--allow-destructive ${DESTRUCTIVE}`);
  expect(lines.join('\n')).toContain(`${DESTRUCTIVE}:3`);
  expect(await columns('device_notes')).toEqual(['id', 'body', 'author']);
  expect(await query(`select 1 from pg_indexes where indexname = 'device_notes_author'`)).toEqual([]);
  expect(await store.list()).toHaveLength(1);
});

test('a failed backup stops the stage before the push', async () => {
  const result = await stage({ allow: [DESTRUCTIVE], backupStore: failingStore() });
  expect(result.status).toBe('failure');
  expect(result.summary).toMatch(
    /^backup failed, nothing applied: daily backup to a store that refuses uploads failed/,
  );
  expect(result.details).toEqual([]);
  expect(result.timings.pushMs).toBeUndefined();
  expect(await columns('device_notes')).toEqual(['id', 'body', 'author']);
});

test('with the allowance it is backed up and applied', async () => {
  const result = await stage({ allow: [DESTRUCTIVE, '20991201000099_not_pending.sql'] });
  expect(result.status).toBe('success');
  expect(result.details).toEqual([DESTRUCTIVE]);
  expect(result.guard?.allowed.map((f) => `${f.file}:${f.line} ${f.rule}`)).toEqual([
    `${DESTRUCTIVE}:3 drop column`,
  ]);
  expect(result.guard?.unusedAllowances).toEqual(['20991201000099_not_pending.sql']);
  expect(lines).toContain(
    'allowance for 20991201000099_not_pending.sql matches no pending migration: ignored',
  );
  expect(await columns('device_notes')).toEqual(['id', 'author']);
  const backups = await store.list();
  expect(backups).toHaveLength(2);
  expect(backups[1]!.metadata?.schemaVersion).toBe('20991201000001');
});

test('a push that fails halfway: the report names what ran (files before it stay applied)', async () => {
  await addMigration('20991201000003_tags.sql', 'create table public.device_tags (tag text primary key);\n');
  await addMigration(
    '20991201000004_broken.sql',
    "create table public.half_done (id int);\ninsert into public.device_tags values ('a'), ('a');\n",
  );
  const result = await stage();
  expect(result.status).toBe('failure');
  expect(result.pending).toEqual(['20991201000003_tags.sql', '20991201000004_broken.sql']);
  expect(result.details).toEqual(['20991201000003_tags.sql']);
  expect(result.versionAfter).toBe('20991201000003');
  expect(result.summary).toMatch(/^supabase db push \(applied before it failed: 20991201000003_tags.sql\): /);
  expect(result.error).toMatch(/duplicate key value violates unique constraint/);
  // Each file is one transaction: the failing file left nothing behind.
  expect(await query(`select to_regclass('public.half_done') as t`)).toEqual([{ t: null }]);
  const report = JSON.stringify(result) + lines.join('\n');
  expect(report).not.toContain(PASSWORD);
});

test('a first deploy onto an empty database: every committed migration passes the guard and is applied, no backup', async () => {
  const empty = await createTestDatabase('deploy_database_empty', { migrate: false });
  try {
    // What Supabase provides (roles, auth): a plain PostgreSQL needs the shim, as the sandbox does.
    await applyShim(empty.url);
    const result = await stage({ databaseUrl: empty.url, workdir: REPO_ROOT, backupStore: failingStore() });
    expect(result.status).toBe('success');
    expect(result.versionBefore).toBeNull();
    expect(result.details).toEqual(result.pending);
    expect(result.details.length).toBeGreaterThanOrEqual(11);
    expect(result.versionAfter).toBe(latestMigrationVersion());
    expect(result.backup).toBeUndefined();
    expect(lines).toContain('no migration applied yet (an empty database): no backup to take');
  } finally {
    await empty.drop();
  }
});
