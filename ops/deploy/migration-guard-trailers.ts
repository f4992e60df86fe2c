/**
 * The allowance for a destructive migration, as a merge carries it: a line
 * `Allow-destructive-migration: <file>` in a commit message of the commits being deployed. Read
 * from any paragraph, not only git's trailer block, because a squash merge concatenates the
 * pull request's commit messages and the line would otherwise be lost in the middle.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ALLOW_TRAILER } from './migration-guard.js';

const run = promisify(execFile);

const LINE = new RegExp(`^\\s*${ALLOW_TRAILER}\\s*:\\s*(.+?)\\s*$`, 'gim');

/** The files the messages allow (several per line allowed, separated by commas or spaces). */
export function allowancesFromMessages(messages: string[]): string[] {
  const files = new Set<string>();
  for (const message of messages) {
    for (const m of message.matchAll(LINE)) {
      for (const f of m[1]!.split(/[\s,]+/)) if (f) files.add(f.split('/').at(-1)!);
    }
  }
  return [...files].sort();
}

/**
 * The allowances in the commits `from..to` (what this deploy brings since the last successful
 * one); without `from` (a first deploy), in `to` itself only, so an old commit's allowance cannot
 * reach a migration written since.
 */
export async function allowancesFromCommits(options: {
  cwd: string;
  from?: string;
  to: string;
}): Promise<string[]> {
  const range = options.from ? [`${options.from}..${options.to}`] : ['-1', options.to];
  const { stdout } = await run('git', ['log', '--format=%B%x00', ...range, '--'], {
    cwd: options.cwd,
    maxBuffer: 64 * 1024 * 1024,
  });
  return allowancesFromMessages(stdout.split('\0'));
}
