/**
 * One archive object: a tenant's rows of a day exported from PostgreSQL to the archive store, and
 * read back to verify it. The rows leave PostgreSQL through COPY ... TO STDOUT, become NDJSON lines
 * (common/telemetry-archive.ts's format), are gzipped and uploaded as they come (pg-copy-streams ->
 * CopyToNdjson -> zlib -> staged blocks): memory stays bounded whatever the day's size.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import {
  ARCHIVE_FORMAT,
  digestArchiveObject,
  type ArchiveDigest,
  type ArchiveManifest,
} from '../telemetry-archive.js';
import { ArchiveObjectMissingError, type ArchiveStore } from '../telemetry-archive-store.js';
import { assertPartition } from './archive-db.js';
import { CopyToNdjson } from './copy-to-ndjson.js';
import { CopyToTenantNdjson } from './copy-to-tenant-ndjson.js';

/** Level 1: about a quarter larger objects than level 6 for far less CPU (docs/archive.md). */
export const GZIP_LEVEL = 1;
export const ZLIB_CHUNK_BYTES = 256 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The COPY of a tenant's rows of a day partition, in no particular order: ordering a day's rows
 * cost PostgreSQL about as much again as printing them (issue 12's bench), and nothing needs it:
 * the object's bytes are hashed as they are uploaded and verified against that hash, restore is
 * idempotent whatever the order, and the earliest and latest ts are compared, not taken from the
 * ends (CopyToNdjson). PostgreSQL only reads and prints the rows (building the JSON in SQL cost it
 * half as much again on a day of a million rows); CopyToNdjson (copy-to-ndjson.ts) writes the lines.
 */
export function exportSql(partition: string, tenantId: string): string {
  assertPartition(partition);
  if (!UUID.test(tenantId)) throw new Error(`not a tenant id: ${JSON.stringify(tenantId)}`);
  return `copy (
    select t.tenant_id, t.device_id, t.ts, t.msg_key, t.metrics, t.received_at
      from public.${partition} t
     where t.tenant_id = '${tenantId}'
  ) to stdout`;
}

/**
 * The export's transaction: timestamps printed in ISO style and UTC whatever the role's or the
 * pooler's settings (local to the transaction: safe behind Supabase's transaction pooler). Through
 * the (tenant_id, ts) index always (a bitmap scan: the tenant's pages in their order on disk): a
 * tenant with a quarter of the day's rows made the planner scan the whole partition, once per
 * tenant. No JIT, whose compilation costs more than it saves here; no parallel workers (the
 * archive runs tenants side by side itself).
 */
export const EXPORT_SETUP =
  `begin; set local time zone 'UTC'; set local datestyle = 'ISO, YMD'; set local enable_seqscan = off; ` +
  `set local jit = off; set local max_parallel_workers_per_gather = 0`;

/**
 * The day export's transaction: as EXPORT_SETUP, but a sequential scan of the whole partition is
 * what it wants (one scan for every tenant; exportDay).
 */
export const DAY_EXPORT_SETUP =
  `begin; set local time zone 'UTC'; set local datestyle = 'ISO, YMD'; ` +
  `set local jit = off; set local max_parallel_workers_per_gather = 0`;

/** Every row of a day partition, in no particular order (exportDay routes them by tenant). */
export function daySql(partition: string): string {
  assertPartition(partition);
  return `copy (
    select t.tenant_id, t.device_id, t.ts, t.msg_key, t.metrics, t.received_at
      from public.${partition} t
  ) to stdout`;
}

/** One object: a tenant's rows of the day. */
export interface ObjectToExport {
  tenantId: string;
  tenant: string;
  generation: number;
  blobName: string;
  /** The rows the database counted for this tenant-day: an export that finds another number is not committed. */
  expectedRows: number;
  /** Called as compressed bytes go out (tests stop the process mid-upload here). */
  onStoredBytes?: (bytes: number) => Promise<void>;
}

/** Where the objects of a day come from and go. */
export interface DayExportTarget {
  pool: pg.Pool;
  store: ArchiveStore;
  partition: string;
  day: string;
  schemaVersion: string;
  now?: () => Date;
}

export type ExportOptions = DayExportTarget & ObjectToExport;

/** What an object's lines were, known once they are all written. */
interface LinesSummary {
  readonly rows: number;
  readonly hash: { digest(encoding: 'hex'): string };
  readonly minTs: string | null;
  readonly maxTs: string | null;
}

/**
 * Uploads one object as its gzip stream gives it, hashing the stored bytes; commits it with its
 * manifest only when its lines are the rows the database counted. Resolves with that manifest.
 */
function storeObject(
  d: DayExportTarget,
  x: ObjectToExport,
  gzip: AsyncIterable<Buffer>,
  lines: LinesSummary,
): Promise<ArchiveManifest> {
  const stored = createHash('sha256');
  let bytes = 0;
  const body = async function* () {
    for await (const chunk of gzip) {
      stored.update(chunk);
      bytes += chunk.length;
      yield chunk;
      await x.onStoredBytes?.(bytes);
    }
  };
  let manifest: ArchiveManifest | undefined;
  return d.store
    .upload(x.blobName, body(), () => {
      if (lines.rows !== x.expectedRows)
        throw new Error(
          `${x.blobName}: the export found ${lines.rows} rows, the database counted ${x.expectedRows}; not committed`,
        );
      manifest = {
        format: ARCHIVE_FORMAT,
        tenantId: x.tenantId,
        tenant: x.tenant,
        day: d.day,
        generation: x.generation,
        rows: lines.rows,
        bytes,
        sha256: stored.digest('hex'),
        contentSha256: lines.hash.digest('hex'),
        minTs: lines.minTs,
        maxTs: lines.maxTs,
        schemaVersion: d.schemaVersion,
        exportedAt: (d.now?.() ?? new Date()).toISOString(),
      };
      return manifest;
    })
    .then(() => manifest!);
}

const newGzip = () => createGzip({ level: GZIP_LEVEL, chunkSize: ZLIB_CHUNK_BYTES });

/**
 * Runs a COPY into `sink` while the objects upload, on one connection in `setup`'s transaction.
 * A failed upload stops the COPY (or the pipeline would wait for a reader forever); the error
 * thrown is the root cause: a COPY that failed, else an upload.
 */
async function copyWhileUploading(
  pool: pg.Pool,
  setup: string,
  sql: string,
  sink: (copy: Readable) => Promise<void>,
  uploads: () => Promise<ArchiveManifest>[],
): Promise<ArchiveManifest[]> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query(setup);
    const copy = client.query(copyStreams.to(sql));
    const flowing = sink(copy);
    const uploaded = uploads();
    for (const u of uploaded) u.catch((error: Error) => copy.destroy(error));
    const [flow, ...done] = await Promise.allSettled([flowing, ...uploaded]);
    const copyFailed =
      flow.status === 'rejected' && (flow.reason as { code?: string }).code !== 'ERR_STREAM_PREMATURE_CLOSE';
    if (copyFailed) throw (failure = flow.reason as Error);
    const upload = done.find((u) => u.status === 'rejected');
    if (upload) throw (failure = upload.reason as Error);
    if (flow.status === 'rejected') throw (failure = flow.reason as Error);
    await client.query('commit');
    return done.map((u) => (u as PromiseFulfilledResult<ArchiveManifest>).value);
  } finally {
    // A COPY cut short leaves the connection mid-protocol: never give it back to the pool.
    client.release(failure);
  }
}

