/**
 * The git the deploy needs, through an injected runner (tests give a scratch repository; the CLI
 * runs `git` in the checkout). Fetch depth matters: a base commit must be in the clone.
 */
import { execFile } from 'node:child_process';

/** Runs `git <args>` and resolves with its stdout; rejects with git's stderr. */
export type GitRunner = (args: readonly string[]) => Promise<string>;

export function gitIn(cwd: string): GitRunner {
  return (args) =>
    new Promise((resolve, reject) => {
      execFile('git', [...args], { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`git ${args[0]}: ${(stderr || error.message).trim()}`));
        else resolve(stdout);
      });
    });
}

/** The full SHA of a commit-ish, or undefined when this clone does not have it. */
export async function resolveCommit(git: GitRunner, ref: string): Promise<string | undefined> {
  if (ref.startsWith('-')) return undefined; // never an option to git
  try {
    return (await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])).trim() || undefined;
  } catch {
    return undefined;
  }
}

export async function repositoryRoot(git: GitRunner): Promise<string> {
  return (await git(['rev-parse', '--show-toplevel'])).trim();
}

/**
 * Paths that differ between the two trees (not a merge-base diff: what is deployed is `base`'s
 * tree, what will be is `head`'s). Renames count as a deletion and an addition, so a file moved
 * out of a deployable's folder changes it too.
 */
export async function changedPaths(git: GitRunner, base: string, head: string): Promise<string[]> {
  const out = await git(['diff', '--name-only', '--no-renames', '-z', base, head, '--']);
  return out.split('\0').filter(Boolean).sort();
}

/** A file's text at a commit, or undefined when it does not exist there. */
export async function fileAt(git: GitRunner, sha: string, path: string): Promise<string | undefined> {
  try {
    return await git(['show', `${sha}:${path}`]);
  } catch {
    return undefined;
  }
}
