/**
 * `npm run build:actions`: bundles every custom action (actions/<name>/src/main.ts) with esbuild
 * into actions/<name>/dist/index.js, committed so the runner needs no npm install.
 *
 * One esbuild call with code splitting: the actions share one copy of the ops CLI and its
 * dependencies in actions/shared/dist/ instead of three. Every output file sits at
 * actions/<dir>/dist/<file>.js (three levels below the repository root), which the banner relies
 * on. ESM (the @actions packages are ESM-only), minified for size, no source maps; the output
 * depends only on the sources, so `--check` can compare it with what is committed.
 *
 *   tsx scripts/build-actions.ts           write actions/<name>/dist/, remove stale files
 *   tsx scripts/build-actions.ts --check   exit 1 when the committed dist differs
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const ACTIONS_DIR = 'actions';
/** Where the chunks shared by the actions go (next to the shared adapter sources). */
export const SHARED_DIST = join('shared', 'dist');

/**
 * Defines what CommonJS dependencies expect (`require`, `__dirname`, `__filename`) in an ESM
 * bundle, and the repository root relative to the bundle file (all outputs are three levels down).
 */
const BANNER = [
  "import { createRequire as __opsCreateRequire } from 'node:module';",
  "import { fileURLToPath as __opsFileURLToPath } from 'node:url';",
  'const require = __opsCreateRequire(import.meta.url);',
  'const __opsBundleFilename = __opsFileURLToPath(import.meta.url);',
  "const __opsBundleDirname = __opsFileURLToPath(new URL('.', import.meta.url));",
  "const __opsRepoRootUrl = new URL('../../../', import.meta.url);",
].join('\n');

/** The actions: folders of actions/ with an action.yml and a src/main.ts. */
export async function listActions(root = REPO_ROOT): Promise<string[]> {
  const entries = await readdir(join(root, ACTIONS_DIR), { withFileTypes: true });
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .filter(
      (name) =>
        existsSync(join(root, ACTIONS_DIR, name, 'action.yml')) &&
        existsSync(join(root, ACTIONS_DIR, name, 'src', 'main.ts')),
    )
    .sort();
}

/**
 * Our own modules find files next to them through `import.meta.url` (e.g. supabase/migrate.ts
 * finds the migrations). In a bundle that would be the bundle's URL, so each is rewritten to the
 * module's original location, relative to the repository root the bundle sits in.
 */
