import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createLocalDirBackupStore } from './local-dir-store.js';
import { BACKUP_FORMAT } from './metadata.js';
import { pruneBackups } from './retention.js';
import { backupName, type BackupStore } from './store.js';

let dir: string;
let store: BackupStore;
const NOW = new Date('2026-02-20T04:00:00Z');

async function put(createdAt: string) {
  const body = Buffer.from(`PGDMP ${createdAt}`);
  await store.upload(backupName(new Date(createdAt)), Readable.from([body]), () => ({
    format: BACKUP_FORMAT,
    createdAt,
    sizeBytes: body.length,
    sha256: createHash('sha256').update(body).digest('hex'),
    schemaVersion: '1',
    rowCounts: {},
    pgDumpVersion: '15.20',
    serverVersion: '15.20',
    database: 'postgres',
  }));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'retention-'));
  store = createLocalDirBackupStore({ dir });
});
afterEach(() => rm(dir, { recursive: true, force: true }));

test('deletes backups older than keepDays, keeps the rest', async () => {
  for (const at of [
    '2026-02-10T03:00:00Z',
    '2026-02-12T03:00:00Z',
    '2026-02-13T05:00:00Z',
    '2026-02-19T03:00:00Z',
  ])
    await put(at);
  const deleted = await pruneBackups(store, { keepDays: 7, now: NOW });
  expect(deleted).toEqual(['20260210T030000000Z.dump', '20260212T030000000Z.dump']);
  expect((await store.list()).map((b) => b.name)).toEqual([
    '20260213T050000000Z.dump',
    '20260219T030000000Z.dump',
  ]);
});

test('never deletes the newest minKeep, however old', async () => {
  for (const at of ['2026-01-01T03:00:00Z', '2026-01-02T03:00:00Z', '2026-01-03T03:00:00Z']) await put(at);
  expect(await pruneBackups(store, { keepDays: 7, now: NOW, minKeep: 2 })).toEqual([
    '20260101T030000000Z.dump',
  ]);
  expect(await pruneBackups(store, { keepDays: 7, now: NOW })).toEqual(['20260102T030000000Z.dump']);
  expect((await store.list()).map((b) => b.name)).toEqual(['20260103T030000000Z.dump']);
});

test('validates its options', async () => {
  await expect(pruneBackups(store, { keepDays: 0, now: NOW })).rejects.toThrow(/keepDays must be positive/);
  await expect(pruneBackups(store, { keepDays: 1, minKeep: 0, now: NOW })).rejects.toThrow(/minKeep/);
});
