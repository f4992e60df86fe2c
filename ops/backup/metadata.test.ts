import { BACKUP_FORMAT, decodeMetadata, encodeMetadata, type BackupMetadata } from './metadata.js';

const META: BackupMetadata = {
  format: BACKUP_FORMAT,
  createdAt: '2026-02-18T03:15:00.123Z',
  sizeBytes: 123_456,
  sha256: 'a'.repeat(64),
  schemaVersion: '20261126000004',
  rowCounts: { 'public.devices': 4, 'public."Größe"': 2 },
  pgDumpVersion: '15.20',
  serverVersion: '15.20',
  database: 'postgres',
};

test('round-trips through flat ASCII string pairs (what blob metadata accepts)', () => {
  const raw = encodeMetadata(META);
  for (const [k, v] of Object.entries(raw)) {
    expect(k).toMatch(/^[a-z_][a-z0-9_]*$/);
    expect(v).toMatch(/^[\x20-\x7e]*$/);
  }
  expect(decodeMetadata(raw)).toEqual({ ok: true, metadata: META });
});

test.each([
  [undefined, /no metadata/],
  [{}, /no metadata/],
  [{ ...encodeMetadata(META), sha256: '' }, /lacks sha256/],
  [{ ...encodeMetadata(META), sha256: 'xyz' }, /sha256 is not a hex/],
  [{ ...encodeMetadata(META), size_bytes: '-1' }, /size_bytes -1/],
  [{ ...encodeMetadata(META), created_at: 'yesterday' }, /created_at yesterday is not a date/],
  [{ ...encodeMetadata(META), row_counts: '{"public.devices": -3}' }, /row_counts is not a table/],
  [{ ...encodeMetadata(META), row_counts: 'nope' }, /row_counts is not JSON/],
  [{ ...encodeMetadata(META), backup_format: 'tar' }, /unknown backup format tar/],
])('rejects %j with a reason', (raw, problem) => {
  const decoded = decodeMetadata(raw as Record<string, string> | undefined);
  expect(decoded.ok).toBe(false);
  expect(decoded.ok ? '' : decoded.problem).toMatch(problem);
});
