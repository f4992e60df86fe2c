/**
 * The daily archive run (docs/archive.md). Always: the next `partitionsAheadDays` days' partitions
 * exist, so inserts never land in the default partition. Then by mode:
 *
 *   disabled               nothing else: nothing exported, nothing deleted.
 *   enabled                per day partition past retention (oldest first), per tenant past its
 *                          retention: export the tenant's rows of the day to one object, read it back
 *                          and verify it, and only then take the rows out: the whole partition when
 *                          every tenant of the day is archived, else those tenants' rows.
 *   purge-without-archive  the same days and tenants, taken out with no copy; every deletion is
 *                          reported (the result's `purged`, a warning line, ops.audit_log).
 *
 * Each step is recorded in ops.archive_objects before the next one starts, so a run killed at any
 * point is finished by the next: an object being exported is exported again, an uploaded or
 * verified one is verified again, and the removal itself is one checked transaction in the database
 * (ops.archive_drop_day / ops.archive_delete_tenant_day). A finished day is not looked at again.
 * Rows a restore brought back are left alone while their hold lasts; after it they are taken out
 * again, through the object they came from when they are exactly its rows, else in a new generation.
 */
import type pg from 'pg';
import { schemaVersion as readSchemaVersion } from '../../../common/schema-version.js';
import { ARCHIVE_FORMAT, archiveObjectName } from '../../../common/telemetry-archive.js';
import type { ArchiveStore } from '../../../common/telemetry-archive-store.js';
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
import { contentOfTenantDay, exportTenantDay, verifyArchiveObject } from './archive-object.js';
import {
  addDays,
  keepFrom,
  MIN_ARCHIVE_AGE_DAYS,
  planDay,
  type ArchiveMode,
  type TenantPlan,
} from './plan-day.js';

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
  now?: () => Date;
  /** No new tenant-day is started after this instant (ms); the next run goes on from there. */
  deadline?: number;
  log?: (line: string) => void;
  /** Who ops.audit_log names for removals. */
  actor?: string;
  /** Called between steps (tests). */
  checkpoint?: (step: ArchiveStep, detail: string) => Promise<void>;
}

export interface PurgedRows {
  day: string;
  tenant: string;
  rows: number;
}

export interface ArchiveRunResult {
  mode: ArchiveMode;
  /** Future partitions this run created. */
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
}

