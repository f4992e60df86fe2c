import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createLocalDirBackupStore } from './local-dir-store.js';
import { BACKUP_FORMAT, type BackupMetadata } from './metadata.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'local-store-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const meta = (body: Buffer, createdAt: string): BackupMetadata => ({
  format: BACKUP_FORMAT,
  createdAt,
  sizeBytes: body.length,
  sha256: createHash('sha256').update(body).digest('hex'),
  schemaVersion: '20261126000004',
  rowCounts: { 'public.devices': 3 },
  pgDumpVersion: '15.20',
  serverVersion: '15.20',
  database: 'postgres',
});

test('uploads a stream, lists oldest first with metadata, downloads and deletes', async () => {
  const store = createLocalDirBackupStore({ dir: join(dir, 'production') });
  expect(await store.list()).toEqual([]);
  const b1 = Buffer.from('PGDMP first');
  const b2 = Buffer.alloc(300_000, 7);
  await store.upload('20260218T031500000Z.dump', Readable.from([b2]), () =>
    meta(b2, '2026-02-18T03:15:00.000Z'),
  );
  await store.upload('20260217T031500000Z.dump', Readable.from([b1]), () =>
    meta(b1, '2026-02-17T03:15:00.000Z'),
  );
  const list = await store.list();
  expect(list.map((b) => [b.name, b.storedBytes, b.metadata?.sizeBytes])).toEqual([
    ['20260217T031500000Z.dump', b1.length, b1.length],
    ['20260218T031500000Z.dump', b2.length, b2.length],
  ]);
  expect(store.description).toContain(join(dir, 'production'));
  const out = join(dir, 'out.dump');
  await store.download('20260218T031500000Z.dump', out);
  expect((await readFile(out)).equals(b2)).toBe(true);
  await store.delete('20260217T031500000Z.dump');
  expect((await store.list()).map((b) => b.name)).toEqual(['20260218T031500000Z.dump']);
  expect(await readdir(join(dir, 'production'))).toEqual([
    '20260218T031500000Z.dump',
    '20260218T031500000Z.dump.json',
  ]);
});

test('a body that fails leaves nothing behind, and metadata is never asked for', async () => {
  const store = createLocalDirBackupStore({ dir });
  const body = new Readable({
    read() {
      this.push(Buffer.from('PGDMP partial'));
      this.destroy(new Error('pg_dump failed (1): disk full'));
    },
  });
  let asked = false;
  await expect(
    store.upload('20260218T031500000Z.dump', body, () => {
      asked = true;
      return meta(Buffer.alloc(0), '2026-02-18T03:15:00.000Z');
    }),
  ).rejects.toThrow(/disk full/);
  expect(asked).toBe(false);
  expect(await readdir(dir)).toEqual([]);
  expect(await store.list()).toEqual([]);
});

test('a dump without readable metadata is listed with the reason', async () => {
  const store = createLocalDirBackupStore({ dir });
  await writeFile(join(dir, '20260218T031500000Z.dump'), 'PGDMP');
  await writeFile(join(dir, '20260219T031500000Z.dump'), 'PGDMP');
  await writeFile(join(dir, '20260219T031500000Z.dump.json'), '{"backup_format":"pg_dump-custom-v1"}');
  await writeFile(join(dir, 'notes.txt'), 'ignored');
  const list = await store.list();
  expect(list.map((b) => [b.name, b.metadata, b.metadataProblem])).toEqual([
    ['20260218T031500000Z.dump', null, 'no metadata'],
    ['20260219T031500000Z.dump', null, expect.stringMatching(/lacks created_at, size_bytes, sha256/)],
  ]);
});

test('refuses names that would escape the directory', async () => {
  const store = createLocalDirBackupStore({ dir });
  await expect(store.download('../../etc/passwd', join(dir, 'x'))).rejects.toThrow(/not a backup name/);
});
