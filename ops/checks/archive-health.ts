/**
 * Daily: the telemetry archive ran and verified (or is explicitly disabled), telemetry is no older
 * than its retention, and the database has room: its size against the Supabase plan's limit, with
 * the days until full projected from the last days' sizes. From ops/sources/archive-facts.ts.
 *
 *   archive   disabled (with its reason): ok, the runs are only evidence. enabled, purging: the
 *             last run older than warnAgeHours warns, older than failAgeHours (or none) fails; its
 *             errors, and objects failed or stuck (exporting or uploaded for more than stuckHours)
 *             fail naming them; a run stopped by its time budget warns. The Function App's mode
 *             (the last run's) differing from the YAML's fails whatever the mode.
 *   retention enabled, purging: rows of a day older than the longest retention plus graceDays
 *             warn (the archive is behind), unless a restore holds them. Disabled: evidence.
 *   size      every mode: days to full from a least-squares line through the sizes of the last
 *             projectionDays days (the runs' and now); under warnDaysToFull warns, under
 *             failDaysToFull or over the limit fails. No growth, no projection.
 *   default   rows in public.telemetry_default (a day without its partition) warn.
 */
import { addDays, keepFrom } from '../../common/archive/plan-day.js';
import type { ArchiveConfig, EnvironmentConfig, SupabasePlan } from '../config/environment-config.js';
import type { Chart, Check, CheckOutcome } from '../engine/check.js';
import type { ArchiveFacts, ArchiveFactsSource, ArchiveRun } from '../sources/archive-facts.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const ARCHIVE_HEALTH_TITLE = 'Telemetry archive and database size';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/**
 * A run has 5 minutes (host.json's functionTimeout) and stops starting work after its time budget:
 * one that started an hour ago and has no end was killed.
 */
const KILLED_AFTER_MS = HOUR_MS;

/** The default partition's rows are moved by creating their days' partitions, up to this many. */
const MAX_SUGGESTED_PARTITIONS = 62;

/** The plan's database size limit (prices.supabase of the environment YAML). */
export interface DatabaseLimit {
  plan: SupabasePlan;
  bytes: number;
  /** As the report names it: "the Free plan's 500 MB". */
  label: string;
  /** Pro: not a wall but a bill. What each GB beyond the included size costs a month. */
  beyond?: string;
}

/**
 * The limit of the environment's Supabase plan (database.plan): Free's databaseMb, Pro's
 * databaseGbIncluded. Decimal units as the price list and the cost model (ops/cost) use them: the
 * smaller reading of "500 MB", so the projection errs early. Undefined without a plan.
 */
export function databaseLimitOf(config: EnvironmentConfig): DatabaseLimit | undefined {
  const plan = config.database?.plan;
  const supabase = config.prices?.supabase;
  if (!plan || !supabase) return undefined;
  if (plan === 'free')
    return {
      plan,
      bytes: supabase.free.databaseMb * 1e6,
      label: `the Free plan's ${supabase.free.databaseMb} MB`,
    };
  return {
    plan,
    bytes: supabase.pro.databaseGbIncluded * 1e9,
    label: `the Pro plan's ${supabase.pro.databaseGbIncluded} GB included`,
    beyond: `Pro bills ${supabase.pro.perDatabaseGbBeyond} ${config.prices!.currency} per GB-month beyond it`,
  };
}

export interface ArchiveHealthOptions {
  environment: string;
  /** The environment YAML's archive section (undefined: no decision, the timer runs disabled). */
  archive: ArchiveConfig | undefined;
  limit?: DatabaseLimit;
  warnAgeHours?: number;
  failAgeHours?: number;
  /** Exporting or uploaded objects untouched this long are stuck (default 24). */
  stuckHours?: number;
  /** Days past the longest retention before old rows warn (default 1: the run is once a day). */
  graceDays?: number;
  /** Days of size samples the projection is drawn through (default 7). */
  projectionDays?: number;
  warnDaysToFull?: number;
  failDaysToFull?: number;
}

export function archiveHealthCheck(source: ArchiveFactsSource, options: ArchiveHealthOptions): Check {
  const warnHours = options.warnAgeHours ?? 26;
  const failHours = options.failAgeHours ?? 50;
  const stuckHours = options.stuckHours ?? 24;
  const graceDays = options.graceDays ?? 1;
  const projectionDays = options.projectionDays ?? 7;
  const warnDays = options.warnDaysToFull ?? 30;
  const failDays = options.failDaysToFull ?? 7;
  if (!(warnHours > 0 && failHours > warnHours))
    throw new Error('archive health: need 0 < warnAgeHours < failAgeHours');
  if (!(failDays > 0 && warnDays > failDays))
    throw new Error('archive health: need 0 < failDaysToFull < warnDaysToFull');
  if (!(projectionDays >= 2)) throw new Error('archive health: projectionDays must be at least 2');
  if (!(stuckHours > 0 && graceDays >= 0))
    throw new Error('archive health: stuckHours must be > 0 and graceDays >= 0');
  const yaml = `runbook/environments/${options.environment}.yaml`;

  return {
    id: 'daily.archive',
    title: ARCHIVE_HEALTH_TITLE,
    severity: 'high',
    playbook: 'growth-spike',
    async run({ now }): Promise<CheckOutcome> {
      const at = now();
      // A day more than the projection: its first day's sample is in whatever the hour.
      const facts = await source.read({ sampleDays: projectionDays + 1, stuckHours });
      const fails: string[] = [];
      const warns: string[] = [];
      const evidence: string[] = [];
      const metrics: Record<string, number> = {};
      const a = options.archive;
      const mode = a?.mode ?? 'disabled';

      // The archive ------------------------------------------------------------------------------
      const last = facts.lastFinished;
      if (!a)
        warns.push(
          `no archive decision in ${yaml}: the timer runs disabled (ARCHIVE_MODE unset); add archive (mode: disabled, reason) or enable it`,
        );
      if (last) {
        metrics.last_run_age_hours = round((at - last.finishedAt!) / HOUR_MS, 1);
        metrics.last_run_errors = last.errors.length;
        evidence.push(describeRun(last, at));
        const mismatch = modeMismatch(last, mode, yaml);
        if (mismatch) fails.push(mismatch);
      } else evidence.push('no archive run recorded (ops.archive_runs)');
      const killed = killedRun(facts, at);
      metrics.problem_objects = facts.problemObjectCount;
      const objects = problemObjects(facts);
      let archiveSummary: string;

      if (mode === 'disabled') {
        archiveSummary = a?.mode === 'disabled' ? `explicitly disabled: ${a.reason}` : 'disabled';
        if (killed) evidence.push(killed);
        if (objects) evidence.push(`left from when it ran: ${objects}`);
      } else {
        if (!last)
          fails.push(
            `archive.mode is ${mode} but no run is recorded: is archive_timer deployed with ARCHIVE_MODE=${mode}?`,
          );
        else {
          const age = metrics.last_run_age_hours!;
          if (age > failHours)
            fails.push(`the last archive run finished ${age} h ago (more than ${failHours} h)`);
          else if (age > warnHours)
            warns.push(
              `the last archive run finished ${age} h ago (more than ${warnHours} h): the daily run is late`,
            );
          if (last.errors.length) fails.push(runErrors(last));
          if (last.unfinished)
            warns.push('the last run stopped at its time budget: the days left go to the next run');
        }
        if (objects) fails.push(objects);
        if (killed) warns.push(killed);
        const lastRun = last ? `last run ${metrics.last_run_age_hours} h ago` : 'no run';
        archiveSummary =
          a?.mode === 'purge-without-archive'
            ? `purging without archive (${a.reason}): ${lastRun}, ${last?.rowsRemoved ?? 0} rows purged`
            : `enabled: ${lastRun}, ${last?.objectsVerified ?? 0} object(s) verified, ${last?.rowsRemoved ?? 0} rows removed`;
      }

      // Retention ---------------------------------------------------------------------------------
      const today = new Date(at).toISOString().slice(0, 10);
      const envDays = a && a.mode !== 'disabled' ? a.retentionDays : undefined;
      const longest = facts.retention.longestDays ?? envDays ?? null;
      if (facts.oldestDay) {
        const ageDays = Math.round((Date.parse(today) - Date.parse(facts.oldestDay)) / DAY_MS);
        metrics.oldest_row_age_days = ageDays;
        const retention =
          facts.retention.tenants > 0
            ? `retention ${facts.retention.shortestDays} to ${facts.retention.longestDays} days over ${facts.retention.tenants} tenant(s)${envDays ? ` (capped at ${envDays})` : ''}`
            : `no tenant${envDays ? `; environment retention ${envDays} days` : ''}`;
        evidence.push(`oldest rows: ${facts.oldestDay} (${ageDays} days old); ${retention}`);
        if (mode === 'disabled') evidence.push('retention is not applied while the archive is disabled');
        else if (longest !== null && facts.oldestDay < addDays(keepFrom(today, longest), -graceDays)) {
          if (facts.oldestDayHeldUntil !== null)
            evidence.push(
              `rows of ${facts.oldestDay} are held by a restore until ${iso(facts.oldestDayHeldUntil)} (ops.archive_holds)`,
            );
          else
            warns.push(
              `rows of ${facts.oldestDay} (${ageDays} days old) are past the longest retention, ${longest} days, ` +
                `plus ${graceDays} day(s): the archive is behind, or they are of a tenant that no longer exists ` +
                '(kept unless the environment sets retentionDays)',
            );
        }
      } else evidence.push('no telemetry rows in the day partitions');

      // The database's size ------------------------------------------------------------------------
      const size = projectSize(facts, at, projectionDays);
      const limit = options.limit;
      metrics.database_bytes = facts.databaseBytes;
      let sizeSummary = `database ${formatSize(facts.databaseBytes)}`;
      if (size.bytesPerDay !== null) metrics.growth_bytes_per_day = Math.round(size.bytesPerDay);
      evidence.push(`database ${formatSize(facts.databaseBytes)} now; ${size.note}`);
      if (limit) {
        const used = round((facts.databaseBytes / limit.bytes) * 100, 1);
        metrics.database_limit_bytes = limit.bytes;
        metrics.database_used_pct = used;
        sizeSummary += ` of ${limit.label} (${used}%)`;
        const daysToFull =
          size.bytesPerDay !== null && size.bytesPerDay > 0
            ? (limit.bytes - facts.databaseBytes) / size.bytesPerDay
            : null;
        if (facts.databaseBytes >= limit.bytes)
          fails.push(
            `database ${formatSize(facts.databaseBytes)} is over ${limit.label}` +
              (limit.beyond ? `: ${limit.beyond}` : ': writes will be refused (read-only mode)'),
          );
        else if (daysToFull !== null) {
          metrics.days_to_full = round(daysToFull, 1);
          const line =
            `database full in ~${formatDays(daysToFull)} days: ${formatSize(facts.databaseBytes)} of ${limit.label}, ` +
            `+${formatSize(size.bytesPerDay!)} a day` +
            (limit.beyond ? ` (then ${limit.beyond})` : '');
          sizeSummary += `, full in ~${formatDays(daysToFull)} days`;
          if (daysToFull < failDays) fails.push(`${line} (fewer than ${failDays})`);
          else if (daysToFull < warnDays) warns.push(`${line} (fewer than ${warnDays})`);
        }
      } else
        evidence.push(
          `no database.plan in ${yaml} (or no prices.supabase): the size is not compared with a plan's limit`,
        );

      // The default partition ---------------------------------------------------------------------
      const d = facts.defaultPartition;
      metrics.default_partition_rows = d.rows;
      if (d.rows > 0) {
        const days =
          d.oldestDay === d.newestDay ? `of ${d.oldestDay}` : `of ${d.oldestDay} to ${d.newestDay}`;
        const count = d.capped ? `more than ${d.rows - 1}` : String(d.rows);
        warns.push(
          `public.telemetry_default holds ${count} row(s) (${d.capped ? 'those counted are ' : ''}${days}): ` +
            "days without their partition (the daily archive run creates the next days' partitions in every " +
            'mode: is archive_timer running?)',
        );
        const span = Math.round((Date.parse(d.newestDay!) - Date.parse(d.oldestDay!)) / DAY_MS) + 1;
        evidence.push(
          span <= MAX_SUGGESTED_PARTITIONS
            ? `move them into partitions of their own: select ops.ensure_telemetry_partitions('${d.oldestDay}', ${span})`
            : `they span ${span} days: look at them (public.telemetry_default) before creating that many partitions`,
        );
      }

      const charts = sizeChart(facts, at, projectionDays, limit);
      if (fails.length) return { status: 'fail', summary: fails.join('; '), metrics, evidence, charts };
      if (warns.length) return { status: 'warn', summary: warns.join('; '), metrics, evidence, charts };
      return { status: 'ok', summary: `${archiveSummary}; ${sizeSummary}`, metrics, evidence, charts };
    },
  };
}

/** `last run 2026-11-30T20:30:04Z (12.5 h ago, enabled, archive_timer): ...` */
export function describeRun(r: ArchiveRun, at: number): string {
  const counts =
    r.objectsExported === null
      ? 'it threw'
      : `exported ${r.objectsExported}, verified ${r.objectsVerified} object(s) (${r.rowsVerified} rows), removed ${r.rowsRemoved} rows` +
        (r.unfinished ? ', stopped at its time budget' : '');
  return (
    `last run ${iso(r.finishedAt!)} (${round((at - r.finishedAt!) / HOUR_MS, 1)} h ago, ${r.mode}, ${r.actor}): ` +
    `${counts}; ${r.errors.length} error(s)`
  );
}

/** The Function App runs another mode than the YAML says (they are set apart: docs/archive.md). */
export function modeMismatch(r: ArchiveRun, mode: ArchiveConfig['mode'], yaml: string): string | null {
  return r.mode === mode
    ? null
    : `the last archive run ran ${r.mode} but ${yaml} says ${mode}: set the Function App's ARCHIVE_MODE to ${mode} (or change the YAML)`;
}

/** `the last archive run had 2 error(s): a; b` (the first three). */
export function runErrors(r: ArchiveRun): string {
  const more = r.errors.length > 3 ? `; and ${r.errors.length - 3} more` : '';
  return `the last archive run had ${r.errors.length} error(s): ${r.errors.slice(0, 3).join('; ')}${more}`;
}

function problemObjects(f: ArchiveFacts): string | null {
  if (f.problemObjectCount === 0) return null;
  const listed = f.problemObjects.map(
    (o) => `${o.blobName} (${o.state}${o.error ? `: ${o.error}` : ` since ${iso(o.updatedAt)}`})`,
  );
  const more =
    f.problemObjectCount > listed.length ? `, and ${f.problemObjectCount - listed.length} more` : '';
  return `${f.problemObjectCount} archive object(s) failed or stuck: ${listed.join(', ')}${more}`;
}

function killedRun(f: ArchiveFacts, at: number): string | null {
  const s = f.lastStarted;
  if (!s || s.finishedAt !== null || at - s.startedAt < KILLED_AFTER_MS) return null;
  if (f.lastFinished && f.lastFinished.startedAt > s.startedAt) return null;
  return `the archive run started ${iso(s.startedAt)} has no recorded end (killed or timed out; the next run goes on)`;
}

interface SizeProjection {
  /** Least-squares slope; null without two samples a day apart. */
  bytesPerDay: number | null;
  note: string;
}

/** The samples of the last `days` days: each finished run's size at its end, and the size now. */
function sizeSamples(f: ArchiveFacts, at: number, days: number): { t: number; bytes: number }[] {
  return [
    ...f.recentRuns
      .filter((r) => r.databaseBytes !== null && r.finishedAt! >= at - days * DAY_MS && r.finishedAt! <= at)
      .map((r) => ({ t: r.finishedAt!, bytes: r.databaseBytes! })),
    { t: at, bytes: f.databaseBytes },
  ];
}

export function projectSize(f: ArchiveFacts, at: number, days: number): SizeProjection {
  const samples = sizeSamples(f, at, days);
  const span = (samples.at(-1)!.t - samples[0]!.t) / DAY_MS;
  if (samples.length < 2 || span < 1)
    return {
      bytesPerDay: null,
      note: `no projection: the size samples of the last ${days} days (${samples.length - 1} run(s) and now) span less than a day`,
    };
  const slope = leastSquaresSlope(samples.map((s) => [(s.t - at) / DAY_MS, s.bytes]));
  return {
    bytesPerDay: slope,
    note:
      slope > 0
        ? `growing ${formatSize(slope)} a day (least squares over ${samples.length} samples, ${round(span, 1)} days)`
        : `no growth over ${round(span, 1)} days (${samples.length} samples): no projection`,
  };
}

/** Slope of the least-squares line through (x, y). */
export function leastSquaresSlope(points: [number, number][]): number {
  const n = points.length;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (const [x, y] of points) {
    sxy += (x - mx) * (y - my);
    sxx += (x - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

/** The size per UTC day (the day's last sample), MB. */
function sizeChart(f: ArchiveFacts, at: number, days: number, limit: DatabaseLimit | undefined): Chart[] {
  const byDay = new Map<string, number>();
  for (const s of sizeSamples(f, at, days)) byDay.set(new Date(s.t).toISOString().slice(0, 10), s.bytes);
  return [
    {
      title: `Database size (MB)${limit ? `, limit ${round(limit.bytes / 1e6, 0)} MB (${limit.plan})` : ''}`,
      xLabels: [...byDay.keys()].map((d) => d.slice(5)),
      yLabel: 'MB',
      series: [{ kind: 'bar', name: 'size', values: [...byDay.values()].map((b) => round(b / 1e6, 1)) }],
    },
  ];
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function formatDays(n: number): string {
  return n < 10 ? String(round(n, 1)) : String(Math.round(n));
}

/** Decimal units, as the plans state their limits. */
export function formatSize(bytes: number): string {
  const abs = Math.abs(bytes);
  if (abs < 1e3) return `${Math.round(bytes)} B`;
  if (abs < 1e6) return `${round(bytes / 1e3, 1)} kB`;
  if (abs < 1e9) return `${round(bytes / 1e6, 1)} MB`;
  return `${round(bytes / 1e9, 2)} GB`;
}
