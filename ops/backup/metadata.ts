/**
 * What a backup says about itself, stored next to the dump (blob metadata, or a JSON sidecar for
 * the local store). Flat string pairs so that it fits Azure blob metadata (ASCII header values,
 * keys that are C# identifiers). Never holds secrets: the database is named, not its URL.
 */
export const BACKUP_FORMAT = 'pg_dump-custom-v1';

export interface BackupMetadata {
  format: typeof BACKUP_FORMAT;
  /** When the dump's snapshot was taken (ISO 8601). */
  createdAt: string;
  sizeBytes: number;
  /** Hex SHA-256 of the dump file. */
  sha256: string;
  /** Latest applied migration (supabase_migrations.schema_migrations) in the dumped snapshot. */
  schemaVersion: string;
  /** Row count per tenant table (`public.devices`), counted in the dump's snapshot. */
  rowCounts: Record<string, number>;
  pgDumpVersion: string;
  serverVersion: string;
  /** Name of the dumped database (no host, user or password). */
  database: string;
}

export function encodeMetadata(m: BackupMetadata): Record<string, string> {
  return {
    backup_format: m.format,
    created_at: m.createdAt,
    size_bytes: String(m.sizeBytes),
    sha256: m.sha256,
    schema_version: m.schemaVersion,
    // JSON with non-ASCII escaped: header values must be ASCII.
    row_counts: JSON.stringify(m.rowCounts).replace(
      /[\u007f-\uffff]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ),
    pg_dump_version: m.pgDumpVersion,
    server_version: m.serverVersion,
    database: m.database,
  };
}

export type DecodedMetadata = { ok: true; metadata: BackupMetadata } | { ok: false; problem: string };

/** Reads stored metadata back; says what is wrong instead of throwing (a check reports it). */
export function decodeMetadata(raw: Record<string, string | undefined> | undefined): DecodedMetadata {
  if (!raw || Object.keys(raw).length === 0) return { ok: false, problem: 'no metadata' };
  const get = (key: string) => raw[key] ?? raw[key.toLowerCase()];
  const missing = [
    'backup_format',
    'created_at',
    'size_bytes',
    'sha256',
    'schema_version',
    'row_counts',
    'pg_dump_version',
  ].filter((k) => !get(k));
  if (missing.length) return { ok: false, problem: `metadata lacks ${missing.join(', ')}` };
  if (get('backup_format') !== BACKUP_FORMAT)
    return { ok: false, problem: `unknown backup format ${get('backup_format')}` };
  const createdAt = get('created_at')!;
  if (Number.isNaN(Date.parse(createdAt)))
    return { ok: false, problem: `created_at ${createdAt} is not a date` };
  const sizeBytes = Number(get('size_bytes'));
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 0)
    return { ok: false, problem: `size_bytes ${get('size_bytes')} is not a byte count` };
  const sha256 = get('sha256')!;
  if (!/^[0-9a-f]{64}$/.test(sha256)) return { ok: false, problem: 'sha256 is not a hex SHA-256' };
  let rowCounts: unknown;
  try {
    rowCounts = JSON.parse(get('row_counts')!);
  } catch {
    return { ok: false, problem: 'row_counts is not JSON' };
  }
  if (
    typeof rowCounts !== 'object' ||
    rowCounts === null ||
    Array.isArray(rowCounts) ||
    !Object.values(rowCounts).every((n) => Number.isSafeInteger(n) && (n as number) >= 0)
  )
    return { ok: false, problem: 'row_counts is not a table -> count map' };
  return {
    ok: true,
    metadata: {
      format: BACKUP_FORMAT,
      createdAt,
      sizeBytes,
      sha256,
      schemaVersion: get('schema_version')!,
      rowCounts: rowCounts as Record<string, number>,
      pgDumpVersion: get('pg_dump_version')!,
      serverVersion: get('server_version') ?? '',
      database: get('database') ?? '',
    },
  };
}
