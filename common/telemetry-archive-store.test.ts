/** The archive container on Azurite: staged blocks committed with the manifest, read back, listed. */
import { BlobServiceClient } from '@azure/storage-blob';
import { Readable } from 'node:stream';
import { startAzurite, type Azurite } from '../test/support/azurite.js';
import { ARCHIVE_FORMAT, type ArchiveManifest } from './telemetry-archive.js';
import { ArchiveObjectMissingError, createArchiveStore } from './telemetry-archive-store.js';

let azurite: Azurite;
beforeAll(async () => {
  azurite = await startAzurite();
}, 60_000);
afterAll(async () => {
  await azurite?.stop();
});

const manifest = (rows: number): ArchiveManifest => ({
  format: ARCHIVE_FORMAT,
  tenantId: '2d18e016-4d8a-4d56-b570-3112fc67318e',
  tenant: 'acme',
  day: '2026-10-21',
  generation: 1,
  rows,
  bytes: 3000,
  sha256: 'a'.repeat(64),
  contentSha256: 'b'.repeat(64),
  minTs: null,
  maxTs: null,
  schemaVersion: '20261201000002',
  exportedAt: '2026-12-01T20:30:00.000Z',
});

test('an upload is staged in blocks and appears once, complete, with its manifest; open and list read it back', async () => {
  const store = createArchiveStore({
    connectionString: azurite.connectionString,
    container: 'store-a',
    blockSizeBytes: 1024,
  });
  const body = Buffer.alloc(3000, 7);
  await store.upload(
    'acme/2026/10/21.ndjson.gz',
    Readable.from([body.subarray(0, 1500), body.subarray(1500)]),
    () => manifest(3),
  );
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('store-a')
    .getBlockBlobClient('acme/2026/10/21.ndjson.gz');
  expect((await blob.getBlockList('committed')).committedBlocks?.length).toBe(3);
  const { manifest: read, body: stream } = await store.open('acme/2026/10/21.ndjson.gz');
  expect(read).toEqual({ ok: true, manifest: manifest(3) });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).equals(body)).toBe(true);
  expect(await store.list('acme/2026/')).toEqual([
    { name: 'acme/2026/10/21.ndjson.gz', storedBytes: 3000, manifest: { ok: true, manifest: manifest(3) } },
  ]);
  expect(await store.list('other/')).toEqual([]);
  expect(store.description).toBe('Azure blob devstoreaccount1/store-a');
});

test('a body that fails, or a manifest that refuses, commits nothing; a missing object is named', async () => {
  const store = createArchiveStore({
    connectionString: azurite.connectionString,
    container: 'store-b',
    blockSizeBytes: 1024,
  });
  const failing = new Readable({
    read() {
      this.destroy(new Error('COPY failed: connection lost'));
    },
  });
  await expect(store.upload('x/2026/10/21.ndjson.gz', failing, () => manifest(1))).rejects.toThrow(
    /connection lost/,
  );
  await expect(
    store.upload('x/2026/10/21.ndjson.gz', Readable.from([Buffer.alloc(2000)]), () => {
      throw new Error('the export found 9 rows, the database counted 10; not committed');
    }),
  ).rejects.toThrow(/not committed/);
  expect(await store.list('')).toEqual([]);
  const missing = await store.open('x/2026/10/21.ndjson.gz').catch((e: Error) => e);
  expect(missing).toBeInstanceOf(ArchiveObjectMissingError);
  expect((missing as Error).message).toBe(
    'archive object x/2026/10/21.ndjson.gz is missing from Azure blob devstoreaccount1/store-b',
  );
});

test('errors never carry the account key; bad settings are refused before any request', async () => {
  const key = /AccountKey=([^;]+)/.exec(azurite.connectionString)![1]!;
  const wrongKey = Buffer.alloc(64, 9).toString('base64');
  const wrong = createArchiveStore({
    connectionString: azurite.connectionString.replace(key, wrongKey),
    container: 'store-c',
  });
  const error = await wrong.list('').catch((e: Error) => e);
  expect((error as Error).message).toMatch(/Azure blob list failed \(devstoreaccount1\/store-c\): .*403/);
  expect((error as Error).message).not.toContain(wrongKey);
  expect(() =>
    createArchiveStore({ connectionString: 'garbage;AccountKey=s3cr3t', container: 'abc' }),
  ).toThrow(/connection string is malformed$/);
  expect(() =>
    createArchiveStore({ connectionString: azurite.connectionString, container: 'Bad_Name' }),
  ).toThrow(/container name "Bad_Name" is invalid/);
});
