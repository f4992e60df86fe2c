/**
 * The tenant dashboard's build (npm run build:dashboard): a static SPA in dashboard/dist for
 * Cloudflare Pages. Configuration at build time only: VITE_SUPABASE_URL and VITE_SUPABASE_ANON_KEY
 * (only VITE_* variables reach the bundle; the build refuses a key that is not the anon key). Built
 * without them, the app reads config.json next to index.html at start (the local sandbox writes it).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin, type UserConfig } from 'vite';
import { configProblem } from './src/lib/anon-key.js';
import { renderHeaders } from './src/lib/pages-headers.js';

const root = dirname(fileURLToPath(import.meta.url));

/** Rewrites the _headers Vite copied from public/ into the output directory, after the build. */
function pagesHeaders(supabaseUrl: string | undefined): Plugin {
  let outDir = '';
  return {
    name: 'pages-headers',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    async closeBundle() {
      const file = join(outDir, '_headers');
      await writeFile(file, renderHeaders(await readFile(file, 'utf8'), supabaseUrl));
    },
  };
}

export default defineConfig((): UserConfig => {
  const supabaseUrl = process.env.VITE_SUPABASE_URL;
  const supabaseAnonKey = process.env.VITE_SUPABASE_ANON_KEY;
  if (supabaseUrl || supabaseAnonKey) {
    const problem = configProblem({ supabaseUrl, supabaseAnonKey });
    if (problem) {
      throw new Error(`dashboard build: VITE_SUPABASE_URL / VITE_SUPABASE_ANON_KEY: ${problem}`);
    }
  }
  return {
    root,
    base: './',
    envPrefix: 'VITE_SUPABASE_',
    plugins: [pagesHeaders(supabaseUrl)],
    oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
    build: {
      outDir: 'dist',
      emptyOutDir: true,
      target: 'es2022',
      // dist/.vite/manifest.json: the bundle-budget test follows the entry's static imports in it.
      manifest: true,
      sourcemap: false,
    },
  };
});
