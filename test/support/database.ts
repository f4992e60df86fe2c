/**
 * A fresh database per test file on the running PostgreSQL (PostgreSQL refuses to run as root,
 * so tests do not start their own server), with the shim and all migrations applied by the same
 * tool the deploy uses.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { applyMigrations } from '../../supabase/migrate.js';

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

export function databaseUrl(name: string): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

export async function createTestDatabase(
  label: string,
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `t_${label.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  if (options.migrate !== false) await applyMigrations(url, { shim: true });
  return {
    name,
    url,
    async drop() {
      const c = new pg.Client({ connectionString: ADMIN_URL });
      await c.connect();
      try {
        // pg's Pool.end() resolves before its sockets have closed: a forced drop right after it
        // terminates those connections, and the server's FATAL then reaches a client the pool no
        // longer listens to (an unhandled 'error' event). Wait for them to go first (bounded),
        // and force only what is still connected after that.
        for (let attempt = 0; attempt < 50; attempt++) {
          try {
            await c.query(`drop database if exists ${name}`);
            return;
          } catch (error) {
            if ((error as { code?: string }).code !== '55006') throw error; // object_in_use
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        }
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}
