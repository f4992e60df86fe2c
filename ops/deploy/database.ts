/**
 * The deploy's database stage: list the pending migrations (asked of `supabase db push --dry-run`,
 * the tool that applies them), refuse destructive ones nobody allowed (migration-guard.ts), back
 * the database up into the environment's backup store (the daily backup's code), then
 * `supabase db push`. Nothing is applied unless the backup is stored. Forward-only: there are no
 * down migrations and a failed deploy's rollback leaves applied migrations in place.
 *
 * Order: the guard runs before the backup because it changes nothing and is quick: a refused
 * deploy should not spend a dump (minutes on a large database) on a push that will not run. When
 * nothing is pending there is no backup either: nothing is about to change.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { schemaVersion } from '../../common/schema-version.js';
import { applyMigrations, migrationsDir, pendingMigrations } from '../../supabase/migrate.js';
import { runDailyBackup } from '../backup/daily-backup.js';
import type { BackupStore } from '../backup/store.js';
import { backupStoreFor } from '../checks/shared-sources.js';
import { databaseUrl as targetDatabaseUrl, type OpsTarget } from '../config/ops-target.js';
import { ALLOW_TRAILER, formatRefusal, guardMigrations, type GuardReport } from './migration-guard.js';
import type { Stage } from './stages.js';

export interface DatabaseStageOptions {
  target: OpsTarget;
  /** Migration files allowed to destroy data: commit trailers (migration-guard-trailers.ts) and --allow-destructive. */
  allow?: string[];
  /** Progress lines (no secrets). */
  log?: (line: string) => void;
  /** The directory holding supabase/ (config.toml, migrations/); default: this repository. */
  workdir?: string;
  /** Default: the environment's backup store (backup in runbook/environments/<env>.yaml). */
  backupStore?: BackupStore;
  /** Default: the environment's database (databaseUrl in config/ops-target.ts). */
  databaseUrl?: string;
  /** List and review only (a plan): no backup, nothing applied. */
  reviewOnly?: boolean;
  now?: () => Date;
  signal?: AbortSignal;
}

export type DatabaseStageStatus = 'success' | 'refused' | 'failure';

export interface DatabaseStageResult {
  stage: Extract<Stage, 'database'>;
  /** success: applied or nothing pending; refused: the guard stopped it, nothing changed; failure: see error. */
  status: DatabaseStageStatus;
  summary: string;
  /** The migration files applied, in order (on a failure, those applied before it). */
  details: string[];
  /** What was pending before the stage. */
  pending: string[];
  guard?: GuardReport;
  backup?: { name: string; store: string; sizeBytes: number };
  versionBefore: string | null;
  versionAfter: string | null;
  /** The refusal or failure, whole (the summary is its first line). */
  error?: string;
  timings: { pendingMs: number; guardMs?: number; backupMs?: number; pushMs?: number; totalMs: number };
}

