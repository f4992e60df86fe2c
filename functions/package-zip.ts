/**
 * The functions package the deploy ships: one zip, self-contained, deterministic.
 *
 *   host.json         as in functions/
 *   package.json      type module, main, engines; no dependencies: everything is bundled, except
 *                     @azure/functions-core, which the Functions worker provides at run time
 *   dist/index.js     the esbuild bundle of src/index.ts (bundle.ts), the commit SHA compiled in
 *                     (src/build-info.ts), so /health reports `version: <sha>`
 *   build-info.json   { commit }: which commit a stored zip is, without running it
 *
 * Same sources and SHA, same bytes: entries sorted, fixed timestamps and modes, one compression
 * level, so a redeploy of an unchanged app can be skipped by comparing hashes. Before returning,
 * the zip is extracted to a temporary folder outside any node_modules and loaded the way the
 * worker loads it (src/package-host.ts): every adapter of src/functions/ must register, since the
 * app registers nothing, silently, when the worker's module is missing.
 */
import { build, type Metafile } from 'esbuild';
import { zipSync, type Zippable } from 'fflate';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FUNCTIONS_DIR, functionsBuildOptions, functionsManifest } from './bundle.js';
import {
  extractFunctionsPackage,
  listPackageFunctions,
  reachableNodeModules,
  type RegisteredFunction,
} from './src/package-host.js';

const ROOT = join(FUNCTIONS_DIR, '..');

/**
 * What the bundle may still import at run time: Node's built-ins, the worker's module, and the
 * optional native add-ons its dependencies probe for inside try/catch (pg's pg-native, ws's
 * bufferutil and utf-8-validate) and do without.
 */
export const RUNTIME_PROVIDED = ['@azure/functions-core'];
export const OPTIONAL_NATIVE = ['bufferutil', 'pg-native', 'utf-8-validate'];

/** A git commit: 7 to 40 lowercase hex digits. */
export const COMMIT_SHA = /^[0-9a-f]{7,40}$/;

/** DOS time has no zone; fflate writes local time, so a local date is the same fields everywhere. */
const FIXED_MTIME = new Date(1980, 0, 1, 12, 0, 0);

export interface FunctionsPackageOptions {
  /** Where the zip goes (created): `<outDir>/functions-<commitSha>.zip`. */
  outDir: string;
  commitSha: string;
  /** Where the package is extracted to be checked; default the system's temporary folder. */
  checkDir?: string;
}

export interface FunctionsPackage {
  path: string;
  /** Hex sha256 of the zip: equal for the same sources and SHA. */
  sha256: string;
  bytes: number;
  commitSha: string;
  /** The function names the package registers, sorted. */
  functions: string[];
  /** Each function as registered (trigger, methods, auth level, schedule). */
  registrations: RegisteredFunction[];
  /** The zip's entries and their uncompressed sizes. */
  entries: { name: string; bytes: number }[];
}

/** The deployed manifest: the source manifest without dependencies (they are in the bundle). */
export function packageManifest(): Record<string, unknown> {
  const { dependencies: _bundled, ...manifest } = functionsManifest() as unknown as Record<string, unknown>;
  return { ...manifest, description: 'The Azure Functions app (bundled; see build-info.json).' };
}

/** The functions the package must register: one per adapter in src/functions/, named as its file. */
export async function expectedFunctions(): Promise<string[]> {
  return (await readdir(join(FUNCTIONS_DIR, 'src/functions')))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -'.ts'.length))
    .sort();
}

/** The bare imports left in the bundle that neither Node nor the worker provides. */
export function unprovidedImports(metafile: Metafile): string[] {
  const left = new Set<string>();
  for (const output of Object.values(metafile.outputs))
    for (const i of output.imports)
      if (i.external && !isBuiltin(i.path) && ![...RUNTIME_PROVIDED, ...OPTIONAL_NATIVE].includes(i.path))
        left.add(i.path);
  return [...left].sort();
}

export async function buildFunctionsPackage(options: FunctionsPackageOptions): Promise<FunctionsPackage> {
  const { commitSha } = options;
  if (!COMMIT_SHA.test(commitSha))
    throw new Error(`commit SHA ${JSON.stringify(commitSha)} is not 7-40 lowercase hex digits`);
  const manifest = functionsManifest();
  const bundle = await build({
    ...functionsBuildOptions({ commitSha }),
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
  });
  const unprovided = unprovidedImports(bundle.metafile);
  if (unprovided.length)
    throw new Error(
      `the bundle imports ${unprovided.join(', ')} at run time, which the package does not carry`,
    );
  if (bundle.outputFiles.length !== 1)
    throw new Error(`esbuild wrote ${bundle.outputFiles.length} files, expected 1`);

  const text = (value: unknown) => new TextEncoder().encode(`${JSON.stringify(value, null, 2)}\n`);
  const files: Record<string, Uint8Array> = {
    'build-info.json': text({ commit: commitSha }),
    [manifest.main]: bundle.outputFiles[0]!.contents,
    'host.json': await readFile(join(FUNCTIONS_DIR, 'host.json')),
    'package.json': text(packageManifest()),
  };
  const zippable: Zippable = {};
  for (const name of Object.keys(files).sort())
    zippable[name] = [files[name]!, { level: 9, mtime: FIXED_MTIME, os: 3, attrs: 0o100644 * 0x10000 }];
  const zip = zipSync(zippable);

  await mkdir(options.outDir, { recursive: true });
  const path = join(options.outDir, `functions-${commitSha}.zip`);
  const partial = `${path}.${process.pid}.tmp`;
  await writeFile(partial, zip);
  await rename(partial, path);

  const registrations = await checkPackage(zip, options.checkDir ?? tmpdir());
  return {
    path,
    sha256: createHash('sha256').update(zip).digest('hex'),
    bytes: zip.byteLength,
    commitSha,
    functions: registrations.map((r) => r.name).sort(),
    registrations,
    entries: Object.keys(files)
      .sort()
      .map((name) => ({ name, bytes: files[name]!.byteLength })),
  };
}

/** Extracts the zip where no node_modules is reachable, loads it as the worker would, compares. */
async function checkPackage(zip: Uint8Array, under: string): Promise<RegisteredFunction[]> {
  const dir = await mkdtemp(join(under, 'functions-package-'));
  try {
    const reachable = reachableNodeModules(dir);
    if (reachable.length)
      throw new Error(`${dir} reaches ${reachable.join(', ')}: check the package outside any node_modules`);
    await extractFunctionsPackage(zip, dir);
    let output = '';
    const { functions } = await listPackageFunctions(dir, { log: (line) => (output += `${line}\n`) });
    const registered = functions.map((f) => f.name).sort();
    const expected = await expectedFunctions();
    if (registered.join() !== expected.join())
      throw new Error(
        `the package registers [${registered.join(', ')}], the sources have [${expected.join(', ')}]${output ? `\n${output}` : ''}`,
      );
    return functions;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
