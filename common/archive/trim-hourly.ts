/**
 * Retention of the hourly rollup (public.telemetry_hourly, one row per device, metric and hour):
 * the archive run takes out the rollup's hours older than `hourlyRetentionDays` when the
 * environment sets one (docs/archive.md, "The hourly rollup"). Without it the rollup is kept for
 * ever, as before; with the archive disabled nothing is deleted, this included.
 *
 * In batches of `batchRows` (each its own short statement: no long lock on a table every ingest
 * batch writes to, a bounded amount of WAL each), until none is left or the run's deadline; the
 * next run goes on. Every run that deletes something writes one ops.audit_log row with the count.
 */
import type pg from 'pg';

type Db = Pick<pg.Pool, 'query'>;

/** The shortest rollup retention: the dashboard's 30-day charts read the rollup. */
export const MIN_HOURLY_RETENTION_DAYS = 31;
export const TRIM_BATCH_ROWS = 20_000;

export interface HourlyTrim {
  /** Rollup hours before this instant (ISO) leave: midnight UTC, `days` days before today. */
  before: string;
  days: number;
  /** Rows taken out (a dry run: rows that would be). */
  rows: number;
  /** The deadline stopped it with rows left; the next run goes on. */
  unfinished: boolean;
}

export interface TrimHourlyOptions {
  /** Today, YYYY-MM-DD (UTC). */
  today: string;
  days: number;
  dryRun?: boolean;
  /** No new batch after this instant (ms). */
  deadline?: number;
  batchRows?: number;
  actor: string;
  log?: (line: string) => void;
}

export async function trimHourlyRollup(db: Db, o: TrimHourlyOptions): Promise<HourlyTrim> {
  if (!Number.isInteger(o.days) || o.days < MIN_HOURLY_RETENTION_DAYS)
    throw new Error(`the hourly rollup's retention must be at least ${MIN_HOURLY_RETENTION_DAYS} days`);
  const before = new Date(Date.parse(`${o.today}T00:00:00Z`) - o.days * 86_400_000).toISOString();
  const log = o.log ?? (() => undefined);
  if (o.dryRun) {
    const { rows } = await db.query<{ n: string }>(
      'select count(*) as n from public.telemetry_hourly where hour < $1',
      [before],
    );
    const n = Number(rows[0]!.n);
    log(`hourly rollup: ${n} row(s) before ${before.slice(0, 10)} would be deleted (${o.days} days kept)`);
    return { before, days: o.days, rows: n, unfinished: false };
  }
  const batch = o.batchRows ?? TRIM_BATCH_ROWS;
  let removed = 0;
  let unfinished = false;
  for (;;) {
    if (o.deadline !== undefined && Date.now() >= o.deadline) {
      unfinished = true;
      break;
    }
    const { rows } = await db.query<{ n: string }>(
      `with gone as (
         delete from public.telemetry_hourly
          where ctid = any (array(select ctid from public.telemetry_hourly where hour < $1 limit $2))
          returning 1)
       select count(*) as n from gone`,
      [before, batch],
    );
    const n = Number(rows[0]!.n);
    removed += n;
    if (n < batch) break;
  }
  if (removed > 0) {
    await db.query(
      `insert into ops.audit_log (actor, action, target, detail)
       values ($1, 'telemetry_hourly.trim', 'public.telemetry_hourly',
               jsonb_build_object('before', $2::text, 'days', $3::int, 'rows', $4::bigint, 'unfinished', $5::boolean))`,
      [o.actor, before, o.days, removed, unfinished],
    );
  }
  log(
    `hourly rollup: ${removed} row(s) before ${before.slice(0, 10)} deleted (${o.days} days kept)` +
      (unfinished ? '; time budget reached, the next run goes on' : ''),
  );
  return { before, days: o.days, rows: removed, unfinished };
}
