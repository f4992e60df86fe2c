/**
 * The archive run with its record in ops.archive_runs (migration 20261201000004_archive_runs.sql):
 * a row when it starts (mode, dry run, the environment's retention), and at its end what it did,
 * its errors, and two measurements the ops checks chart and project (ops/sources/archive-facts.ts):
 * the database's size and the rows in telemetry's default partition. A run that throws has its
 * message recorded as its error, then the throw goes on.
 *
 * Recording never stops the run: the run also keeps the future partitions created, which ingest
 * needs whatever the bookkeeping says. When the start or the end cannot be written, the run's
 * result says why (`recordError`) and the caller reports it as an error.
 */
import type pg from 'pg';
import { runArchive, type ArchiveRunOptions, type ArchiveRunResult } from './run-archive.js';

/** The run's options; `dryRun` is passed through to the run as it is, and recorded. */
export type RecordedArchiveOptions = ArchiveRunOptions & { dryRun?: boolean };

export interface RecordedArchiveResult extends ArchiveRunResult {
  /** Its ops.archive_runs id; null when the start could not be recorded. */
  runId: number | null;
  /** Why the start or the end of the run is not in ops.archive_runs (the run itself went on). */
  recordError?: string;
}

/**
 * Rows of public.telemetry_default are counted up to this many: enough to tell "a few stray rows"
 * from "ingest has been writing there for a while", without reading a default partition that grew
 * unbounded.
 */
export const DEFAULT_PARTITION_COUNT_CAP = 100_001;

/** The database's size and the default partition's rows (bounded), measured in one statement. */
export const DATABASE_BYTES_SQL = `pg_catalog.pg_database_size(pg_catalog.current_database())`;
export const DEFAULT_PARTITION_ROWS_SQL = `(select count(*) from (select from public.telemetry_default limit ${DEFAULT_PARTITION_COUNT_CAP}) capped)`;

export async function runRecordedArchive(
  options: RecordedArchiveOptions,
  run: (options: RecordedArchiveOptions) => Promise<ArchiveRunResult> = runArchive,
): Promise<RecordedArchiveResult> {
  const { pool } = options;
  const log = options.log ?? (() => undefined);
  let runId: number | null = null;
  let recordError: string | undefined;
  try {
    runId = await recordStart(pool, options);
  } catch (error) {
    recordError = `the start of the archive run was not recorded in ops.archive_runs: ${(error as Error).message}`;
    log(recordError);
  }

  let result: ArchiveRunResult;
  try {
    result = await run(options);
  } catch (error) {
    if (runId !== null)
      await recordThrow(pool, runId, error as Error).catch((recording: Error) =>
        log(`the archive run's failure was not recorded in ops.archive_runs: ${recording.message}`),
      );
    throw error;
  }

  if (runId !== null) {
    try {
      await recordEnd(pool, runId, result, options);
    } catch (error) {
      recordError = `the end of archive run ${runId} was not recorded in ops.archive_runs: ${(error as Error).message}`;
      log(recordError);
    }
  }
  return { ...result, runId, ...(recordError ? { recordError } : {}) };
}

async function recordStart(pool: pg.Pool, o: RecordedArchiveOptions): Promise<number> {
  const res = await pool.query<{ id: string }>(
    `insert into ops.archive_runs (actor, mode, dry_run, retention_days) values ($1, $2, $3, $4) returning id`,
    [o.actor ?? 'archive', o.mode, o.dryRun ?? false, o.retentionDays ?? null],
  );
  return Number(res.rows[0]!.id);
}

async function recordEnd(
  pool: pg.Pool,
  id: number,
  r: ArchiveRunResult,
  o: RecordedArchiveOptions,
): Promise<void> {
  // The counts have their own columns; the rest of the result goes to summary as it is.
  const summary = {
    partitionsCreated: r.partitionsCreated,
    days: r.days,
    partitionsDropped: r.partitionsDropped,
    tenantDaysDeleted: r.tenantDaysDeleted,
    purged: r.purged,
    // A dry run's plan can list every tenant of every day: its size only (the caller has the plan).
    ...(r.plan ? { plannedDays: r.plan.length } : {}),
    ...(o.purgeReason && r.purged.length ? { purgeReason: o.purgeReason } : {}),
  };
  await pool.query(
    `update ops.archive_runs
        set finished_at = now(), unfinished = $2, objects_exported = $3, objects_verified = $4,
            rows_verified = $5, rows_removed = $6, errors = $7, summary = $8,
            database_bytes = ${DATABASE_BYTES_SQL}, default_partition_rows = ${DEFAULT_PARTITION_ROWS_SQL}
      where id = $1`,
    [
      id,
      r.unfinished,
      r.objectsExported,
      r.objectsVerified,
      r.rowsVerified,
      r.rowsRemoved,
      r.errors,
      JSON.stringify(summary),
    ],
  );
}

async function recordThrow(pool: pg.Pool, id: number, error: Error): Promise<void> {
  // What the run did before it threw is unknown: no counts, only the error and the measurements.
  await pool.query(
    `update ops.archive_runs
        set finished_at = now(), errors = $2, summary = $3,
            database_bytes = ${DATABASE_BYTES_SQL}, default_partition_rows = ${DEFAULT_PARTITION_ROWS_SQL}
      where id = $1`,
    [id, [`the run failed: ${error.message}`], JSON.stringify({ threw: true })],
  );
}
