/**
 * A dump that grants to a role the restore server lacks (as a Supabase dump grants to its internal
 * roles): pg_restore errors fail the restore test, unless the operator declared them tolerated.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ADMIN_URL, createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { runChecks } from '../engine/run-checks.js';
import { restoreTestCheck } from '../checks/restore-test.js';
import { runDailyBackup } from './daily-backup.js';
import { createLocalDirBackupStore } from './local-dir-store.js';
import { createRestoreTestSource } from './restore.js';
import type { BackupStore } from './store.js';

const ROLE = `rt_gone_${randomBytes(3).toString('hex')}`;
const SCRATCH = `rte_${randomBytes(3).toString('hex')}`;
let db: TestDatabase;
let dir: string;
let store: BackupStore;

async function sql(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows;
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  db = await createTestDatabase('restore_roles');
  dir = await mkdtemp(join(tmpdir(), 'restore-roles-'));
  store = createLocalDirBackupStore({ dir });
  await sql(ADMIN_URL, `create role ${ROLE} nologin`);
  await sql(db.url, `grant select on public.plans to ${ROLE}`);
  await runDailyBackup({ databaseUrl: db.url, store });
  await sql(db.url, `revoke all on public.plans from ${ROLE}`);
  await sql(ADMIN_URL, `drop role ${ROLE}`);
});
afterAll(async () => {
  await db?.drop();
  await sql(ADMIN_URL, `drop role if exists ${ROLE}`);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a grant to a missing role fails the restore test and names the error', async () => {
  const source = createRestoreTestSource({ store, adminUrl: ADMIN_URL, scratchPrefix: SCRATCH });
  const [result] = await runChecks([restoreTestCheck(source)]);
  expect(result!.status).toBe('fail');
  expect(result!.summary).toMatch(
    new RegExp(`^pg_restore reported 1 error\\(s\\), first: .*role "${ROLE}" does not exist`),
  );
});

test('declared as tolerated, the same restore passes and keeps the error in the evidence', async () => {
  const source = createRestoreTestSource({
    store,
    adminUrl: ADMIN_URL,
    scratchPrefix: SCRATCH,
    toleratedRestoreErrors: [/role "rt_gone_\w+" does not exist/],
  });
  const [result] = await runChecks([restoreTestCheck(source)]);
  expect(result!.status).toBe('ok');
  expect(result!.evidence.join('\n')).toMatch(
    new RegExp(`pg_restore \\(tolerated\\): .*role "${ROLE}" does not exist`),
  );
  const left = await sql(ADMIN_URL, `select datname from pg_database where datname like '${SCRATCH}%'`);
  expect(left).toEqual([]);
});
