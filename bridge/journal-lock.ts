/**
 * Single-process ownership of a journal directory: `journal.lock` holds the pid of the process that
 * has the journal open, so a second bridge on the same directory refuses to start instead of
 * interleaving its records with the first one's. A lock left behind by a process that is gone (a
 * crash, SIGKILL) is taken over.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pidExists } from '../common/process-alive.js';

export const LOCK_FILE = 'journal.lock';

export class JournalLockedError extends Error {}

export interface JournalLock {
  /** Removes the lock file if it still names this process. Safe to call twice. */
  release(): void;
}

/** Takes `<dir>/journal.lock` for this process; throws JournalLockedError if a live process has it. */
export function lockJournal(dir: string): JournalLock {
  const file = path.join(dir, LOCK_FILE);
  take(dir, file);
  return { release: () => release(file) };
}

function take(dir: string, file: string): void {
  try {
    fs.writeFileSync(file, String(process.pid), { flag: 'wx' });
    return;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const pid = Number(fs.readFileSync(file, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && pidExists(pid)) {
    throw new JournalLockedError(`journal ${dir} is in use by process ${pid} (${file})`);
  }
  if (pid === process.pid) {
    throw new JournalLockedError(`journal ${dir} is already open in this process`);
  }
  fs.writeFileSync(file, String(process.pid));
}

function release(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
  } catch {
    // already gone
  }
}