/** Exports and uploads one object; its manifest, as committed with it. */
export async function exportTenantDay(o: ExportOptions): Promise<ArchiveManifest> {
  const lines = new CopyToNdjson();
  // 256 KiB output chunks, not 16: a sixteenth of the callbacks, hash updates and upload iterations.
  const gzip = newGzip();
  const [manifest] = await copyWhileUploading(
    o.pool,
    EXPORT_SETUP,
    exportSql(o.partition, o.tenantId),
    (copy) => pipeline(copy, lines, gzip),
    () => [storeObject(o, o, gzip, lines)],
  );
  return manifest!;
}

/**
 * Several tenants' objects of one day from one sequential scan of the partition (COPY of every row,
 * routed by tenant: CopyToTenantNdjson), uploaded side by side; their manifests, in order. All or
 * nothing: one failure fails them all (the caller exports them again). Memory: one gzip stream and
 * one upload per object at once, so the caller bounds how many (run-archive.ts DAY_EXPORT_MAX_TENANTS).
 */
export async function exportDay(d: DayExportTarget, objects: ObjectToExport[]): Promise<ArchiveManifest[]> {
  const gzips = objects.map(newGzip);
  const router = new CopyToTenantNdjson(objects.map((x, i) => ({ tenantId: x.tenantId, stream: gzips[i]! })));
  return copyWhileUploading(
    d.pool,
    DAY_EXPORT_SETUP,
    daySql(d.partition),
    (copy) => pipeline(copy, router),
    () => objects.map((x, i) => storeObject(d, x, gzips[i]!, router.linesOf(i))),
  );
}

