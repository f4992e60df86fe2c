/**
 * Sandbox databases on a shared local PostgreSQL: each run gets its own, named per checkout and
 * run, and a start drops only the databases of sandboxes that are provably gone. Other developers'
 * sandboxes and tests use the same server at the same time, so this file asserts what exists
 * afterwards, never who dropped it.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { hostname } from 'node:os';
import pg from 'pg';
import { currentOwner, processStartToken, type SandboxOwner } from '../../common/local-env.js';
import { ADMIN_URL, databaseUrl } from '../../test/support/database.js';
import {
  dropDeadSandboxDatabases,
  OWNER_SESSION_NAME,
  provideDatabase,
  sandboxDatabaseName,
  type SandboxDatabase,
} from './database.js';

const created = new Set<string>();
const sessions: pg.Client[] = [];
let admin: pg.Client;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
});
afterAll(async () => {
  for (const s of sessions) await s.end().catch(() => undefined);
  for (const name of created)
    await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
  await admin.end();
});

const exists = async (name: string) =>
  (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;

const commentOf = async (name: string) =>
  (
    await admin.query<{ c: string | null }>(
      `select shobj_description(oid, 'pg_database') c from pg_database where datname = $1`,
      [name],
    )
  ).rows[0]?.c;

/** A database as a sandbox leaves it: owner comment, and the owner session while it "runs". */
async function ownedDatabase(owner: SandboxOwner, options: { session: boolean; comment?: boolean }) {
  const name = sandboxDatabaseName(owner);
  created.add(name);
  await admin.query(`create database ${admin.escapeIdentifier(name)}`);
  if (options.comment !== false)
    await admin.query(
      `comment on database ${admin.escapeIdentifier(name)} is ${admin.escapeLiteral(JSON.stringify(owner))}`,
    );
  if (options.session) {
    const session = new pg.Client({
      connectionString: databaseUrl(name),
      application_name: OWNER_SESSION_NAME,
    });
    session.on('error', () => undefined); // dropped with (force) when a test goes wrong
    await session.connect();
    sessions.push(session);
  }
  return name;
}

/** The pid and start time of a process that has exited since. */
async function deadProcess(): Promise<{ pid: number; processStart: string | null }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  const pid = child.pid!;
  const processStart = processStartToken(pid);
  child.kill('SIGKILL');
  await once(child, 'exit');
  return { pid, processStart };
}

test('names: per checkout and per run, valid identifiers', () => {
  const a1 = currentOwner('dev', '/home/x/checkout-a');
  const a2 = currentOwner('dev', '/home/x/checkout-a');
  const b = { ...a1, checkout: '/home/x/checkout-b' };
  const names = [a1, a2, b, { ...a1, mode: 'start' as const }].map(sandboxDatabaseName);
  expect(new Set(names).size).toBe(4);
  for (const n of names) {
    expect(n).toMatch(/^mqtt_saas_(dev|start)_[0-9a-f]{8}_[0-9a-f]{8}$/);
    expect(n.length).toBeLessThanOrEqual(63);
  }
});

test('two sandboxes of two checkouts at once: each its own database, neither dropped by the other', async () => {
  const owners = [currentOwner('test', '/tmp/checkout-a'), currentOwner('test', '/tmp/checkout-b')];
  const log: string[] = [];
  const dbs: SandboxDatabase[] = [];
  try {
    // Started together, as two `npm run dev` in two checkouts would be.
    const started = await Promise.allSettled(
      owners.map((owner) => provideDatabase({ owner, log: (l) => log.push(l), adminUrl: ADMIN_URL })),
    );
    for (const s of started) if (s.status === 'fulfilled') dbs.push(s.value);
    for (const d of dbs) created.add(d.name!);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    expect(dbs.map((d) => d.kind)).toEqual(['real', 'real']);
    expect(dbs.map((d) => d.name)).toEqual(owners.map(sandboxDatabaseName));
    for (const [i, d] of dbs.entries()) expect(JSON.parse((await commentOf(d.name!))!)).toEqual(owners[i]);

    // A third start's cleanup keeps both; both are migrated and usable.
    await dropDeadSandboxDatabases(admin, () => undefined);
    for (const d of dbs) {
      expect(await exists(d.name!)).toBe(true);
      const c = new pg.Client({ connectionString: d.url });
      await c.connect();
      expect(
        (await c.query(`select to_regclass('public.telemetry') is not null as migrated`)).rows[0],
      ).toEqual({
        migrated: true,
      });
      await c.end();
    }
  } finally {
    for (const d of dbs) await d.stop();
  }
  // Stopped (owner sessions closed) but their process, this one, still runs: still kept.
  await dropDeadSandboxDatabases(admin, () => undefined);
  for (const d of dbs) expect(await exists(d.name!)).toBe(true);
  expect(log.filter((l) => dbs.some((d) => l.includes(`dropped ${d.name!}`)))).toEqual([]);
});

test('a start drops the databases of gone sandboxes, and only those', async () => {
  const dead = await deadProcess();
  const live = currentOwner('test', '/tmp/live');
  const elsewhere = { ...currentOwner('test', '/tmp/elsewhere'), hostname: `not-${hostname()}` };
  const gone = {
    processGone: await ownedDatabase({ ...currentOwner('test', '/tmp/gone'), ...dead }, { session: false }),
    pidReused: await ownedDatabase(
      { ...currentOwner('test', '/tmp/reused'), processStart: 'another-boot:1' },
      { session: false },
    ),
    otherHostNoSession: await ownedDatabase(elsewhere, { session: false }),
  };
  const kept = {
    live: await ownedDatabase(live, { session: false }),
    otherHostWithSession: await ownedDatabase({ ...elsewhere, runId: 'aaaabbbb' }, { session: true }),
    // A session proves a live owner even where the pid cannot (a host whose pids we do not see).
    processGoneWithSession: await ownedDatabase(
      { ...currentOwner('test', '/tmp/gone-session'), ...dead },
      { session: true },
    ),
    noOwnerRecord: await ownedDatabase(currentOwner('test', '/tmp/no-record'), {
      session: false,
      comment: false,
    }),
  };
  const log: string[] = [];
  await dropDeadSandboxDatabases(admin, (l) => log.push(l));
  for (const [what, name] of Object.entries(gone)) expect([what, await exists(name)]).toEqual([what, false]);
  for (const [what, name] of Object.entries(kept)) expect([what, await exists(name)]).toEqual([what, true]);
  // What this run dropped, it says why (another test's start may have dropped some first).
  for (const line of log.filter((l) => l.includes(gone.processGone)))
    expect(line).toMatch(new RegExp(`pid ${dead.pid}`));
});
