/**
 * The daily archive run (docs/archive.md). Always: the next `partitionsAheadDays` days' partitions
 * exist, so inserts never land in the default partition. Then by mode:
 *
 *   disabled               nothing else: nothing exported, nothing deleted.
 *   enabled                per day partition past retention (oldest first), per tenant past its
 *                          retention: export the tenant's rows of the day to one object, read it back
 *                          and verify it, and only then take the rows out: the whole partition when
 *                          every tenant of the day is archived, else those tenants' rows. Two to
 *                          four objects holding most of a day come from one scan of its partition
 *                          (dayExportFits), others from an index scan each.
 *   purge-without-archive  the same days and tenants, taken out with no copy; every deletion is
 *                          reported (the result's `purged`, a warning line, ops.audit_log).
 *
 * Enabled or purging, with `hourlyRetentionDays`: then the hourly rollup's old hours (trim-hourly.ts).
 *
 * Each step is recorded in ops.archive_objects before the next one starts, so a run killed at any
 * point is finished by the next: an object being exported is exported again, an uploaded or
 * verified one is verified again, and the removal itself is one checked transaction in the database
 * (ops.archive_drop_day / ops.archive_delete_tenant_day). A finished day is not looked at again.
 * Rows a restore brought back are left alone while their hold lasts; after it they are taken out
 * again, through the object they came from when they are exactly its rows, else in a new generation.
 *
 * A dry run (`dryRun`) only reads: the same days, tenants and rows a run would take, planned the same
 * way, in the result's `plan`; no partition is created, no row moved, nothing exported or removed.
 */
import type pg from 'pg';
import { schemaVersion as readSchemaVersion } from '../schema-version.js';
import { ARCHIVE_FORMAT, archiveObjectName, type ArchiveManifest } from '../telemetry-archive.js';
import type { ArchiveStore } from '../telemetry-archive-store.js';
import {
  dayPartitionsBefore,
  defaultPartitionDaysBefore,
  deleteTenantDay,
  dropDay,
  ensurePartitions,
  heldTenants,
  recordExporting,
  recordFailed,
  recordsOfDay,
  recordUndropped,
  recordUploaded,
  recordVerified,
  tenantRetentions,
  tenantRows,
  type ArchiveRecord,
  type DayPartition,
  type RecordKey,
} from './archive-db.js';
import {
  contentOfTenantDay,
  exportDay,
  exportTenantDay,
  verifyArchiveObject,
  type DayExportTarget,
  type ObjectToExport,
} from './archive-object.js';
import {
  addDays,
  keepFrom,
  leaves,
  MIN_ARCHIVE_AGE_DAYS,
  planDay,
  type ArchiveMode,
  type DayPlan,
  type TenantAction,
  type TenantPlan,
} from './plan-day.js';
import { trimHourlyRollup, type HourlyTrim } from './trim-hourly.js';

/**
 * The points between the steps of one tenant-day, in order; tests stop the process at each
 * (archive-child-harness.ts) and check the next run loses nothing.
 */
export const ARCHIVE_STEPS = [
  'export-started', // recorded 'exporting', nothing uploaded yet
  'uploading', // UPLOADING_CHECKPOINT_BYTES handed to the store (staged blocks), nothing committed
  'uploaded', // the blob committed with its manifest, still recorded 'exporting'
  'recorded', // recorded 'uploaded', not read back yet
  'verified', // read back and recorded 'verified', rows still in the database
  'removed', // the day's partition dropped or the tenants' rows deleted
] as const;
export type ArchiveStep = (typeof ARCHIVE_STEPS)[number];
/** The 'uploading' checkpoint comes once this much of an object went to the store. */
export const UPLOADING_CHECKPOINT_BYTES = 8 * 1024;

