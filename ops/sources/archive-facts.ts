/**
 * What the archive checks (daily.archive, golive.archive) know about the telemetry archive, read
 * in one go from the platform database: its runs (ops.archive_runs, common/archive/archive-run-record.ts),
 * objects that failed or are stuck (ops.archive_objects), the oldest day telemetry still holds,
 * every tenant's retention (ops.archive_retention), the database's size and the rows waiting in
 * telemetry's default partition.
 *
 * Cheap at any size: runs and objects by their indexes; the oldest day from the catalog's day
 * partitions, each asked only whether it has a row (oldest first, stopping at the first that has);
 * the default partition counted up to a cap. Never a scan of telemetry. Connects with a role that
 * bypasses RLS (the service role).
 */
import type pg from 'pg';
import { DATABASE_BYTES_SQL, DEFAULT_PARTITION_COUNT_CAP } from '../../common/archive/archive-run-record.js';
import type { ArchiveMode } from '../../common/archive/plan-day.js';

export interface ArchiveRun {
  id: number;
  /** Milliseconds since the epoch. */
  startedAt: number;
  /** Null while running, or for ever when it was killed. */
  finishedAt: number | null;
  actor: string;
  mode: ArchiveMode;
  dryRun: boolean;
  retentionDays: number | null;
  unfinished: boolean | null;
  objectsExported: number | null;
  objectsVerified: number | null;
  rowsVerified: number | null;
  rowsRemoved: number | null;
  errors: string[];
  databaseBytes: number | null;
  defaultPartitionRows: number | null;
}

export interface ArchiveProblemObject {
  blobName: string;
  tenant: string;
  day: string;
  state: 'failed' | 'exporting' | 'uploaded';
  error: string | null;
  /** When its state last changed (ms). */
  updatedAt: number;
}

export interface ArchiveFacts {
  /** The newest run that finished, dry runs left out: what the archive last did. */
  lastFinished: ArchiveRun | null;
  /** The newest run that started, finished or not, dry runs left out. */
  lastStarted: ArchiveRun | null;
  /** Finished runs (dry runs too: they measure alike) of the last `sampleDays` days, oldest first. */
  recentRuns: ArchiveRun[];
  /** Objects failed, or exporting/uploaded untouched for more than `stuckHours`: oldest first, at most `maxObjects`. */
  problemObjects: ArchiveProblemObject[];
  /** All of them, listed or not. */
  problemObjectCount: number;
  /** The oldest UTC day (YYYY-MM-DD) whose day partition holds a row; null when none does. */
  oldestDay: string | null;
  /** A restore holds rows of that day until then (ms; ops.archive_holds in force), else null. */
  oldestDayHeldUntil: number | null;
  /** ops.archive_retention with the environment's cap: how many tenants, their shortest and longest. */
  retention: { tenants: number; shortestDays: number | null; longestDays: number | null };
  /** pg_database_size of the platform database now. */
  databaseBytes: number;
  /** public.telemetry_default: rows counted up to the cap, and the days of those rows. */
  defaultPartition: { rows: number; capped: boolean; oldestDay: string | null; newestDay: string | null };
}

export interface ArchiveFactsReadOptions {
  /** Days of runs read for the size samples (default 8: a 7-day projection and its first day). */
  sampleDays?: number;
  /** exporting/uploaded objects untouched this long are stuck (default 24). */
  stuckHours?: number;
  /** Problem objects listed (default 20; the count is always whole). */
  maxObjects?: number;
}

export interface ArchiveFactsSource {
  read(options?: ArchiveFactsReadOptions): Promise<ArchiveFacts>;
}

/** Partitions asked "has a row?" per round trip while looking for the oldest day. */
const PARTITIONS_PER_QUERY = 32;

interface RunRow {
  id: string;
  started_at: Date;
  finished_at: Date | null;
  actor: string;
  mode: ArchiveMode;
  dry_run: boolean;
  retention_days: number | null;
  unfinished: boolean | null;
  objects_exported: number | null;
  objects_verified: number | null;
  rows_verified: string | null;
  rows_removed: string | null;
  errors: string[];
  database_bytes: string | null;
  default_partition_rows: string | null;
}
const RUN_COLUMNS = `id, started_at, finished_at, actor, mode, dry_run, retention_days, unfinished, objects_exported,
  objects_verified, rows_verified, rows_removed, errors, database_bytes, default_partition_rows`;

/**
 * @param retentionDays the environment's cap on every tenant's retention (archive.retentionDays),
 * as the archive applies it.
 */
