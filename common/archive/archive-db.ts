/**
 * The archive's SQL: day partitions, who has rows on a day, retention and holds, the bookkeeping
 * of objects (ops.archive_objects) and the two checked removals (supabase/migrations/
 * 20261201000002_archive.sql). Every statement is its own transaction: pooler-safe (Supabase's
 * transaction mode) and nothing is held open across an upload.
 */
import type pg from 'pg';
import type { ArchiveManifest } from '../telemetry-archive.js';

type Db = pg.Pool | pg.ClientBase;

export interface DayPartition {
  day: string;
  /** public.telemetry_pYYYYMMDD */
  name: string;
}

/** The attached daily partitions of public.telemetry for days before `before` (YYYY-MM-DD), oldest first. */
export async function dayPartitionsBefore(db: Db, before: string): Promise<DayPartition[]> {
  const res = await db.query<{ name: string }>(
    `select c.relname as name
       from pg_catalog.pg_inherits i
       join pg_catalog.pg_class c on c.oid = i.inhrelid
      where i.inhparent = 'public.telemetry'::regclass
        and c.relname ~ '^telemetry_p[0-9]{8}$'
        and c.relname < 'telemetry_p' || to_char($1::date, 'YYYYMMDD')
      order by c.relname`,
    [before],
  );
  return res.rows.map((r) => ({
    name: r.name,
    day: `${r.name.slice(11, 15)}-${r.name.slice(15, 17)}-${r.name.slice(17, 19)}`,
  }));
}

/** Days before `before` that have rows in the default partition (no partition of their own). */
export async function defaultPartitionDaysBefore(db: Db, before: string): Promise<string[]> {
  const res = await db.query<{ day: string }>(
    `select distinct to_char(ts at time zone 'UTC', 'YYYY-MM-DD') as day
       from public.telemetry_default
      where ts < $1::date::timestamp at time zone 'UTC'
      order by 1`,
    [before],
  );
  return res.rows.map((r) => r.day);
}

/** ops.ensure_telemetry_partitions: the partitions missing in [fromDay, fromDay + days); how many it made. */
export async function ensurePartitions(db: Db, fromDay: string, days: number): Promise<number> {
  const res = await db.query<{ created: number }>(
    `select ops.ensure_telemetry_partitions($1::date, $2::int) as created`,
    [fromDay, days],
  );
  return res.rows[0]?.created ?? 0;
}

/** Rows per tenant in one day partition. */
export async function tenantRows(db: Db, partition: string): Promise<Map<string, number>> {
  assertPartition(partition);
  const res = await db.query<{ tenant_id: string; n: string }>(
    `select tenant_id, count(*) as n from public.${partition} group by tenant_id order by tenant_id`,
  );
  return new Map(res.rows.map((r) => [r.tenant_id, Number(r.n)]));
}

export interface TenantRetention {
  slug: string;
  days: number;
}

/** Every tenant's retention: plan, override in force, the environment's cap (ops.archive_retention). */
export async function tenantRetentions(
  db: Db,
  environmentDays: number | undefined,
): Promise<Map<string, TenantRetention>> {
  const res = await db.query<{ tenant_id: string; slug: string; retention_days: number }>(
    `select tenant_id, slug, retention_days from ops.archive_retention($1::int)`,
    [environmentDays ?? null],
  );
  return new Map(res.rows.map((r) => [r.tenant_id, { slug: r.slug, days: r.retention_days }]));
}

/** Tenants of `day` whose restored rows are held (ops.archive_holds in force). */
export async function heldTenants(db: Db, day: string): Promise<Set<string>> {
  const res = await db.query<{ tenant_id: string }>(
    `select tenant_id from ops.archive_holds where day = $1::date and until > now()`,
    [day],
  );
  return new Set(res.rows.map((r) => r.tenant_id));
}

export type ObjectState = 'exporting' | 'uploaded' | 'verified' | 'dropped' | 'failed';

export interface ArchiveRecord {
  tenantId: string;
  day: string;
  generation: number;
  blobName: string;
  state: ObjectState;
  rows: number | null;
  bytes: number | null;
  sha256: string | null;
  contentSha256: string | null;
}

/** The newest generation of each tenant's objects of `day`. */
export async function recordsOfDay(db: Db, day: string): Promise<Map<string, ArchiveRecord>> {
  const res = await db.query<{
    tenant_id: string;
    generation: number;
    blob_name: string;
    state: ObjectState;
    rows: string | null;
    bytes: string | null;
    sha256: string | null;
    content_sha256: string | null;
  }>(
    `select distinct on (tenant_id) tenant_id, generation, blob_name, state, rows, bytes, sha256, content_sha256
       from ops.archive_objects
      where day = $1::date
      order by tenant_id, generation desc`,
    [day],
  );
  return new Map(
    res.rows.map((r) => [
      r.tenant_id,
      {
        tenantId: r.tenant_id,
        day,
        generation: r.generation,
        blobName: r.blob_name,
        state: r.state,
        rows: r.rows === null ? null : Number(r.rows),
        bytes: r.bytes === null ? null : Number(r.bytes),
        sha256: r.sha256,
        contentSha256: r.content_sha256,
      },
    ]),
  );
}