export interface ArchiveRunOptions {
  pool: pg.Pool;
  mode: ArchiveMode;
  /** Where objects go; required when enabled. */
  store?: ArchiveStore;
  /** Caps every tenant's retention (the environment's setting). */
  retentionDays?: number;
  /** Days of partitions kept created ahead of today (default 7). */
  partitionsAheadDays?: number;
  /** Tenant-days exported and verified at once (default 2; each holds a database connection). */
  parallel?: number;
  /** purge-without-archive: why, repeated in every report of a deletion. */
  purgeReason?: string;
  /** Enabled or purging: the hourly rollup's hours older than this many days leave (trim-hourly.ts). */
  hourlyRetentionDays?: number;
  now?: () => Date;
  /** No new tenant-day is started after this instant (ms); the next run goes on from there. */
  deadline?: number;
  log?: (line: string) => void;
  /** Who ops.audit_log names for removals. */
  actor?: string;
  /** Called between steps (tests). */
  checkpoint?: (step: ArchiveStep, detail: string) => Promise<void>;
  /**
   * Plan only: reads what a run would take (the result's `plan`) and changes nothing: no partition
   * created, no row moved out of the default partition, nothing exported, removed or recorded.
   * Needs no store.
   */
  dryRun?: boolean;
}

export interface PlannedTenantDay {
  /** The tenant's slug (its id when it no longer exists): its folder in the container. */
  tenant: string;
  tenantId: string;
  rows: number;
  /** archive, purge (leave the database); keep (within retention); held (past it, a restore holds them). */
  action: TenantAction;
  why: string;
}

export interface PlannedDay {
  day: string;
  /** Its rows sit in the default partition: a run first moves them into a partition of their own. */
  inDefaultPartition: boolean;
  /** How the leaving rows go: the partition dropped, the tenants' rows deleted, or nothing leaves. */
  removal: DayPlan['removal'];
  tenants: PlannedTenantDay[];
}

export interface PurgedRows {
  day: string;
  tenant: string;
  rows: number;
}

export interface ArchiveRunResult {
  mode: ArchiveMode;
  /** A dry run's plan (only a dry run has one): every day looked at, oldest first, per tenant what would happen. */
  plan?: PlannedDay[];
  /** Future partitions this run created (none in a dry run). */
  partitionsCreated: number;
  /** Days looked at, and what became of each. */
  days: { day: string; outcome: string }[];
  objectsExported: number;
  objectsVerified: number;
  /** Rows in objects verified by this run. */
  rowsVerified: number;
  partitionsDropped: string[];
  tenantDaysDeleted: number;
  /** Rows taken out of the database (archived first, or purged). */
  rowsRemoved: number;
  /** Every deletion without a copy (purge-without-archive), reported every time. */
  purged: PurgedRows[];
  errors: string[];
  /** The deadline stopped the run before every eligible day was done. */
  unfinished: boolean;
  /** The hourly rollup's retention, when the environment sets one (a dry run: what would go). */
  hourly?: HourlyTrim;
}