export async function runArchive(o: ArchiveRunOptions): Promise<ArchiveRunResult> {
  const now = o.now ?? (() => new Date());
  const log = o.log ?? (() => undefined);
  const actor = o.actor ?? 'archive';
  const today = now().toISOString().slice(0, 10);
  const ahead = o.partitionsAheadDays ?? 7;
  if (o.mode === 'enabled' && !o.store) throw new Error('archive: mode enabled needs a store');
  if (o.mode === 'purge-without-archive' && !o.purgeReason?.trim())
    throw new Error('archive: purge-without-archive needs a reason (it is reported with every deletion)');

  const result: ArchiveRunResult = {
    mode: o.mode,
    partitionsCreated: await ensurePartitions(o.pool, today, ahead + 1),
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
    log('archive disabled: nothing exported, nothing deleted');
    return result;
  }

  const retentions = await tenantRetentions(o.pool, o.retentionDays);
  // Days older than the shortest retention (or the backfill window) are candidates.
  const shortest = Math.min(...[...retentions.values()].map((r) => r.days), o.retentionDays ?? Infinity);
  const before = keepFrom(today, Number.isFinite(shortest) ? shortest : MIN_ARCHIVE_AGE_DAYS);
  // Rows of old days that have no partition (written before one existed): give them theirs first.
  for (const day of await defaultPartitionDaysBefore(o.pool, before)) {
    await ensurePartitions(o.pool, day, 1);
    log(`${day}: rows moved from the default partition into their own`);
  }
  const schemaVersion = (await readSchemaVersion(o.pool)) ?? 'unknown';
  const partitions = await dayPartitionsBefore(o.pool, before);
  log(
    `${o.mode}: ${partitions.length} day partition(s) before ${before}` +
      (o.retentionDays ? ` (environment retention ${o.retentionDays} days)` : ''),
  );

  for (const partition of partitions) {
    if (o.deadline !== undefined && Date.now() >= o.deadline) {
      result.unfinished = true;
      log(`time budget reached: ${partition.day} and later are left for the next run`);
      break;
    }
    try {
      result.days.push({ day: partition.day, outcome: await runDay(partition) });
    } catch (error) {
      const message = (error as Error).message;
      result.errors.push(`${partition.day}: ${message}`);
      result.days.push({ day: partition.day, outcome: `failed: ${message}` });
      log(`${partition.day}: FAILED: ${message}`);
    }
  }
  return result;

  async function runDay(partition: DayPartition): Promise<string> {
    const { day, name } = partition;
    const rows = await tenantRows(o.pool, name);
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
    const leaving = plan.tenants.filter((t) => t.action !== 'keep');
    if (plan.removal === 'none') return `kept (${plan.tenants.length} tenant(s) within retention or held)`;

    if (o.mode === 'enabled') {
      const records = await recordsOfDay(o.pool, day);
      const failed: string[] = [];
      // `parallel` tenants at a time: each export is one COPY, one PostgreSQL backend and one core.
      const queue = [...leaving];
      const worker = async () => {
        for (let t = queue.shift(); t; t = queue.shift()) {
          if (o.deadline !== undefined && Date.now() >= o.deadline) {
            result.unfinished = true;
            return;
          }
          try {
            await archiveTenantDay(partition, t, records.get(t.tenantId), schemaVersion);
          } catch (error) {
            failed.push((error as Error).message);
            result.errors.push(`${day}: ${(error as Error).message}`);
            log(`${day}: ${(error as Error).message}`);
          }
        }
      };
      await Promise.all(Array.from({ length: Math.min(o.parallel ?? 2, leaving.length) }, worker));
      if (result.unfinished) return 'unfinished (time budget): the next run goes on';
      // One tenant's object not verified: nothing of the day leaves now (the next run drops it whole).
      if (failed.length) return `not removed: ${failed.length} object(s) not verified`;
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

  /** Until this tenant's rows of the day are in a verified object; throws naming the object otherwise. */
  async function archiveTenantDay(
    partition: DayPartition,
    t: TenantPlan,
    record: ArchiveRecord | undefined,
    version: string,
  ): Promise<void> {
    const { day, name } = partition;
    const store = o.store!;
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
    if (!current || current.state === 'exporting' || current.state === 'failed') {
      const blobName = archiveObjectName(t.folder, day, generation);
      const key = { tenantId: t.tenantId, day, generation };
      await recordExporting(o.pool, key, t.folder, blobName, ARCHIVE_FORMAT);
      await o.checkpoint?.('export-started', blobName);
      let stopped = false;
      const started = performance.now();
      const manifest = await exportTenantDay({
        pool: o.pool,
        store,
        partition: name,
        day,
        tenantId: t.tenantId,
        tenant: t.folder,
        generation,
        blobName,
        expectedRows: t.rows,
        schemaVersion: version,
        now,
        onStoredBytes: async (bytes) => {
          if (!stopped && bytes >= UPLOADING_CHECKPOINT_BYTES) {
            stopped = true;
            await o.checkpoint?.('uploading', blobName);
          }
        },
      }).catch(async (error: Error) => {
        await recordFailed(o.pool, key, error.message);
        throw error;
      });
      result.objectsExported += 1;
      await o.checkpoint?.('uploaded', blobName);
      await recordUploaded(o.pool, key, manifest);
      log(
        `${day}: exported ${blobName}: ${manifest.rows} rows, ${manifest.bytes} bytes, ` +
          `${((performance.now() - started) / 1000).toFixed(1)} s`,
      );
      current = {
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

    // Read back: the object against what was recorded at upload, its rows against the database now.
    const key = keyOf(current);
    try {
      await verifyArchiveObject(store, current.blobName, {
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
    result.rowsVerified += t.rows;
    log(`${day}: verified ${current.blobName} (${t.rows} rows)`);
    await o.checkpoint?.('verified', current.blobName);
  }
}

function keyOf(r: RecordKey): RecordKey {
  return { tenantId: r.tenantId, day: r.day, generation: r.generation };
}
