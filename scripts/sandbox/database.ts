/**
 * The sandbox database: DATABASE_URL when given; else the PostgreSQL on 127.0.0.1:5432 when it
 * answers (a database of the sandbox's own, recreated); else PostgreSQL in WebAssembly (PGlite)
 * served over the wire protocol, so a laptop with only Node works. Migrations are applied with
 * `supabase db push` in every case.
 */
import pg from 'pg';
import { applyMigrations } from '../../supabase/migrate.js';
import { redactUrl } from '../../common/redact-url.js';
import type { ServiceKind } from '../../common/local-env.js';
import { freePort } from '../../common/free-port.js';

export interface SandboxDatabase {
  url: string;
  kind: ServiceKind;
  /**
   * Connections the platform's pool may open. PGlite is one single-user backend behind its socket
   * server: statements of several connections would interleave inside each other's transactions,
   * so the embedded database gets exactly one.
   */
  poolMax: number;
  stop(): Promise<void>;
}

const LOCAL_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export async function provideDatabase(options: {
  url?: string;
  name: string;
  log: (line: string) => void;
  /** Skip the local PostgreSQL even when it answers (tests of the laptop path). */
  embedded?: boolean;
}): Promise<SandboxDatabase> {
  if (options.url) {
    options.log(`database: given ${redactUrl(options.url)}`);
    await applyMigrations(options.url, { shim: !(await isSupabase(options.url)) });
    return { url: options.url, kind: 'given', poolMax: 6, stop: async () => undefined };
  }
  if (!options.embedded && (await reachable(LOCAL_ADMIN_URL))) {
    const admin = new pg.Client({ connectionString: LOCAL_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`drop database if exists ${options.name} with (force)`);
      await admin.query(`create database ${options.name}`);
    } finally {
      await admin.end();
    }
    const url = LOCAL_ADMIN_URL.replace(/\/postgres$/, `/${options.name}`);
    options.log(`database: real PostgreSQL, database ${options.name}`);
    await applyMigrations(url, { shim: true });
    return { url, kind: 'real', poolMax: 6, stop: async () => undefined };
  }
  options.log(
    `database: ${options.embedded ? 'embedded requested' : 'no PostgreSQL on 127.0.0.1:5432'}, starting embedded PGlite (correct, not fast)`,
  );
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
