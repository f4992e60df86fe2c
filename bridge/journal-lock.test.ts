import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/support/bridge-harness.js';
import { JournalLockedError, LOCK_FILE, lockJournal } from './journal-lock.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function newDir(): string {
  const d = tempDir('journal-lock');
  dirs.push(d);
  return d;
}

const lockFile = (dir: string): string => path.join(dir, LOCK_FILE);
const holder = (dir: string): string => fs.readFileSync(lockFile(dir), 'utf8');

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  if (!child.pid) throw new Error('could not start a child process');
  return child.pid;
}

describe('journal lock', () => {
  it('writes this process id, and release() removes it (twice is harmless)', () => {
    const dir = newDir();
    const lock = lockJournal(dir);
    expect(holder(dir)).toBe(String(process.pid));
    lock.release();
    expect(fs.existsSync(lockFile(dir))).toBe(false);
    lock.release();
    lockJournal(dir).release(); // free again
  });

  it('refuses a journal that another live process holds, and leaves its lock alone', () => {
    const dir = newDir();
    fs.writeFileSync(lockFile(dir), String(process.ppid));
    expect(() => lockJournal(dir)).toThrow(JournalLockedError);
    expect(() => lockJournal(dir)).toThrow(`in use by process ${process.ppid}`);
    expect(holder(dir)).toBe(String(process.ppid));
  });

  it('refuses a second lock in the same process', () => {
    const dir = newDir();
    const lock = lockJournal(dir);
    expect(() => lockJournal(dir)).toThrow(/already open in this process/);
    lock.release();
  });

  it.each([
    ['a process that is gone (a crash, SIGKILL)', () => String(deadPid())],
    ['an empty file', () => ''],
    ['garbage', () => 'not a pid\n'],
  ])('takes over a lock left by %s', (_what, content) => {
    const dir = newDir();
    fs.writeFileSync(lockFile(dir), content());
    const lock = lockJournal(dir);
    expect(holder(dir)).toBe(String(process.pid));
    lock.release();
    expect(fs.existsSync(lockFile(dir))).toBe(false);
  });

  it('release() keeps a lock that no longer names this process', () => {
    const dir = newDir();
    const lock = lockJournal(dir);
    fs.writeFileSync(lockFile(dir), String(process.ppid)); // taken over meanwhile
    lock.release();
    expect(holder(dir)).toBe(String(process.ppid));
  });

  it('passes on other errors (no directory)', () => {
    const missing = path.join(newDir(), 'missing');
    expect(() => lockJournal(missing)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
  });
});