/**
 * The line count and content sha256 of a tenant-day as it is in the database now (nothing uploaded).
 * Equal to an object's: the very lines of that object, so its rows. Different: other rows, or the
 * same rows printed in another order (the export does not sort); either way the caller exports a
 * new object, never wrong, at worst one object more.
 */
export async function contentOfTenantDay(
  pool: pg.Pool,
  partition: string,
  tenantId: string,
): Promise<{ rows: number; contentSha256: string }> {
  const client = await pool.connect();
  let failure: Error | undefined;
  try {
    await client.query(EXPORT_SETUP);
    const lines = new CopyToNdjson();
    await pipeline(client.query(copyStreams.to(exportSql(partition, tenantId))), lines, async (source) => {
      for await (const _chunk of source) void _chunk;
    });
    await client.query('commit');
    return { rows: lines.rows, contentSha256: lines.hash.digest('hex') };
  } catch (error) {
    throw (failure = error as Error);
  } finally {
    client.release(failure);
  }
}

export interface ExpectedObject {
  rows: number;
  bytes: number;
  sha256: string;
}

export class ArchiveVerificationError extends Error {
  constructor(
    readonly objectName: string,
    readonly problems: string[],
  ) {
    super(`archive object ${objectName} failed verification: ${problems.join('; ')}`);
  }
}

/**
 * Reads the object back from the store and checks it against what was recorded when it was
 * uploaded: its bytes (size, sha256: the same bytes are the same rows), its rows counted again
 * after gunzip (against the database's count), and the manifest committed with it. Throws
 * ArchiveVerificationError (or ArchiveObjectMissingError) naming the object.
 */
export async function verifyArchiveObject(
  store: ArchiveStore,
  name: string,
  expected: ExpectedObject,
): Promise<ArchiveDigest> {
  const { manifest, body } = await store.open(name);
  let digest: ArchiveDigest;
  try {
    digest = await digestArchiveObject(body);
  } catch (error) {
    throw new ArchiveVerificationError(name, [(error as Error).message]);
  }
  const problems: string[] = [];
  if (digest.sha256 !== expected.sha256)
    problems.push(
      `sha256 ${digest.sha256.slice(0, 12)}… is not the recorded ${expected.sha256.slice(0, 12)}…`,
    );
  if (digest.bytes !== expected.bytes) problems.push(`${digest.bytes} bytes, recorded ${expected.bytes}`);
  if (digest.rows !== expected.rows) problems.push(`${digest.rows} rows, the database has ${expected.rows}`);
  if (!manifest.ok) problems.push(manifest.problem);
  else if (manifest.manifest.sha256 !== expected.sha256 || manifest.manifest.rows !== expected.rows)
    problems.push('its manifest does not describe it');
  if (problems.length) throw new ArchiveVerificationError(name, problems);
  return digest;
}

export { ArchiveObjectMissingError };
