/**
 * What a pull request's dashboard build may put on a preview. The build ran the pull request's
 * code without secrets; what it produced is uploaded with the preview's Cloudflare token, so it is
 * checked as untrusted: static files only. A `_worker.js` (file or folder) or `_routes.json`
 * would make Pages run code of the pull request's on Cloudflare (Pages Functions' advanced mode),
 * and a symlink could make wrangler upload a file of the deploying runner's (its environment, its
 * token). Cloudflare's limits (20,000 files, 25 MiB each) are checked before anything is sent.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** Cloudflare Pages' limits (developers.cloudflare.com/pages/platform/limits/). */
export const PAGES_MAX_FILES = 20_000;
export const PAGES_MAX_FILE_BYTES = 25 * 1024 * 1024;

/** Files that make Pages run code rather than serve files. */
const CODE_FILES = new Set(['_worker.js', '_routes.json']);

export class PreviewFilesError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `the preview build cannot be deployed: ${problems.slice(0, 10).join('; ')}` +
        (problems.length > 10 ? ` (and ${problems.length - 10} more)` : ''),
    );
  }
}

export interface PreviewFiles {
  /** Relative paths, sorted. */
  files: string[];
  bytes: number;
}

/** The build's files, or PreviewFilesError listing every reason it may not be deployed. */
export async function checkPreviewFiles(dir: string): Promise<PreviewFiles> {
  const problems: string[] = [];
  const files: string[] = [];
  let bytes = 0;
  const top = await lstat(dir).catch(() => null);
  if (!top?.isDirectory()) throw new PreviewFilesError([`${dir} is not a directory`]);
  const walk = async (folder: string): Promise<void> => {
    for (const name of (await readdir(folder)).sort()) {
      const path = join(folder, name);
      const rel = relative(dir, path);
      const info = await lstat(path);
      if (folder === dir && CODE_FILES.has(name)) {
        problems.push(`${rel}: Pages would run it as code (previews serve static files only)`);
        continue;
      }
      if (info.isSymbolicLink()) problems.push(`${rel}: a symbolic link`);
      else if (info.isDirectory()) await walk(path);
      else if (!info.isFile()) problems.push(`${rel}: not a regular file`);
      else {
        files.push(rel);
        bytes += info.size;
        if (info.size > PAGES_MAX_FILE_BYTES)
          problems.push(`${rel}: ${info.size} bytes, over Pages' ${PAGES_MAX_FILE_BYTES} per file`);
      }
    }
  };
  await walk(dir);
  if (files.length > PAGES_MAX_FILES)
    problems.push(`${files.length} files, over Pages' ${PAGES_MAX_FILES} per deployment`);
  if (!files.includes('index.html')) problems.push('no index.html: not a dashboard build');
  if (problems.length) throw new PreviewFilesError(problems);
  return { files, bytes };
}
