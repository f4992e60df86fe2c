/**
 * A throwaway checkout of this repository for tests that deploy from a checkout and then commit
 * "the next merge" to it: a local clone of HEAD, with the work tree's uncommitted changes laid over
 * it and committed (so a developer's run deploys what they are testing; in CI the tree is clean),
 * and node_modules linked from this repository (the builds need esbuild, the supabase CLI).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export interface ScratchCheckout {
  dir: string;
  head(): string;
  /** Writes (or with null deletes) files, commits them; returns the new HEAD. */
  commit(files: Record<string, string | null>, message: string): string;
  git(args: string[]): string;
  remove(): void;
}

const IDENTITY = [
  '-c',
  'user.name=deploy test',
  '-c',
  'user.email=deploy-test@example.invalid',
  '-c',
  'commit.gpgsign=false',
];

export function createScratchCheckout(label: string): ScratchCheckout {
  const parent = mkdtempSync(join(tmpdir(), `${label}-`));
  const dir = join(parent, 'checkout');
  const git = (args: string[], cwd = dir) =>
    execFileSync('git', [...IDENTITY, ...args], {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim();
  git(['clone', '--quiet', '--no-hardlinks', REPOSITORY_ROOT, dir], parent);
  // The work tree's state: changed and new files copied, deleted ones removed.
  const list = (args: string[]) =>
    git(['ls-files', '-z', ...args], REPOSITORY_ROOT)
      .split('\0')
      .filter(Boolean);
  const deleted = new Set(list(['--deleted']));
  for (const path of list(['--modified', '--others', '--exclude-standard'])) {
    if (deleted.has(path)) continue;
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    cpSync(join(REPOSITORY_ROOT, path), join(dir, path));
  }
  for (const path of deleted) rmSync(join(dir, path), { force: true });
  symlinkSync(join(REPOSITORY_ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  // .gitignore's `node_modules/` matches directories only, not this link.
  writeFileSync(join(dir, '.git', 'info', 'exclude'), '/node_modules\n');
  git(['add', '-A']);
  if (git(['status', '--porcelain']).length)
    git(['commit', '--quiet', '--no-verify', '-m', 'the work tree under test']);
  return {
    dir,
    head: () => git(['rev-parse', 'HEAD']),
    commit(files, message) {
      for (const [path, text] of Object.entries(files)) {
        const target = join(dir, path);
        if (text === null) rmSync(target, { force: true });
        else {
          mkdirSync(dirname(target), { recursive: true });
          writeFileSync(target, text);
        }
      }
      git(['add', '-A']);
      git(['commit', '--quiet', '--no-verify', '-m', message]);
      return git(['rev-parse', 'HEAD']);
    },
    git: (args) => git(args),
    remove: () => rmSync(parent, { recursive: true, force: true }),
  };
}