function sourceLocationPlugin(root: string): Plugin {
  return {
    name: 'source-location',
    setup(b) {
      b.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.split(sep).includes('node_modules')) return undefined;
        const text = await readFile(args.path, 'utf8');
        if (!text.includes('import.meta.url')) return { contents: text, loader: 'ts' };
        const fromRoot = relative(root, args.path).split(sep).join('/');
        const url = `new URL(${JSON.stringify(fromRoot)}, __opsRepoRootUrl).href`;
        return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

export function buildOptions(root: string, actions: readonly string[]): BuildOptions {
  return {
    absWorkingDir: root,
    entryPoints: Object.fromEntries(
      actions.map((name) => [join(name, 'dist', 'index'), join(ACTIONS_DIR, name, 'src', 'main.ts')]),
    ),
    outdir: join(root, ACTIONS_DIR),
    chunkNames: join(SHARED_DIST, '[name]-[hash]'),
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    // Runners use node24; this machine and the tests use Node 20.
    target: 'node20',
    minify: true,
    keepNames: true,
    legalComments: 'none',
    sourcemap: false,
    charset: 'utf8',
    banner: { js: BANNER },
    define: { __dirname: '__opsBundleDirname', __filename: '__opsBundleFilename' },
    // Optional native add-ons, loaded in try/catch by pg and ssh2, which fall back to plain JS;
    // esbuild, which cannot be bundled: the deploy plan loads it, when it runs, from the
    // checkout's node_modules (ops/deploy/plan-bundles.ts); and PostgreSQL's parser, whose
    // Emscripten loader reads libpg-query.wasm from next to its own file: the migration guard
    // imports it on first use (ops/deploy/migration-guard.ts), from node_modules too. Only the
    // deploy loads either, and it runs after `npm ci` anyway (the supabase CLI lives there);
    // actions/ops-deploy checks that they are there before it starts.
    external: ['pg-native', 'cpu-features', '*.node', 'esbuild', '@libpg-query/parser'],
    plugins: [sourceLocationPlugin(root)],
    logLevel: 'silent',
    write: false,
    metafile: false,
  };
}

export interface BuiltActions {
  /** Output files by path relative to actions/, e.g. `ops-cadence/dist/index.js`. */
  files: Map<string, Uint8Array>;
  ms: number;
}

/** Bundles in memory; nothing is written. */
export async function bundleActions(root = REPO_ROOT): Promise<BuiltActions> {
  const started = Date.now();
  const actions = await listActions(root);
  if (actions.length === 0) throw new Error(`no actions found under ${join(root, ACTIONS_DIR)}`);
  const result = await build(buildOptions(root, actions));
  const files = new Map<string, Uint8Array>();
  for (const file of result.outputFiles ?? []) {
    files.set(relative(join(root, ACTIONS_DIR), file.path).split(sep).join('/'), file.contents);
  }
  return { files, ms: Date.now() - started };
}

/** Files under actions/<dir>/dist/ that are committed (or written) now, relative to actions/. */
export async function existingDistFiles(root = REPO_ROOT): Promise<string[]> {
  const found: string[] = [];
  const entries = await readdir(join(root, ACTIONS_DIR), { withFileTypes: true });
  for (const dir of entries.filter((e) => e.isDirectory())) {
    const dist = join(root, ACTIONS_DIR, dir.name, 'dist');
    if (!existsSync(dist)) continue;
    for (const file of await readdir(dist, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      found.push(relative(join(root, ACTIONS_DIR), join(file.parentPath, file.name)).split(sep).join('/'));
    }
  }
  return found.sort();
}

/** What differs between a fresh bundle and the dist on disk: changed, missing and extra files. */
export async function compareDist(
  built: BuiltActions,
  root = REPO_ROOT,
): Promise<{ changed: string[]; missing: string[]; extra: string[] }> {
  const onDisk = new Set(await existingDistFiles(root));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const [path, contents] of built.files) {
    if (!onDisk.has(path)) {
      missing.push(path);
      continue;
    }
    const current = await readFile(join(root, ACTIONS_DIR, path));
    if (!current.equals(Buffer.from(contents))) changed.push(path);
  }
  const extra = [...onDisk].filter((path) => !built.files.has(path));
  return { changed: changed.sort(), missing: missing.sort(), extra: extra.sort() };
}

export async function writeDist(built: BuiltActions, root = REPO_ROOT): Promise<void> {
  const { extra } = await compareDist(built, root);
  for (const path of extra) await rm(join(root, ACTIONS_DIR, path));
  for (const [path, contents] of built.files) {
    const target = join(root, ACTIONS_DIR, path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, contents);
  }
}

async function main(argv: string[]): Promise<number> {
  const built = await bundleActions();
  const bytes = [...built.files.values()].reduce((n, f) => n + f.byteLength, 0);
  if (argv.includes('--check')) {
    const diff = await compareDist(built);
    const stale = [...diff.changed, ...diff.missing, ...diff.extra];
    if (stale.length > 0) {
      process.stderr.write(`dist is stale: run npm run build:actions (${stale.join(', ')})\n`);
      return 1;
    }
    process.stdout.write(`actions dist is current (${built.files.size} files, ${bytes} bytes)\n`);
    return 0;
  }
  await writeDist(built);
  process.stdout.write(
    `bundled ${built.files.size} files (${(bytes / 1e6).toFixed(1)} MB) in ${built.ms} ms:\n` +
      [...built.files.keys()].map((f) => `  actions/${f}\n`).join(''),
  );
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      process.stderr.write(`build-actions: ${error.message}\n`);
      process.exit(1);
    },
  );
}
