/**
 * One sandbox at a time per state directory (`.ops/local/dev`, `.ops/local/start`): a start wipes
 * its run/ directory and rewrites env.json, which would pull the ground from under a running one.
 * The lock file holds the owner record; a lock whose owner is gone (crash, SIGKILL) is taken over.
 * (Two starts taking over the same stale lock in the same instant could both get it: not guarded.)
 */
import { link, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerAlive, type SandboxOwner } from '../../common/local-env.js';

export interface StateLock {
  path: string;
  release(): Promise<void>;
}

export class SandboxRunningError extends Error {}

export async function lockStateDir(dir: string, owner: SandboxOwner): Promise<StateLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'sandbox.lock');
  // Written aside and linked into place: a reader never sees a half-written lock.
  const tmp = `${path}.${owner.runId}`;
  await writeFile(tmp, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw error;
      }
      let holder: SandboxOwner | undefined;
      try {
        holder = JSON.parse(await readFile(path, 'utf8')) as SandboxOwner;
      } catch {
        // Unreadable or gone again: treat as stale, the retry decides.
      }
      const live = holder ? ownerAlive(holder) : { alive: false as const };
      if (holder && live.alive) {
        throw new SandboxRunningError(
          `a sandbox already runs from ${dir} (${holder.mode}, pid ${holder.pid}, since ${holder.startedAt}): stop it first`,
        );
      }
      await rm(path, { force: true });
    }
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
  return {
    path,
    async release() {
      // Only our own lock: never one a later run took over.
      try {
        const holder = JSON.parse(await readFile(path, 'utf8')) as SandboxOwner;
        if (holder.runId === owner.runId) await rm(path, { force: true });
      } catch {
        // already gone
      }
    },
  };
}
