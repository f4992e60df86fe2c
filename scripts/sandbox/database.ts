/**
 * The sandbox database: DATABASE_URL when given; else the PostgreSQL on 127.0.0.1:5432 when it
 * answers (a new database of the run's own); else PostgreSQL in WebAssembly (PGlite) served over
 * the wire protocol, so a laptop with only Node works. Migrations are applied with
 * `supabase db push` in every case.
 *
 * On the local server several sandboxes (checkouts, `npm start` next to `npm run dev`, tests) share
 * one PostgreSQL, so nothing is named or dropped by a fixed name: each run creates
 * `mqtt_saas_<mode>_<checkout hash>_<run id>`, holds an owner session on it for its lifetime and
 * records its owner (pid, start time, host, checkout) as the database's comment. A start drops only
 * the databases of sandboxes that are provably gone: no owner session and, on this host, the
 * owner's process gone or its pid reused. Databases without an owner record are never touched.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { applyMigrations } from '../../supabase/migrate.js';
import { redactUrl } from '../../common/redact-url.js';
import { ownerAlive, type SandboxOwner, type ServiceKind } from '../../common/local-env.js';
import { freePort } from '../../test/support/free-port.js';

export interface SandboxDatabase {
  url: string;
  kind: ServiceKind;
  /**
   * Connections the platform's pool may open. PGlite is one single-user backend behind its socket
   * server: statements of several connections would interleave inside each other's transactions,
   * so the embedded database gets exactly one.
   */
  poolMax: number;
  /** The run's own database on the local server (kind 'real'). */
  name?: string;
  /** Closes the owner session (the database stays, for a look after the run, until a later start drops it). */
  stop(): Promise<void>;
}

export const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

/** Every sandbox database's name starts with this; the cleanup looks at no other. */
export const SANDBOX_DATABASE_PREFIX = 'mqtt_saas_';
/** The owner session's application_name: a sandbox holds one on its database while it runs. */
export const OWNER_SESSION_NAME = 'mqtt-saas sandbox owner';

/** A run's database: per checkout (a sandbox in another checkout never gets it) and per run. */
export function sandboxDatabaseName(owner: SandboxOwner): string {
  const checkout = createHash('sha256').update(owner.checkout).digest('hex').slice(0, 8);
  return `${SANDBOX_DATABASE_PREFIX}${owner.mode}_${checkout}_${owner.runId}`.toLowerCase();
}

export async function provideDatabase(options: {
  url?: string;
  owner: SandboxOwner;
  log: (line: string) => void;
  /** Skip the local PostgreSQL even when it answers (tests of the laptop path). */
  embedded?: boolean;
  /** Admin URL of the local server (tests); the default is 127.0.0.1:5432. */
  adminUrl?: string;
}): Promise<SandboxDatabase> {
  const adminUrl = options.adminUrl ?? LOCAL_ADMIN_URL;
  if (options.url) {
    options.log(`database: given ${redactUrl(options.url)}`);
    await applyMigrations(options.url, { shim: !(await isSupabase(options.url)) });
    return { url: options.url, kind: 'given', poolMax: 6, stop: async () => undefined };
  }
  if (!options.embedded && (await reachable(adminUrl))) {
    const name = sandboxDatabaseName(options.owner);
    const url = databaseUrlOf(adminUrl, name);
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    try {
      await dropDeadSandboxDatabases(admin, options.log);
      // Created without a comment: until the owner session below holds it, no cleanup touches it.
      await admin.query(`create database ${admin.escapeIdentifier(name)}`);
    } finally {
      await admin.end();
    }
    const session = new pg.Client({ connectionString: url, application_name: OWNER_SESSION_NAME });
    session.on('error', (e) => options.log(`database owner session: ${e.message}`));
    try {
      await session.connect();
      await session.query(
        `comment on database ${session.escapeIdentifier(name)} is ${session.escapeLiteral(JSON.stringify(options.owner))}`,
      );
      options.log(`database: real PostgreSQL, database ${name}`);
      await applyMigrations(url, { shim: true });
    } catch (error) {
      await session.end().catch(() => undefined);
      throw error;
    }
    return { url, kind: 'real', poolMax: 6, name, stop: () => session.end() };
  }
  options.log(`database: ${embeddedReason(options.embedded)}, starting embedded PGlite (correct, not fast)`);
  const { PGlite } = await import('@electric-sql/pglite');
  const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
  const db = await PGlite.create();
  const port = await freePort();
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port, maxConnections: 4 });
  await server.start();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres?sslmode=disable`;
  await applyMigrations(url, { shim: true });
  return {
    url,
    kind: 'embedded',
    poolMax: 1,
    stop: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/** Why the embedded database runs: asked for, or no local PostgreSQL. */
function embeddedReason(asked: boolean | undefined): string {
  if (!asked) return 'no PostgreSQL on 127.0.0.1:5432';
  return `embedded asked for${process.env.SANDBOX_EMBEDDED === '1' ? ' by SANDBOX_EMBEDDED=1' : ''}`;
}

function databaseUrlOf(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Why a sandbox database may be dropped, or null while its sandbox may still run. */
export async function deadSandboxReason(
  admin: pg.Client,
  name: string,
  comment: string | null,
): Promise<string | null> {
  let owner: SandboxOwner;
  try {
    owner = JSON.parse(comment ?? '') as SandboxOwner;
  } catch {
    return null; // no owner record: not ours to judge (an older sandbox's, or someone else's)
  }
  if (typeof owner?.pid !== 'number' || typeof owner.hostname !== 'string') return null;
  // The session is the proof that works across hosts and survives nothing but its process.
  const session = await admin.query(
    `select 1 from pg_stat_activity where datname = $1 and application_name = $2 limit 1`,
    [name, OWNER_SESSION_NAME],
  );
  if (session.rowCount) return null;
  const live = ownerAlive(owner);
  // Without a session and on another host: the owner is gone or lost its connection for good.
  return live.alive ? null : `owner ${owner.mode} sandbox of ${owner.checkout}: ${live.reason}`;
}

/** Drops the databases of sandboxes that are gone, so per-run databases do not pile up. */
export async function dropDeadSandboxDatabases(
  admin: pg.Client,
  log: (line: string) => void,
): Promise<string[]> {
  const { rows } = await admin.query<{ datname: string; comment: string | null }>(
    `select datname, shobj_description(oid, 'pg_database') as comment from pg_database
      where starts_with(datname, $1)`,
    [SANDBOX_DATABASE_PREFIX],
  );
  const dropped: string[] = [];
  for (const { datname, comment } of rows) {
    const reason = await deadSandboxReason(admin, datname, comment);
    if (reason === null) continue;
    try {
      await admin.query(`drop database if exists ${admin.escapeIdentifier(datname)} with (force)`);
      dropped.push(datname);
      log(`database: dropped ${datname} (${reason})`);
    } catch (error) {
      // Another start may be dropping it at the same moment.
      log(`database: could not drop ${datname}: ${(error as Error).message}`);
    }
  }
  return dropped;
}

async function reachable(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1500 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

async function isSupabase(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const res = await client.query(
      `select to_regnamespace('auth') is not null and to_regrole('service_role') is not null as yes`,
    );
    return (
      res.rows[0].yes === true &&
      (await client.query(`select 1 from pg_roles where rolname = 'supabase_admin'`)).rowCount === 1
    );
  } finally {
    await client.end();
  }
}