export async function runArchive(o: ArchiveRunOptions): Promise<ArchiveRunResult> {
  const now = o.now ?? (() => new Date());
  const log = o.log ?? (() => undefined);
  const actor = o.actor ?? 'archive';
  const dryRun = o.dryRun === true;
  const today = now().toISOString().slice(0, 10);
  const ahead = o.partitionsAheadDays ?? 7;
  if (o.mode === 'enabled' && !o.store && !dryRun) throw new Error('archive: mode enabled needs a store');
  if (o.mode === 'purge-without-archive' && !o.purgeReason?.trim())
    throw new Error('archive: purge-without-archive needs a reason (it is reported with every deletion)');

  const result: ArchiveRunResult = {
    mode: o.mode,
    ...(dryRun ? { plan: [] } : {}),
    partitionsCreated: dryRun ? 0 : await ensurePartitions(o.pool, today, ahead + 1),
    days: [],
    objectsExported: 0,
    objectsVerified: 0,
    rowsVerified: 0,
    partitionsDropped: [],
    tenantDaysDeleted: 0,
    rowsRemoved: 0,
    purged: [],
    errors: [],
    unfinished: false,
  };
  if (result.partitionsCreated)
    log(`created ${result.partitionsCreated} partition(s) up to ${addDays(today, ahead)}`);
  if (o.mode === 'disabled') {
    log(`archive disabled: nothing ${dryRun ? 'would be ' : ''}exported, nothing deleted`);
    return result;
  }

  const retentions = await tenantRetentions(o.pool, o.retentionDays);
  // Days older than the shortest retention (or the backfill window) are candidates.
  const shortest = Math.min(...[...retentions.values()].map((r) => r.days), o.retentionDays ?? Infinity);
  const before = keepFrom(today, Number.isFinite(shortest) ? shortest : MIN_ARCHIVE_AGE_DAYS);
  // Rows of old days that have no partition (written before one existed): give them theirs first.
  // A dry run counts them where they are.
  const inDefault = dryRun ? await defaultPartitionTenantRows(o.pool, before) : new Map<string, Rows>();
  if (!dryRun)
    for (const day of await defaultPartitionDaysBefore(o.pool, before)) {
      await ensurePartitions(o.pool, day, 1);
      log(`${day}: rows moved from the default partition into their own`);
    }
  const schemaVersion = dryRun ? 'unknown' : ((await readSchemaVersion(o.pool)) ?? 'unknown');
  const days: DaySource[] = [
    ...(await dayPartitionsBefore(o.pool, before)).map((partition) => ({ day: partition.day, partition })),
    ...[...inDefault].map(([day, rows]) => ({ day, rows })),
  ].sort((a, b) => (a.day < b.day ? -1 : a.day > b.day ? 1 : 0));
  log(
    `${dryRun ? 'dry run, ' : ''}${o.mode}: ${days.length} day(s) before ${before}` +
      (inDefault.size ? ` (${inDefault.size} of them in the default partition)` : '') +
      (o.retentionDays ? ` (retention at most ${o.retentionDays} days)` : ''),
  );

  for (const source of days) {
    if (o.deadline !== undefined && Date.now() >= o.deadline) {
      result.unfinished = true;
      log(`time budget reached: ${source.day} and later are left for the next run`);
      break;
    }
    try {
      result.days.push({ day: source.day, outcome: await runDay(source) });
    } catch (error) {
      const message = (error as Error).message;
      result.errors.push(`${source.day}: ${message}`);
      result.days.push({ day: source.day, outcome: `failed: ${message}` });
      log(`${source.day}: FAILED: ${message}`);
    }
  }
  if (o.hourlyRetentionDays !== undefined && !result.unfinished) {
    try {
      result.hourly = await trimHourlyRollup(o.pool, {
        today,
        days: o.hourlyRetentionDays,
        dryRun,
        deadline: o.deadline,
        actor,
        log,
      });
      if (result.hourly.unfinished) result.unfinished = true;
    } catch (error) {
      result.errors.push(`hourly rollup: ${(error as Error).message}`);
      log(`hourly rollup: FAILED: ${(error as Error).message}`);
    }
  }
  return result;

  /** What a dry run reports for a day, and says in its log. */
  function planned(plan: DayPlan, inDefaultPartition: boolean): string {
    const tenants = plan.tenants.map((t): PlannedTenantDay => ({
      tenant: t.folder,
      tenantId: t.tenantId,
      rows: t.rows,
      action: t.action,
      why: t.why,
    }));
    result.plan!.push({ day: plan.day, inDefaultPartition, removal: plan.removal, tenants });
    const leaving = tenants.filter((t) => leaves(t.action));
    const rows = leaving.reduce((n, t) => n + t.rows, 0);
    const verb = o.mode === 'enabled' ? 'archive' : 'purge';
    const each = tenants.map((t) => `${t.tenant} ${t.rows} ${t.action}`).join(', ');
    const outcome =
      plan.removal === 'none'
        ? `would keep every row (${tenants.length} tenant(s) within retention or held)`
        : plan.removal === 'drop'
          ? `would ${verb}: partition dropped, ${rows} rows`
          : `would ${verb}: ${rows} rows of ${leaving.length} tenant(s) deleted, ${tenants.length - leaving.length} tenant(s) kept`;
    log(`${plan.day}: ${outcome}${inDefaultPartition ? ' (rows in the default partition)' : ''}: ${each}`);
    return outcome;
  }

  async function runDay(source: DaySource): Promise<string> {
    const { day } = source;
    const rows = source.rows ?? (await tenantRows(o.pool, source.partition!.name));
    const held = await heldTenants(o.pool, day);
    const plan = planDay({
      day,
      today,
      mode: o.mode as Exclude<ArchiveMode, 'disabled'>,
      tenants: [...rows]
        .map(([tenantId, n]) => {
          const known = retentions.get(tenantId);
          return {
            tenantId,
            rows: n,
            folder: known?.slug ?? tenantId,
            retentionDays: known?.days ?? o.retentionDays ?? null,
            held: held.has(tenantId),
          };
        })
        .sort((a, b) => (a.folder < b.folder ? -1 : a.folder > b.folder ? 1 : 0)),
    });
    if (dryRun) return planned(plan, source.partition === undefined);
    const partition = source.partition!;
    const leaving = plan.tenants.filter((t) => leaves(t.action));
    if (plan.removal === 'none') return `kept (${plan.tenants.length} tenant(s) within retention or held)`;

    if (o.mode === 'enabled') {
      const failed = await archiveTenants(partition, plan, leaving, schemaVersion);
      if (result.unfinished) return 'unfinished (time budget): the next run goes on';
      // One tenant's object not verified: nothing of the day leaves now (the next run drops it whole).
      if (failed) return `not removed: ${failed} object(s) not verified`;
    }

    const purge = o.mode === 'purge-without-archive';
    if (plan.removal === 'drop') {
      const dropped = await dropDay(o.pool, day, purge, actor);
      if (!dropped) return 'partition already gone';
      result.partitionsDropped.push(dropped.partition);
      result.rowsRemoved += dropped.rows;
      if (purge) for (const t of plan.tenants) reportPurge(day, t, dropped.tenants[t.tenantId] ?? 0);
      log(`${day}: dropped ${dropped.partition} (${dropped.rows} rows of ${plan.tenants.length} tenant(s))`);
      await o.checkpoint?.('removed', day);
      return purge
        ? `purged: partition dropped, ${dropped.rows} rows`
        : `archived: partition dropped, ${dropped.rows} rows`;
    }
    let removed = 0;
    for (const t of leaving) {
      const n = (await deleteTenantDay(o.pool, t.tenantId, day, purge, actor)) ?? 0;
      removed += n;
      result.rowsRemoved += n;
      result.tenantDaysDeleted += 1;
      if (purge) reportPurge(day, t, n);
      else log(`${day}: deleted ${n} archived rows of ${t.folder}`);
    }
    await o.checkpoint?.('removed', day);
    const kept = plan.tenants.length - leaving.length;
    return `${purge ? 'purged' : 'archived'}: ${removed} rows of ${leaving.length} tenant(s) deleted, ${kept} tenant(s) kept`;
  }

  function reportPurge(day: string, t: TenantPlan, rows: number): void {
    result.purged.push({ day, tenant: t.folder, rows });
    log(`PURGED WITHOUT ARCHIVE: ${rows} rows of ${t.folder} on ${day} (${o.purgeReason})`);
  }

  /**
   * Until the leaving tenants' rows of the day are in verified objects: those not exported yet are
   * exported (together from one scan of the partition when that is cheaper: dayExportFits), then
   * every object is read back and verified, `parallel` at a time. Returns how many failed; each
   * failure is in the result's errors, naming its object.
   */
  async function archiveTenants(
    partition: DayPartition,
    plan: DayPlan,
    leaving: TenantPlan[],
    version: string,
  ): Promise<number> {
    const { day } = partition;
    const records = await recordsOfDay(o.pool, day);
    let failed = 0;
    const fail = (error: unknown, objects = 1) => {
      failed += objects;
      const message = (error as Error).message;
      result.errors.push(`${day}: ${message}`);
      log(`${day}: ${message}`);
    };
    const prepared: PreparedTenantDay[] = [];
    for (const t of leaving) {
      try {
        prepared.push(await prepareTenantDay(partition, t, records.get(t.tenantId)));
      } catch (error) {
        fail(error);
      }
    }
    const toExport = prepared.filter((p) => p.export);
    const partitionRows = plan.tenants.reduce((n, t) => n + t.rows, 0);
    if (dayExportFits(toExport, partitionRows) && !pastDeadline()) {
      try {
        await exportTogether(partition, toExport, version);
      } catch (error) {
        fail(error, toExport.length);
      }
    } else {
      await eachAtOnce(toExport, async (p) => {
        try {
          await exportAlone(partition, p, version);
        } catch (error) {
          fail(error);
        }
      });
    }
    await eachAtOnce(
      prepared.filter((p) => p.current),
      async (p) => {
        try {
          await verifyTenantDay(day, p);
        } catch (error) {
          fail(error);
        }
      },
    );
    return failed;
  }

  function pastDeadline(): boolean {
    if (o.deadline === undefined || Date.now() < o.deadline) return false;
    result.unfinished = true;
    return true;
  }

  /** `parallel` of `items` at a time; none started past the deadline. */
  async function eachAtOnce<T>(items: T[], work: (item: T) => Promise<void>): Promise<void> {
    const queue = [...items];
    const worker = async () => {
      for (let item = queue.shift(); item; item = queue.shift()) {
        if (pastDeadline()) return;
        await work(item);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.parallel ?? 2, queue.length) }, worker));
  }

  /**
   * Where a tenant-day stands before this run exports anything: its object as recorded (to verify)
   * or the object to export (when none is usable: never exported, cut short, failed, its rows
   * changed since, or a restore's rows that are no longer those of its object).
   */
  async function prepareTenantDay(
    partition: DayPartition,
    t: TenantPlan,
    record: ArchiveRecord | undefined,
  ): Promise<PreparedTenantDay> {
    const { day, name } = partition;
    let generation = record?.generation ?? 1;
    let current = record;
    if (record?.state === 'dropped') {
      // Its rows were taken out once and are back (a restore whose hold ended).
      const now = await contentOfTenantDay(o.pool, name, t.tenantId);
      if (now.rows === record.rows && now.contentSha256 === record.contentSha256) {
        await recordUndropped(o.pool, keyOf(record));
        current = { ...record, state: 'uploaded' };
        log(`${day}: the rows of ${t.folder} are those of ${record.blobName} again`);
      } else {
        generation = record.generation + 1;
        current = undefined;
      }
    }
    if ((current?.state === 'uploaded' || current?.state === 'verified') && current.rows !== t.rows) {
      // Rows came or went since the export (their rows are still here): a new export replaces it.
      log(
        `${day}: ${current.blobName} holds ${current.rows} rows, the database now ${t.rows}: exporting again`,
      );
      current = { ...current, state: 'failed' };
    }
    if (current && current.state !== 'exporting' && current.state !== 'failed') return { t, current };
    const blobName = archiveObjectName(t.folder, day, generation);
    return { t, export: { key: { tenantId: t.tenantId, day, generation }, blobName } };
  }

  /** The object of one tenant-day, from its own COPY (an index scan of the tenant's rows). */
  async function exportAlone(partition: DayPartition, p: PreparedTenantDay, version: string): Promise<void> {
    const x = await startExport(p);
    const started = performance.now();
    const manifest = await exportTenantDay({ ...dayTarget(partition, version), ...x }).catch(
      async (error: Error) => {
        await recordFailed(o.pool, p.export!.key, error.message);
        throw error;
      },
    );
    await finishExport(p, manifest, started);
  }

  /** The objects of several tenant-days from one scan of the partition (exportDay). */
  async function exportTogether(
    partition: DayPartition,
    ps: PreparedTenantDay[],
    version: string,
  ): Promise<void> {
    const objects: ObjectToExport[] = [];
    for (const p of ps) objects.push(await startExport(p));
    const started = performance.now();
    log(`${partition.day}: exporting ${ps.length} objects from one scan of ${partition.name}`);
    const manifests = await exportDay(dayTarget(partition, version), objects).catch(async (error: Error) => {
      for (const p of ps) await recordFailed(o.pool, p.export!.key, error.message);
      throw error;
    });
    for (const [i, p] of ps.entries()) await finishExport(p, manifests[i]!, started);
  }

  function dayTarget(partition: DayPartition, version: string): DayExportTarget {
    return {
      pool: o.pool,
      store: o.store!,
      partition: partition.name,
      day: partition.day,
      schemaVersion: version,
      now,
    };
  }

  /** Recorded 'exporting' before anything is uploaded: a run killed from here on exports it again. */
  async function startExport(p: PreparedTenantDay): Promise<ObjectToExport> {
    const { key, blobName } = p.export!;
    await recordExporting(o.pool, key, p.t.folder, blobName, ARCHIVE_FORMAT);
    await o.checkpoint?.('export-started', blobName);
    let stopped = false;
    return {
      tenantId: p.t.tenantId,
      tenant: p.t.folder,
      generation: key.generation,
      blobName,
      expectedRows: p.t.rows,
      onStoredBytes: async (bytes) => {
        if (!stopped && bytes >= UPLOADING_CHECKPOINT_BYTES) {
          stopped = true;
          await o.checkpoint?.('uploading', blobName);
        }
      },
    };
  }

  /** The committed object recorded 'uploaded': the next step reads it back. */
  async function finishExport(
    p: PreparedTenantDay,
    manifest: ArchiveManifest,
    started: number,
  ): Promise<void> {
    const { key, blobName } = p.export!;
    result.objectsExported += 1;
    await o.checkpoint?.('uploaded', blobName);
    await recordUploaded(o.pool, key, manifest);
    log(
      `${key.day}: exported ${blobName}: ${manifest.rows} rows, ${manifest.bytes} bytes, ` +
        `${((performance.now() - started) / 1000).toFixed(1)} s`,
    );
    p.current = {
      ...key,
      blobName,
      state: 'uploaded',
      rows: manifest.rows,
      bytes: manifest.bytes,
      sha256: manifest.sha256,
      contentSha256: manifest.contentSha256,
    };
    await o.checkpoint?.('recorded', blobName);
  }

  /** Read back: the object against what was recorded at upload, its rows against the database now. */
  async function verifyTenantDay(day: string, p: PreparedTenantDay): Promise<void> {
    const current = p.current!;
    const key = keyOf(current);
    try {
      await verifyArchiveObject(o.store!, current.blobName, {
        rows: current.rows!,
        bytes: current.bytes!,
        sha256: current.sha256!,
      });
    } catch (error) {
      await recordFailed(o.pool, key, (error as Error).message);
      throw error;
    }
    await recordVerified(o.pool, key);
    result.objectsVerified += 1;
    result.rowsVerified += p.t.rows;
    log(`${day}: verified ${current.blobName} (${p.t.rows} rows)`);
    await o.checkpoint?.('verified', current.blobName);
  }
}

