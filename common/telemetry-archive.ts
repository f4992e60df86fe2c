/**
 * The telemetry archive's objects (docs/archive.md), known here once for the Functions app's
 * archive, which writes and verifies them (common/archive), and `ops archive restore`, which
 * reads them back (ops/archive).
 *
 * One object per tenant and UTC day, `<tenant>/<yyyy>/<mm>/<dd>.ndjson.gz` in the archive container
 * (`<dd>.<n>.ndjson.gz` for a later generation of the same tenant-day, see ops.archive_objects):
 * gzip of one JSON object per line, a row of public.telemetry each,
 *
 *   {"tenant_id":"…","device_id":"…","ts":"2026-10-21T08:00:00.25Z","msg_key":"…","metrics":{…},"received_at":"…"}
 *
 * in no particular order (the export does not sort: common/archive/archive-object.ts): timestamps
 * in UTC with PostgreSQL's digits (microseconds, trailing zeros dropped), metrics exactly as jsonb
 * prints them. A restore that parses the lines in PostgreSQL gets exactly the same values back. The
 * manifest travels as the blob's metadata, committed with the blob in one call: an object never
 * exists without it.
 */
import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

/** What a line holds and how objects are compressed; a new layout gets a new format. */
export const ARCHIVE_FORMAT = 'telemetry-ndjson-gz/1';

export interface ArchiveManifest {
  format: string;
  tenantId: string;
  /** The tenant's slug when exported (the object's folder). */
  tenant: string;
  /** The UTC day, YYYY-MM-DD. */
  day: string;
  generation: number;
  rows: number;
  /** Size of the object (compressed). */
  bytes: number;
  /** sha256 of the object's bytes, as stored. */
  sha256: string;
  /** sha256 of the uncompressed lines: the same rows give the same value, whatever the gzip. */
  contentSha256: string;
  /** The first and last row's ts (ISO 8601, UTC); null for an object without rows. */
  minTs: string | null;
  maxTs: string | null;
  /** The database's latest migration when exported (supabase_migrations). */
  schemaVersion: string;
  exportedAt: string;
}

const SLUG = /^[a-z0-9][a-z0-9._-]{1,63}$/;
const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** `acme/2026/10/21.ndjson.gz`, `acme/2026/10/21.2.ndjson.gz` for generation 2. */
export function archiveObjectName(tenant: string, day: string, generation = 1): string {
  if (!SLUG.test(tenant)) throw new Error(`archive: tenant folder ${JSON.stringify(tenant)} is not a slug`);
  const m = DAY.exec(day);
  if (!m || !isDay(day)) throw new Error(`archive: ${JSON.stringify(day)} is not a day (YYYY-MM-DD)`);
  if (!Number.isInteger(generation) || generation < 1 || generation > 999)
    throw new Error(`archive: generation ${generation} is not 1 to 999`);
  return `${tenant}/${m[1]}/${m[2]}/${m[3]}${generation === 1 ? '' : `.${generation}`}.ndjson.gz`;
}

/** The tenant, day and generation an object name stands for; null for any other name. */
export function parseArchiveObjectName(
  name: string,
): { tenant: string; day: string; generation: number } | null {
  const m = /^([^/]+)\/(\d{4})\/(\d{2})\/(\d{2})(?:\.([1-9]\d{0,2}))?\.ndjson\.gz$/.exec(name);
  if (!m || !SLUG.test(m[1]!) || m[5] === '1') return null;
  const day = `${m[2]}-${m[3]}-${m[4]}`;
  if (!isDay(day)) return null;
  return { tenant: m[1]!, day, generation: m[5] ? Number(m[5]) : 1 };
}

export function isDay(day: string): boolean {
  const ms = DAY.test(day) ? Date.parse(`${day}T00:00:00Z`) : NaN;
  return Number.isFinite(ms) && new Date(ms).toISOString().slice(0, 10) === day;
}

// Blob metadata names are C# identifiers, case-insensitive (Azure returns them lowercased).
const META: Record<keyof ArchiveManifest, string> = {
  format: 'format',
  tenantId: 'tenantid',
  tenant: 'tenant',
  day: 'day',
  generation: 'generation',
  rows: 'rows',
  bytes: 'bytes',
  sha256: 'sha256',
  contentSha256: 'contentsha256',
  minTs: 'mints',
  maxTs: 'maxts',
  schemaVersion: 'schemaversion',
  exportedAt: 'exportedat',
};
const NUMBERS = new Set<keyof ArchiveManifest>(['generation', 'rows', 'bytes']);
const NULLABLE = new Set<keyof ArchiveManifest>(['minTs', 'maxTs']);

