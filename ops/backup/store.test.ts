import { assertBackupName, backupName, isBackupName, latestBackup } from './store.js';

test('backup names sort by time, to the millisecond', () => {
  const a = backupName(new Date('2026-02-18T03:15:00.123Z'));
  const b = backupName(new Date('2026-02-18T03:15:00.124Z'));
  const c = backupName(new Date('2026-12-01T00:00:00.000Z'));
  expect(a).toBe('20260218T031500123Z.dump');
  expect([c, b, a].sort()).toEqual([a, b, c]);
  expect(isBackupName(a)).toBe(true);
});

test('rejects names that are not backups (and paths)', () => {
  expect(isBackupName('../etc/passwd')).toBe(false);
  expect(() => assertBackupName('x/20260218T031500123Z.dump')).toThrow(/is not a backup name/);
});

test('latest is the last listed', async () => {
  const list = async () =>
    ['20260101T000000000Z.dump', '20260102T000000000Z.dump'].map((name) => ({
      name,
      storedBytes: 1,
      lastModified: new Date(),
      metadata: null,
    }));
  expect((await latestBackup({ list }))?.name).toBe('20260102T000000000Z.dump');
  expect(await latestBackup({ list: async () => [] })).toBeNull();
});