export interface RecordKey {
  tenantId: string;
  day: string;
  generation: number;
}

/**
 * Before an upload starts: this generation is (again) being exported to `blobName`. Allowed while
 * the object's rows are still in the database (any state but dropped).
 */
export async function recordExporting(
  db: Db,
  key: RecordKey,
  slug: string,
  blobName: string,
  format: string,
): Promise<void> {
  const res = await db.query(
    `insert into ops.archive_objects (tenant_id, day, generation, tenant_slug, blob_name, state, format)
     values ($1, $2::date, $3, $4, $5, 'exporting', $6)
     on conflict (tenant_id, day, generation) do update
       set tenant_slug = excluded.tenant_slug, blob_name = excluded.blob_name, state = 'exporting',
           format = excluded.format, rows = null, bytes = null, sha256 = null, content_sha256 = null,
           min_ts = null, max_ts = null, schema_version = null, error = null, uploaded_at = null,
           verified_at = null, dropped_at = null, updated_at = now()
     where ops.archive_objects.state <> 'dropped'`,
    [key.tenantId, key.day, key.generation, slug, blobName, format],
  );
  // Never over an object whose rows left the database: it is their only copy.
  if (res.rowCount !== 1)
    throw new Error(`archive: ${blobName} holds rows removed from the database; not exporting over it`);
}

/** The blob is committed with `manifest`. */
export async function recordUploaded(db: Db, key: RecordKey, m: ArchiveManifest): Promise<void> {
  await db.query(
    `update ops.archive_objects
        set state = 'uploaded', rows = $4, bytes = $5, sha256 = $6, content_sha256 = $7, min_ts = $8,
            max_ts = $9, schema_version = $10, format = $11, uploaded_at = $12, error = null, updated_at = now()
      where tenant_id = $1 and day = $2::date and generation = $3 and state = 'exporting'`,
    [
      key.tenantId,
      key.day,
      key.generation,
      m.rows,
      m.bytes,
      m.sha256,
      m.contentSha256,
      m.minTs,
      m.maxTs,
      m.schemaVersion,
      m.format,
      m.exportedAt,
    ],
  );
}

/**
 * Rows of a tenant-day whose object's rows were removed are in the database again (a restore whose
 * hold ended) and are exactly the object's rows: the object is theirs again, to be verified.
 */
export async function recordUndropped(db: Db, key: RecordKey): Promise<void> {
  await db.query(
    `update ops.archive_objects set state = 'uploaded', dropped_at = null, updated_at = now()
      where tenant_id = $1 and day = $2::date and generation = $3 and state = 'dropped'`,
    [key.tenantId, key.day, key.generation],
  );
}

export async function recordVerified(db: Db, key: RecordKey): Promise<void> {
  await db.query(
    `update ops.archive_objects set state = 'verified', verified_at = now(), error = null, updated_at = now()
      where tenant_id = $1 and day = $2::date and generation = $3 and state in ('uploaded', 'verified')`,
    [key.tenantId, key.day, key.generation],
  );
}

/** The export or verification failed: the next run exports this generation again. */
export async function recordFailed(db: Db, key: RecordKey, error: string): Promise<void> {
  await db.query(
    `update ops.archive_objects set state = 'failed', error = left($4, 2000), updated_at = now()
      where tenant_id = $1 and day = $2::date and generation = $3 and state <> 'dropped'`,
    [key.tenantId, key.day, key.generation, error],
  );
}

export interface DroppedDay {
  partition: string;
  rows: number;
  /** Rows per tenant id. */
  tenants: Record<string, number>;
}

/** ops.archive_drop_day: null when the day has no partition; throws when its check refuses. */
export async function dropDay(
  db: Db,
  day: string,
  purge: boolean,
  actor: string,
): Promise<DroppedDay | null> {
  const res = await db.query<{ dropped: DroppedDay | null }>(
    `select ops.archive_drop_day($1::date, $2, $3) as dropped`,
    [day, purge, actor],
  );
  const d = res.rows[0]?.dropped ?? null;
  return d && { ...d, rows: Number(d.rows) };
}

/** ops.archive_delete_tenant_day: rows deleted, null when the day has no partition. */
export async function deleteTenantDay(
  db: Db,
  tenantId: string,
  day: string,
  purge: boolean,
  actor: string,
): Promise<number | null> {
  const res = await db.query<{ deleted: string | null }>(
    `select ops.archive_delete_tenant_day($1, $2::date, $3, $4) as deleted`,
    [tenantId, day, purge, actor],
  );
  const n = res.rows[0]?.deleted ?? null;
  return n === null ? null : Number(n);
}

export function assertPartition(name: string): void {
  if (!/^telemetry_p[0-9]{8}$/.test(name)) throw new Error(`not a day partition: ${JSON.stringify(name)}`);
}
