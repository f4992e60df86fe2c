/**
 * The daily archive run (common/archive/run-archive.ts) started by hand, with the environment's own
 * archive settings (archive in runbook/environments/<env>.yaml): `ops archive run`, the growth-spike
 * playbook's "archive sooner" and the cost-spike playbook's retention cut (its plan) all run it
 * through here. A retention given for the run lowers every tenant's retention for this run only,
 * never above the environment's own cap.
 */
import type pg from 'pg';
import { runRecordedArchive } from '../../common/archive/archive-run-record.js';
import { runArchive, type ArchiveRunResult, type PlannedDay } from '../../common/archive/run-archive.js';
import { MIN_ARCHIVE_AGE_DAYS } from '../../common/archive/plan-day.js';
import type { ArchiveStore } from '../../common/telemetry-archive-store.js';
import type { OpsTarget } from '../config/ops-target.js';
import { archiveOff } from './archive-target.js';

export interface EnvironmentArchiveOptions {
  target: OpsTarget;
  pool: pg.Pool;
  /** The environment's container (archiveStoreFor); needed to archive, not for a dry run. */
  store?: ArchiveStore;
  dryRun: boolean;
  /** Every tenant's retention for this run is at most this (and at most the environment's cap). */
  retentionDays?: number;
  /** Tenant-days exported at once; each holds one of the pool's connections. */
  parallel?: number;
  actor: string;
  log: (line: string) => void;
}

/** The retention cap of a run: the least of the one asked for and the environment's own. */
export function runRetention(target: OpsTarget, asked: number | undefined): number | undefined {
  const a = target.config.archive;
  const own = a && a.mode !== 'disabled' ? a.retentionDays : undefined;
  if (asked === undefined) return own;
  return own === undefined ? asked : Math.min(asked, own);
}

/** Runs (or plans) the archive as the environment configures it; throws when it is disabled. */
export async function runEnvironmentArchive(
  o: EnvironmentArchiveOptions,
): Promise<ArchiveRunResult & { recordError?: string }> {
  const a = o.target.config.archive;
  const off = archiveOff(o.target);
  if (off || !a || a.mode === 'disabled') throw new Error(off);
  // A run that changes something is recorded in ops.archive_runs, as the timer's are (what
  // daily.archive reads); a plan is not, or every cost-spike retention step would add one.
  const run = o.dryRun ? runArchive : runRecordedArchive;
  return run({
    pool: o.pool,
    mode: a.mode,
    store: o.store,
    retentionDays: runRetention(o.target, o.retentionDays),
    partitionsAheadDays: a.partitionsAheadDays,
    hourlyRetentionDays: a.hourlyRetentionDays,
    purgeReason: a.mode === 'purge-without-archive' ? a.reason : undefined,
    parallel: o.parallel,
    dryRun: o.dryRun,
    actor: o.actor,
    log: o.log,
  });
}

export interface PlanTotals {
  days: number;
  /** Rows (and tenant-days) that would leave: archived, or purged in purge-without-archive. */
  leavingRows: number;
  leavingTenantDays: number;
  partitionsDropped: number;
  /** Rows of the days looked at that stay: within retention, or held by a restore. */
  keptRows: number;
  heldRows: number;
}

export function planTotals(plan: PlannedDay[]): PlanTotals {
  const totals: PlanTotals = {
    days: plan.length,
    leavingRows: 0,
    leavingTenantDays: 0,
    partitionsDropped: 0,
    keptRows: 0,
    heldRows: 0,
  };
  for (const day of plan) {
    if (day.removal === 'drop') totals.partitionsDropped += 1;
    for (const t of day.tenants) {
      if (t.action === 'archive' || t.action === 'purge') {
        totals.leavingRows += t.rows;
        totals.leavingTenantDays += 1;
      } else if (t.action === 'held') totals.heldRows += t.rows;
      else totals.keptRows += t.rows;
    }
  }
  return totals;
}

const fmt = (n: number) => n.toLocaleString('en-US');

/** One line: what the run did, or (dry run) would do. */
export function archiveRunSummary(result: ArchiveRunResult, retentionDays: number | undefined): string {
  const verb = result.mode === 'enabled' ? 'archive' : 'purge without archive';
  const cap =
    retentionDays === undefined
      ? "each tenant's own retention"
      : `retention at most ${retentionDays} days` +
        (retentionDays < MIN_ARCHIVE_AGE_DAYS
          ? ` (no day newer than ${MIN_ARCHIVE_AGE_DAYS} days leaves: ingest still accepts those)`
          : '');
  const errors = result.errors.length ? `; ${result.errors.length} error(s)` : '';
  const unfinished = result.unfinished ? '; unfinished, the next run goes on' : '';
  const hourly = result.hourly
    ? `; hourly rollup: ${fmt(result.hourly.rows)} row(s) before ${result.hourly.before.slice(0, 10)} ` +
      (result.plan ? 'would be deleted' : 'deleted')
    : '';
  if (result.plan) {
    const t = planTotals(result.plan);
    if (t.leavingRows === 0 && t.partitionsDropped === 0)
      return `dry run (${cap}): nothing would leave the database (${t.days} day(s) looked at)${hourly}${errors}`;
    return (
      `dry run (${cap}): would ${verb} ${fmt(t.leavingRows)} rows of ${t.leavingTenantDays} tenant-day(s) ` +
      `on ${t.days} day(s) (${t.partitionsDropped} partition(s) dropped whole); ` +
      `${fmt(t.keptRows)} rows of those days stay within retention` +
      (t.heldRows ? `, ${fmt(t.heldRows)} held by a restore` : '') +
      hourly +
      errors
    );
  }
  const done = result.mode === 'enabled' ? 'archived' : 'PURGED WITHOUT ARCHIVE';
  return (
    `${done} (${cap}): ${fmt(result.rowsRemoved)} rows removed from the database on ${result.days.length} day(s)` +
    (result.mode === 'enabled'
      ? ` (${result.objectsVerified} object(s) verified, ${result.objectsExported} exported)`
      : '') +
    `, ${result.partitionsDropped.length} partition(s) dropped, ${result.tenantDaysDeleted} tenant-day(s) deleted` +
    hourly +
    errors +
    unfinished
  );
}