export function createArchiveFactsSource(
  pool: pg.Pool,
  options: { retentionDays?: number } = {},
): ArchiveFactsSource {
  return {
    async read(o = {}) {
      const sampleDays = o.sampleDays ?? 8;
      const stuckHours = o.stuckHours ?? 24;
      const maxObjects = o.maxObjects ?? 20;
      const [runs, recent, objects, retention, size, oldest] = await Promise.all([
        pool.query<RunRow & { kind: 'finished' | 'started' }>(
          `(select 'finished' as kind, ${RUN_COLUMNS} from ops.archive_runs
             where not dry_run and finished_at is not null order by started_at desc limit 1)
           union all
           (select 'started' as kind, ${RUN_COLUMNS} from ops.archive_runs
             where not dry_run order by started_at desc limit 1)`,
        ),
        pool.query<RunRow>(
          `select ${RUN_COLUMNS} from ops.archive_runs
            where started_at >= now() - $1::float8 * interval '1 day' and finished_at is not null
            order by started_at`,
          [sampleDays],
        ),
        pool.query<{
          blob_name: string;
          tenant_slug: string;
          day: string;
          state: ArchiveProblemObject['state'];
          error: string | null;
          updated_at: Date;
          total: string;
        }>(
          `select blob_name, tenant_slug, to_char(day, 'YYYY-MM-DD') as day, state, error, updated_at,
                  count(*) over () as total
             from ops.archive_objects
            where state = 'failed'
               or (state in ('exporting', 'uploaded') and updated_at < now() - $1::float8 * interval '1 hour')
            order by updated_at, blob_name
            limit $2`,
          [stuckHours, maxObjects],
        ),
        pool.query<{ tenants: number; shortest: number | null; longest: number | null }>(
          `select count(*)::int as tenants, min(retention_days) as shortest, max(retention_days) as longest
             from ops.archive_retention($1::int)`,
          [options.retentionDays ?? null],
        ),
        pool.query<{ bytes: string; rows: string; oldest: string | null; newest: string | null }>(
          `select ${DATABASE_BYTES_SQL} as bytes, count(*) as rows,
                  to_char(min(ts) at time zone 'UTC', 'YYYY-MM-DD') as oldest,
                  to_char(max(ts) at time zone 'UTC', 'YYYY-MM-DD') as newest
             from (select ts from public.telemetry_default limit ${DEFAULT_PARTITION_COUNT_CAP}) capped`,
        ),
        oldestDay(pool),
      ]);
      const finished = runs.rows.find((r) => r.kind === 'finished');
      const started = runs.rows.find((r) => r.kind === 'started');
      const held = oldest
        ? await pool.query<{ until: Date | null }>(
            `select max(until) as until from ops.archive_holds where day = $1::date and until > now()`,
            [oldest],
          )
        : undefined;
      // A count past the limit: the window function saw every match before the limit applied.
      const total = Number(objects.rows[0]?.total ?? 0);
      const s = size.rows[0]!;
      const r = retention.rows[0]!;
      return {
        lastFinished: finished ? toRun(finished) : null,
        lastStarted: started ? toRun(started) : null,
        recentRuns: recent.rows.map(toRun),
        problemObjects: objects.rows.map((o) => ({
          blobName: o.blob_name,
          tenant: o.tenant_slug,
          day: o.day,
          state: o.state,
          error: o.error,
          updatedAt: o.updated_at.getTime(),
        })),
        problemObjectCount: total,
        oldestDay: oldest,
        oldestDayHeldUntil: held?.rows[0]?.until?.getTime() ?? null,
        retention: { tenants: r.tenants, shortestDays: r.shortest, longestDays: r.longest },
        databaseBytes: Number(s.bytes),
        defaultPartition: {
          rows: Number(s.rows),
          capped: Number(s.rows) >= DEFAULT_PARTITION_COUNT_CAP,
          oldestDay: s.oldest,
          newestDay: s.newest,
        },
      };
    },
  };
}

/**
 * The oldest attached day partition of public.telemetry that holds a row, as YYYY-MM-DD. A
 * partition the archive dropped between the listing and the question: asked again, once.
 */
async function oldestDay(pool: pg.Pool): Promise<string | null> {
  try {
    return await searchOldestDay(pool);
  } catch (error) {
    if ((error as { code?: string }).code !== '42P01') throw error; // undefined_table
    return searchOldestDay(pool);
  }
}

async function searchOldestDay(pool: pg.Pool): Promise<string | null> {
  const partitions = await pool.query<{ name: string }>(
    `select c.relname as name
       from pg_catalog.pg_inherits i
       join pg_catalog.pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'public.telemetry'::regclass and c.relname ~ '^telemetry_p[0-9]{8}$'
      order by c.relname`,
  );
  const names = partitions.rows.map((p) => p.name);
  for (let i = 0; i < names.length; i += PARTITIONS_PER_QUERY) {
    const batch = names.slice(i, i + PARTITIONS_PER_QUERY);
    // Names from the catalog matching ^telemetry_p[0-9]{8}$: nothing to quote.
    const res = await pool.query<{ name: string }>(
      batch.map((n) => `(select '${n}' as name where exists (select from public.${n}))`).join(' union all ') +
        ' order by name limit 1',
    );
    const name = res.rows[0]?.name;
    if (name) return `${name.slice(11, 15)}-${name.slice(15, 17)}-${name.slice(17, 19)}`;
  }
  return null;
}

function toRun(r: RunRow): ArchiveRun {
  const num = (v: string | number | null) => (v === null ? null : Number(v));
  return {
    id: Number(r.id),
    startedAt: r.started_at.getTime(),
    finishedAt: r.finished_at?.getTime() ?? null,
    actor: r.actor,
    mode: r.mode,
    dryRun: r.dry_run,
    retentionDays: r.retention_days,
    unfinished: r.unfinished,
    objectsExported: r.objects_exported,
    objectsVerified: r.objects_verified,
    rowsVerified: num(r.rows_verified),
    rowsRemoved: num(r.rows_removed),
    errors: r.errors,
    databaseBytes: num(r.database_bytes),
    defaultPartitionRows: num(r.default_partition_rows),
  };
}