export async function runDatabaseStage(options: DatabaseStageOptions): Promise<DatabaseStageResult> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const redact = (text: string) => options.target.secrets.redact(text);
  const timings: DatabaseStageResult['timings'] = { pendingMs: 0, totalMs: 0 };
  const result: DatabaseStageResult = {
    stage: 'database',
    status: 'failure',
    summary: '',
    details: [],
    pending: [],
    versionBefore: null,
    versionAfter: null,
    timings,
  };
  const finish = (status: DatabaseStageStatus, summary: string, error?: string) => {
    result.status = status;
    result.summary = redact(summary);
    if (error) result.error = redact(error);
    timings.totalMs = Date.now() - started;
    log(result.summary);
    return result;
  };
  const fail = (what: string, error: unknown) => {
    const message = `${what}: ${(error as Error).message}`;
    return finish('failure', message.split('\n')[0]!, message);
  };
  const step = async <T>(key: keyof typeof timings, work: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await work();
    } finally {
      timings[key] = Date.now() - t;
    }
  };

  let url: string;
  try {
    url = options.databaseUrl ?? targetDatabaseUrl(options.target);
  } catch (error) {
    return fail('database', error);
  }
  const workdir = options.workdir;

  try {
    result.versionBefore = await readSchemaVersion(url);
    result.pending = await step('pendingMs', () => pendingMigrations(url, { workdir }));
  } catch (error) {
    return fail('listing pending migrations', error);
  }
  result.versionAfter = result.versionBefore;
  const schema = result.versionBefore ?? 'none';
  if (!result.pending.length)
    return finish('success', `no pending migration (schema ${schema}): nothing applied, no backup needed`);
  log(`${result.pending.length} pending migration(s) on schema ${schema}: ${result.pending.join(', ')}`);

  try {
    const dir = migrationsDir(workdir);
    const files = await Promise.all(
      result.pending.map(async (name) => ({ name, sql: await readFile(join(dir, name), 'utf8') })),
    );
    result.guard = await step('guardMs', () => guardMigrations(files, options.allow ?? []));
  } catch (error) {
    return fail('reviewing pending migrations', error);
  }
  const guard = result.guard;
  for (const a of guard.unusedAllowances) log(`allowance for ${a} matches no pending migration: ignored`);
  for (const n of guard.nonTransactional)
    log(
      `note: ${n.file}:${n.line} (${n.reason}) makes supabase db push run this file statement by statement, not in one transaction`,
    );
  if (guard.refused.length) {
    const refusal = formatRefusal(guard);
    const files = [...new Set(guard.refused.map((f) => f.file))];
    const done = finish(
      'refused',
      `refused, nothing applied: ${files.join(', ')} would destroy data (allow a file by name: ${ALLOW_TRAILER})`,
      refusal,
    );
    for (const line of refusal.split('\n')) log(line);
    return done;
  }
  for (const f of guard.allowed) log(`allowed: ${f.file}:${f.line}: ${f.detail}`);
  if (options.reviewOnly)
    return finish(
      'success',
      `would apply ${result.pending.length} migration(s): ${result.pending.join(', ')} (review only)`,
    );

  if (result.versionBefore === null) {
    // daily-backup.ts refuses a database without an applied migration: there is none of the
    // platform's data to keep yet (a first deploy onto an empty database).
    log('no migration applied yet (an empty database): no backup to take');
  } else {
    try {
      const store = options.backupStore ?? backupStoreFor(options.target);
      const backup = await step('backupMs', () =>
        runDailyBackup({ databaseUrl: url, store, log, now: options.now, signal: options.signal }),
      );
      result.backup = { name: backup.name, store: backup.store, sizeBytes: backup.metadata.sizeBytes };
    } catch (error) {
      return fail('backup failed, nothing applied', error);
    }
  }

  try {
    result.details = await step('pushMs', () => applyMigrations(url, { shim: false, workdir }));
  } catch (error) {
    // The CLI reports only the error: which files made it is what is no longer pending.
    const still = await pendingMigrations(url, { workdir }).catch(() => undefined);
    result.details = still ? result.pending.filter((f) => !still.includes(f)) : [];
    result.versionAfter = await readSchemaVersion(url).catch(() => null);
    const applied = still
      ? `applied before it failed: ${result.details.join(', ') || 'none'}`
      : 'applied: unknown';
    return fail(`supabase db push (${applied})`, error);
  }
  result.versionAfter = await readSchemaVersion(url).catch(() => null);
  const unreviewed = result.details.filter((f) => !result.pending.includes(f));
  if (unreviewed.length)
    return finish(
      'failure',
      `supabase db push applied migrations the guard never reviewed: ${unreviewed.join(', ')}`,
    );
  const backup = result.backup ? `after backup ${result.backup.name}` : 'no backup (empty database)';
  return finish(
    'success',
    `applied ${result.details.length} migration(s) (schema ${schema} -> ${result.versionAfter ?? 'none'}) ${backup}: ${result.details.join(', ')}`,
  );
}

/** The newest applied migration; null when none is (no supabase_migrations.schema_migrations yet). */
async function readSchemaVersion(url: string): Promise<string | null> {
  const client = new pg.Client({ connectionString: url, application_name: 'ops-deploy-database' });
  await client.connect();
  try {
    return await schemaVersion(client);
  } catch (error) {
    if ((error as { code?: string }).code === '42P01' || (error as { code?: string }).code === '3F000')
      return null;
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}
