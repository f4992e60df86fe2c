/** Retention: delete backups older than `keepDays`, never the newest `minKeep` (default 1). */
import type { BackupStore } from './store.js';

const DAY_MS = 86_400_000;

export async function pruneBackups(
  store: Pick<BackupStore, 'list' | 'delete'>,
  options: { keepDays: number; minKeep?: number; now: Date },
): Promise<string[]> {
  const minKeep = options.minKeep ?? 1;
  if (!(options.keepDays > 0)) throw new Error('retention: keepDays must be positive');
  if (!(Number.isInteger(minKeep) && minKeep >= 1)) throw new Error('retention: minKeep must be at least 1');
  const cutoff = options.now.getTime() - options.keepDays * DAY_MS;
  const backups = await store.list();
  const candidates = backups.slice(0, Math.max(0, backups.length - minKeep));
  const deleted: string[] = [];
  for (const b of candidates) {
    const created = b.metadata ? Date.parse(b.metadata.createdAt) : b.lastModified.getTime();
    if (created < cutoff) {
      await store.delete(b.name);
      deleted.push(b.name);
    }
  }
  return deleted;
}