/** A tenant-day before the run's export: its usable object (`current`), or the one to export. */
interface PreparedTenantDay {
  t: TenantPlan;
  current?: ArchiveRecord;
  export?: { key: RecordKey; blobName: string };
}

/** Objects exported from one scan of a partition at most: each holds a gzip stream and an upload. */
export const DAY_EXPORT_MAX_TENANTS = 4;

/**
 * One sequential scan for several tenants' objects when it is cheaper than one index scan each:
 * at least two of them, at most DAY_EXPORT_MAX_TENANTS (memory), and together at least half the
 * partition's rows (the scan reads them all; a tenant's index scan reads only its own).
 */
export function dayExportFits(toExport: { t: { rows: number } }[], partitionRows: number): boolean {
  const rows = toExport.reduce((n, p) => n + p.t.rows, 0);
  return toExport.length >= 2 && toExport.length <= DAY_EXPORT_MAX_TENANTS && rows * 2 >= partitionRows;
}

/** Rows per tenant id. */
type Rows = Map<string, number>;

/** A day to look at: its partition, or (dry run) its rows still in the default partition. */
interface DaySource {
  day: string;
  partition?: DayPartition;
  rows?: Rows;
}

/**
 * Rows per day and tenant in the default partition before `before`: what a run would first move
 * into their own partitions (a dry run only reads them). The default partition only holds rows of
 * days that had no partition yet: normally few or none.
 */
async function defaultPartitionTenantRows(pool: pg.Pool, before: string): Promise<Map<string, Rows>> {
  const res = await pool.query<{ day: string; tenant_id: string; n: string }>(
    `select to_char(ts at time zone 'UTC', 'YYYY-MM-DD') as day, tenant_id, count(*) as n
       from public.telemetry_default
      where ts < $1::date::timestamp at time zone 'UTC'
      group by 1, 2
      order by 1, 2`,
    [before],
  );
  const days = new Map<string, Rows>();
  for (const r of res.rows) {
    const rows = days.get(r.day) ?? new Map<string, number>();
    rows.set(r.tenant_id, Number(r.n));
    days.set(r.day, rows);
  }
  return days;
}

function keyOf(r: RecordKey): RecordKey {
  return { tenantId: r.tenantId, day: r.day, generation: r.generation };
}
