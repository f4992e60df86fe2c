/**
 * Builds the dashboard the way `npm run build:dashboard` does (the vite CLI with
 * dashboard/vite.config.ts) into a directory of the caller's, with the environment it is given:
 * `npm run dev` builds its own copy, and tests build theirs so they never race each other or a
 * developer's dashboard/dist. Also what a first visit loads (the bundle budget).
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DASHBOARD = join(ROOT, 'dashboard');
const VITE = join(ROOT, 'node_modules/vite/bin/vite.js');

/** Variables a developer's shell may hold that must not decide a test build. */
const CLEARED = ['VITE_SUPABASE_URL', 'VITE_SUPABASE_ANON_KEY'];

export async function buildDashboard(outDir: string, env: Record<string, string> = {}): Promise<string> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !CLEARED.includes(k)));
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    [
      VITE,
      'build',
      '--config',
      join(DASHBOARD, 'vite.config.ts'),
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ],
    { cwd: ROOT, env: { ...base, ...env }, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout + stderr;
}

interface ManifestChunk {
  file: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
}

/** The JavaScript a first visit loads: the entry chunk and, transitively, its static imports. */
export async function initialJs(
  distDir: string,
): Promise<{ files: string[]; gzipBytes: number; rawBytes: number }> {
  const manifest = JSON.parse(await readFile(join(distDir, '.vite/manifest.json'), 'utf8')) as Record<
    string,
    ManifestChunk
  >;
  const entries = Object.keys(manifest).filter((k) => manifest[k]!.isEntry);
  if (entries.length !== 1) throw new Error(`expected one entry in the manifest, found ${entries.length}`);
  const seen = new Set<string>();
  const visit = (key: string) => {
    if (seen.has(key)) return;
    seen.add(key);
    for (const imported of manifest[key]?.imports ?? []) visit(imported);
  };
  visit(entries[0]!);
  const files = [...seen].map((k) => manifest[k]!.file).filter((f) => f.endsWith('.js'));
  let gzipBytes = 0;
  let rawBytes = 0;
  for (const file of files) {
    const content = await readFile(join(distDir, file));
    rawBytes += content.length;
    gzipBytes += gzipSync(content, { level: 9 }).length;
  }
  return { files, gzipBytes, rawBytes };
}
