/**
 * Applies the migrations with the tool the deploy uses: `supabase db push` (npm package
 * `supabase`, pinned in package.json) against a database URL. For a plain PostgreSQL (sandbox,
 * tests, CI) the Supabase shim is applied first.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { redactUrl } from '../common/redact-url.js';

const run = promisify(execFile);
export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SHIM_FILE = join(REPO_ROOT, 'supabase', 'local', 'supabase-shim.sql');
const SUPABASE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'supabase');

export interface MigrateOptions {
  /** Apply supabase/local/supabase-shim.sql first: only for databases that are not Supabase. */
  shim: boolean;
}

export async function applyShim(databaseUrl: string): Promise<void> {
  const sql = await readFile(SHIM_FILE, 'utf8');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function applyMigrations(databaseUrl: string, options: MigrateOptions): Promise<void> {
  if (options.shim) await applyShim(databaseUrl);
  try {
    await run(SUPABASE_BIN, ['db', 'push', `--remote=${databaseUrl}`, '--yes', '--include-all'], {
      cwd: REPO_ROOT,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      timeout: 120_000,
    });
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    throw new Error(
      `supabase db push failed for ${redactUrl(databaseUrl)}: ${(e.stderr || e.stdout || e.message).trim().slice(-2000)}`,
    );
  }
}

/** The newest migration version in supabase/migrations (what a deployed schema should report). */
export function latestMigrationVersion(dir = join(REPO_ROOT, 'supabase', 'migrations')): string {
  const versions = readdirSync(dir)
    .map((file) => /^(\d{14})_.+\.sql$/.exec(file)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort();
  const latest = versions.at(-1);
  if (!latest) throw new Error(`no migrations (<14 digits>_<name>.sql) in ${dir}`);
  return latest;
}
