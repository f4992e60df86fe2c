import { BlobServiceClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { createAzureBlobBackupStore } from './azure-blob-store.js';
import { BACKUP_FORMAT, type BackupMetadata } from './metadata.js';
import { pruneBackups } from './retention.js';

let azurite: Azurite;
let dir: string;
beforeAll(async () => {
  azurite = await startAzurite();
  dir = await mkdtemp(join(tmpdir(), 'azure-store-'));
});
afterAll(async () => {
  await azurite?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const meta = (body: Buffer, createdAt: string): BackupMetadata => ({
  format: BACKUP_FORMAT,
  createdAt,
  sizeBytes: body.length,
  sha256: createHash('sha256').update(body).digest('hex'),
  schemaVersion: '20261126000004',
  rowCounts: { 'public.devices': 4, 'public.telemetry': 160 },
  pgDumpVersion: '15.20',
  serverVersion: '15.20',
  database: 'postgres',
});

/** A body in many small chunks, counting how much was read ahead of the store. */
function chunked(body: Buffer, chunk: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      this.push(offset < body.length ? body.subarray(offset, (offset += chunk)) : null);
    },
  });
}

test('streams in blocks, commits with metadata, lists per environment prefix, downloads, deletes', async () => {
  const prod = createAzureBlobBackupStore({
    connectionString: azurite.connectionString,
    containerName: 'backups',
    prefix: 'production',
    blockSizeBytes: 64 * 1024,
    concurrency: 2,
  });
  const staging = createAzureBlobBackupStore({
    connectionString: azurite.connectionString,
    containerName: 'backups',
    prefix: 'staging/',
  });
  const big = Buffer.alloc(300_000);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
  await prod.upload('20260218T031500000Z.dump', chunked(big, 10_000), () =>
    meta(big, '2026-02-18T03:15:00.000Z'),
  );
  const small = Buffer.from('PGDMP small');
  await prod.upload('20260217T031500000Z.dump', Readable.from([small]), () =>
    meta(small, '2026-02-17T03:15:00.000Z'),
  );
  await staging.upload('20260219T000000000Z.dump', Readable.from([small]), () =>
    meta(small, '2026-02-19T00:00:00.000Z'),
  );

  const list = await prod.list();
  expect(list.map((b) => [b.name, b.storedBytes])).toEqual([
    ['20260217T031500000Z.dump', small.length],
    ['20260218T031500000Z.dump', big.length],
  ]);
  expect(list[1]!.metadata).toEqual(meta(big, '2026-02-18T03:15:00.000Z'));
  expect((await staging.list()).map((b) => b.name)).toEqual(['20260219T000000000Z.dump']);
  expect(prod.description).toBe('Azure blob devstoreaccount1/backups/production/');

  // Really staged as several blocks (300 kB in 64 KiB blocks), not one buffered upload.
  const blob = BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('backups')
    .getBlockBlobClient('production/20260218T031500000Z.dump');
  expect((await blob.getBlockList('committed')).committedBlocks?.length).toBe(5);

  const out = join(dir, 'dl.dump');
  await prod.download('20260218T031500000Z.dump', out);
  expect((await readFile(out)).equals(big)).toBe(true);
  await prod.delete('20260217T031500000Z.dump');
  expect((await prod.list()).map((b) => b.name)).toEqual(['20260218T031500000Z.dump']);
});

test('a failing body commits nothing; a blob without metadata is listed with the reason', async () => {
  const store = createAzureBlobBackupStore({
    connectionString: azurite.connectionString,
    containerName: 'failing',
    blockSizeBytes: 1024,
  });
  let sent = 0;
  const body = new Readable({
    read() {
      if (sent++ < 5) this.push(Buffer.alloc(1024, 1));
      else this.destroy(new Error('pg_dump failed (1): connection lost'));
    },
  });
  await expect(
    store.upload('20260218T031500000Z.dump', body, () => meta(Buffer.alloc(0), 'x')),
  ).rejects.toThrow(/upload of 20260218T031500000Z\.dump failed .*connection lost/);
  expect(await store.list()).toEqual([]);

  await BlobServiceClient.fromConnectionString(azurite.connectionString)
    .getContainerClient('failing')
    .getBlockBlobClient('20260219T031500000Z.dump')
    .upload('PGDMP', 5);
  const [only] = await store.list();
  expect(only).toMatchObject({
    name: '20260219T031500000Z.dump',
    metadata: null,
    metadataProblem: 'no metadata',
  });
});

test('retention prunes old blobs', async () => {
  const store = createAzureBlobBackupStore({
    connectionString: azurite.connectionString,
    containerName: 'retention',
  });
  for (const at of ['2026-02-01T03:00:00.000Z', '2026-02-15T03:00:00.000Z', '2026-02-19T03:00:00.000Z']) {
    const b = Buffer.from(at);
    await store.upload(`${at.replace(/[-:.]/g, '')}.dump`, Readable.from([b]), () => meta(b, at));
  }
  expect(await pruneBackups(store, { keepDays: 7, now: new Date('2026-02-20T00:00:00Z') })).toEqual([
    '20260201T030000000Z.dump',
  ]);
  expect((await store.list()).length).toBe(2);
});

test('an empty container is an empty list; errors never carry the account key', async () => {
  const store = createAzureBlobBackupStore({
    connectionString: azurite.connectionString,
    containerName: 'never-created',
    createContainer: false,
  });
  expect(await store.list()).toEqual([]);
  const key = /AccountKey=([^;]+)/.exec(azurite.connectionString)![1]!;
  const wrongKey = azurite.connectionString.replace(key, Buffer.alloc(64, 9).toString('base64'));
  const wrong = createAzureBlobBackupStore({
    connectionString: wrongKey,
    containerName: 'backups',
    prefix: 'production',
  });
  const error = await wrong.list().then(
    () => null,
    (e: Error) => e,
  );
  expect(error?.message).toMatch(/Azure blob list failed \(devstoreaccount1\/backups\): .*403/);
  expect(error?.message).not.toContain(Buffer.alloc(64, 9).toString('base64'));
  expect(() =>
    createAzureBlobBackupStore({ connectionString: 'garbage;AccountKey=s3cr3t', containerName: 'b12' }),
  ).toThrow(/connection string is malformed$/);
  expect(() =>
    createAzureBlobBackupStore({ connectionString: azurite.connectionString, containerName: 'Bad_Name' }),
  ).toThrow(/container name "Bad_Name" is invalid/);
});
