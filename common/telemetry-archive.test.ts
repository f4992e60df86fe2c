import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import {
  ARCHIVE_FORMAT,
  ArchiveContentError,
  archiveObjectName,
  decodeManifest,
  digestArchiveObject,
  encodeManifest,
  parseArchiveObjectName,
  type ArchiveManifest,
} from './telemetry-archive.js';

const manifest: ArchiveManifest = {
  format: ARCHIVE_FORMAT,
  tenantId: '2d18e016-4d8a-4d56-b570-3112fc67318e',
  tenant: 'acme',
  day: '2026-10-21',
  generation: 1,
  rows: 2,
  bytes: 40,
  sha256: 'a'.repeat(64),
  contentSha256: 'b'.repeat(64),
  minTs: '2026-10-21T00:00:01Z',
  maxTs: null,
  schemaVersion: '20261201000002',
  exportedAt: '2026-12-01T20:30:00.000Z',
};

test('one object per tenant and day, later generations beside it; other names are not objects', () => {
  expect(archiveObjectName('acme', '2026-10-21')).toBe('acme/2026/10/21.ndjson.gz');
  expect(archiveObjectName('acme', '2026-10-21', 2)).toBe('acme/2026/10/21.2.ndjson.gz');
  expect(parseArchiveObjectName('acme/2026/10/21.2.ndjson.gz')).toEqual({
    tenant: 'acme',
    day: '2026-10-21',
    generation: 2,
  });
  expect(parseArchiveObjectName('acme/2026/10/21.ndjson.gz')?.generation).toBe(1);
  for (const other of [
    'acme/2026/10/21.1.ndjson.gz',
    'acme/2026/02/30.ndjson.gz',
    'Acme/2026/10/21.ndjson.gz',
    'acme/21.ndjson.gz',
  ])
    expect(parseArchiveObjectName(other)).toBeNull();
  expect(() => archiveObjectName('../x', '2026-10-21')).toThrow(/not a slug/);
  expect(() => archiveObjectName('acme', '2026-13-01')).toThrow(/not a day/);
});

test('the manifest round-trips through blob metadata (names lowercased by Azure) and is checked', () => {
  const metadata = encodeManifest(manifest);
  expect(metadata).toMatchObject({ tenantid: manifest.tenantId, rows: '2' });
  expect(metadata).not.toHaveProperty('maxts');
  expect(decodeManifest(metadata)).toEqual({ ok: true, manifest });
  expect(decodeManifest({ ...metadata, TenantId: manifest.tenantId })).toEqual({ ok: true, manifest });
  expect(decodeManifest(undefined)).toEqual({ ok: false, problem: 'no manifest (metadata)' });
  expect(decodeManifest({ ...metadata, rows: 'many' })).toEqual({
    ok: false,
    problem: 'manifest rows is not a count: many',
  });
  expect(decodeManifest({ ...metadata, format: 'csv/1' })).toMatchObject({
    ok: false,
    problem: 'unknown format "csv/1"',
  });
});

test('digest: bytes and sha256 as stored, rows after gunzip, lines in bounded batches', async () => {
  const lines = Array.from({ length: 2500 }, (_, i) => `{"n":${i},"s":"ü"}`);
  const gz = gzipSync(lines.map((l) => `${l}\n`).join(''));
  const batches: number[] = [];
  const seen: string[] = [];
  const chunks = Array.from({ length: Math.ceil(gz.length / 100) }, (_, i) =>
    gz.subarray(i * 100, i * 100 + 100),
  );
  const digest = await digestArchiveObject(
    Readable.from(chunks),
    async (batch) => {
      batches.push(batch.length);
      seen.push(...batch);
    },
    1000,
  );
  expect(digest).toEqual({
    bytes: gz.length,
    sha256: (await import('node:crypto')).createHash('sha256').update(gz).digest('hex'),
    rows: 2500,
  });
  expect(batches).toEqual([1000, 1000, 500]);
  expect(seen).toEqual(lines);
  expect((await digestArchiveObject(Readable.from([gz]))).rows).toBe(2500);
});

test('digest: not gzip, cut short, or a last line without its newline is an ArchiveContentError', async () => {
  const gz = gzipSync('{"a":1}\n{"a":2}\n');
  await expect(digestArchiveObject(Readable.from([Buffer.from('not gzip')]))).rejects.toThrow(
    ArchiveContentError,
  );
  await expect(digestArchiveObject(Readable.from([gz.subarray(0, gz.length - 6)]))).rejects.toThrow(
    /not a complete gzip object/,
  );
  await expect(digestArchiveObject(Readable.from([gzipSync('{"a":1}\n{"a":2}')]))).rejects.toThrow(
    /last line does not end with a newline/,
  );
});
