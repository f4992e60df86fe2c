/**
 * Applies the migrations with the tool the deploy uses: `supabase db push` (npm package
 * `supabase`, pinned in package.json) against a database URL. For a plain PostgreSQL (sandbox,
 * tests, CI) the Supabase shim is applied first. `pendingMigrations` asks the same command
 * (`--dry-run`) which files it would apply, so the deploy's list is the tool's, not a re-derivation.
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

export interface PushOptions {
  /** The directory that holds supabase/ (config.toml, migrations/); default: this repository. */
  workdir?: string;
}

export interface MigrateOptions extends PushOptions {
  /** Apply supabase/local/supabase-shim.sql first: only for databases that are not Supabase. */
  shim: boolean;
}

/** supabase/migrations of a workdir. */
export function migrationsDir(workdir = REPO_ROOT): string {
  return join(workdir, 'supabase', 'migrations');
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

/** Applies every pending migration; returns the files applied, in order (empty: up to date). */
export async function applyMigrations(databaseUrl: string, options: MigrateOptions): Promise<string[]> {
  if (options.shim) await applyShim(databaseUrl);
  return push(databaseUrl, options, []);
}

/**
 * The migration files `supabase db push` would apply to the database, in order: those whose
 * version is not in supabase_migrations.schema_migrations (`--include-all`: also one older than
 * the newest applied, as applyMigrations applies it). Changes nothing.
 */
export async function pendingMigrations(databaseUrl: string, options: PushOptions = {}): Promise<string[]> {
  return push(databaseUrl, options, ['--dry-run']);
}

interface PushOutput {
  migrations?: unknown;
  error?: { code?: string; message?: string };
}

async function push(databaseUrl: string, options: PushOptions, extra: string[]): Promise<string[]> {
  const workdir = options.workdir ?? REPO_ROOT;
  const args = ['db', 'push', `--remote=${databaseUrl}`, '--yes', '--include-all'];
  args.push(`--workdir=${workdir}`, '--output-format=json', ...extra);
  const what = extra.includes('--dry-run') ? 'supabase db push --dry-run' : 'supabase db push';
  // The URL carries the password; nothing the CLI says about it goes out unredacted.
  const scrub = (text: string) => text.split(databaseUrl).join(redactUrl(databaseUrl));
  let stdout: string;
  try {
    ({ stdout } = await run(SUPABASE_BIN, args, {
      cwd: workdir,
      env: { ...process.env, SUPABASE_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' },
      timeout: 120_000,
      maxBuffer: 16 * 1024 * 1024,
    }));
  } catch (error) {
    const e = error as { stderr?: string; stdout?: string; message: string };
    const reported = parseOutput(e.stdout ?? '')?.error;
    const detail = reported?.message
      ? `${reported.code ? `${reported.code}: ` : ''}${reported.message}`
      : e.stderr || e.stdout || e.message;
    throw new Error(`${what} failed for ${redactUrl(databaseUrl)}: ${scrub(detail.trim()).slice(-2000)}`);
  }
  const files = parseOutput(stdout)?.migrations;
  if (!Array.isArray(files) || !files.every((f) => typeof f === 'string'))
    throw new Error(`${what}: unexpected output (no migrations list): ${scrub(stdout).slice(0, 500)}`);
  return files;
}

/** The CLI's JSON result (`--output-format=json`): the last stdout line that is a JSON object. */
function parseOutput(stdout: string): PushOutput | undefined {
  for (const line of stdout.trim().split('\n').reverse()) {
    if (!line.startsWith('{')) continue;
    try {
      return JSON.parse(line) as PushOutput;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** The newest migration version in supabase/migrations (what a deployed schema should report). */
export function latestMigrationVersion(dir = migrationsDir()): string {
  const versions = readdirSync(dir)
    .map((file) => /^(\d{14})_.+\.sql$/.exec(file)?.[1])
    .filter((v): v is string => v !== undefined)
    .sort();
  const latest = versions.at(-1);
  if (!latest) throw new Error(`no migrations (<14 digits>_<name>.sql) in ${dir}`);
  return latest;
}