export function encodeManifest(manifest: ArchiveManifest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, name] of Object.entries(META) as [keyof ArchiveManifest, string][]) {
    // No value for null: Azure keeps no metadata with an empty value.
    const value = manifest[key];
    if (value !== null) out[name] = String(value);
  }
  return out;
}

export type DecodedManifest = { ok: true; manifest: ArchiveManifest } | { ok: false; problem: string };

export function decodeManifest(metadata: Record<string, string> | undefined): DecodedManifest {
  if (!metadata || Object.keys(metadata).length === 0)
    return { ok: false, problem: 'no manifest (metadata)' };
  const lower = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(META) as [keyof ArchiveManifest, string][]) {
    const raw = lower[name];
    if (raw === undefined && NULLABLE.has(key)) out[key] = null;
    else if (raw === undefined) return { ok: false, problem: `manifest lacks ${name}` };
    else if (NUMBERS.has(key)) {
      if (!/^\d{1,15}$/.test(raw)) return { ok: false, problem: `manifest ${name} is not a count: ${raw}` };
      out[key] = Number(raw);
    } else out[key] = raw;
  }
  const m = out as unknown as ArchiveManifest;
  if (m.format !== ARCHIVE_FORMAT)
    return { ok: false, problem: `unknown format ${JSON.stringify(m.format)}` };
  if (!/^[0-9a-f]{64}$/.test(m.sha256) || !/^[0-9a-f]{64}$/.test(m.contentSha256))
    return { ok: false, problem: 'manifest checksums are not sha256 hex' };
  if (!isDay(m.day)) return { ok: false, problem: `manifest day ${m.day} is not a day` };
  return { ok: true, manifest: m };
}

export interface ArchiveDigest {
  /** The object's size and sha256, as stored (compressed). */
  bytes: number;
  sha256: string;
  /** Lines (rows) after gunzip. */
  rows: number;
}

/** The object is not what an archive object must be: not gzip, cut short, a last line without \n. */
export class ArchiveContentError extends Error {}

/**
 * Reads an object (its stored, compressed bytes) once: its size and sha256, and after gunzip its
 * line count. With `onLines`, every line in batches of `batchLines`, awaited before more is read:
 * memory stays bounded whatever the object's size.
 */
export async function digestArchiveObject(
  object: Readable | AsyncIterable<Uint8Array>,
  onLines?: (lines: string[]) => Promise<void>,
  batchLines = 1000,
): Promise<ArchiveDigest> {
  const stored = createHash('sha256');
  let bytes = 0;
  let rows = 0;
  let lastByte = -1;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      stored.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const consume = async (source: AsyncIterable<Buffer>) => {
    let carry: Buffer | null = null;
    let batch: string[] = [];
    for await (const chunk of source) {
      if (chunk.length) lastByte = chunk[chunk.length - 1]!;
      if (!onLines) {
        rows += countNewlines(chunk);
        continue;
      }
      const data: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
      let start = 0;
      for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
        batch.push(data.toString('utf8', start, nl));
        rows += 1;
        start = nl + 1;
        if (batch.length >= batchLines) {
          await onLines(batch);
          batch = [];
        }
      }
      carry = start < data.length ? Buffer.from(data.subarray(start)) : null;
    }
    if (batch.length) await onLines!(batch);
  };
  try {
    await pipeline(object, tap, createGunzip({ chunkSize: 256 * 1024 }), consume);
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (
      code.startsWith('Z_') ||
      /unexpected end of file|incorrect header check/i.test((error as Error).message)
    )
      throw new ArchiveContentError(`not a complete gzip object (${(error as Error).message})`);
    throw error;
  }
  if (lastByte !== -1 && lastByte !== 10)
    throw new ArchiveContentError('the last line does not end with a newline (cut short?)');
  return { bytes, sha256: stored.digest('hex'), rows };
}

export function countNewlines(chunk: Uint8Array): number {
  let n = 0;
  for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) n += 1;
  return n;
}
