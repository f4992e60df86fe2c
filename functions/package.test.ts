/**
 * functions/package.json is the deployed app's manifest: its dependencies are exactly the bare
 * packages the app's import graph reaches from src/index.ts (esbuild's metafile, type-only imports
 * dropped as in the bundle), at the root lockfile's versions. The bundle holds only the ops modules
 * the probe shares and none of the ops engine's heavy clients; the one Azure SDK in it is Blob
 * storage's, for the telemetry archive's objects (data, not Azure's management APIs).
 */
import { build, stop, type Metafile } from 'esbuild';
import { readFileSync, readdirSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { join, relative } from 'node:path';
import { FUNCTIONS_DIR, functionsBuildOptions, functionsManifest } from './bundle.js';

const ROOT = join(FUNCTIONS_DIR, '..');
const manifest = functionsManifest();
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

let inputs: Metafile['inputs'];
beforeAll(async () => {
  const result = await build({
    ...functionsBuildOptions(),
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
  });
  inputs = result.metafile.inputs;
}, 30_000);
afterAll(() => stop());

const packageOf = (path: string) => /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? null;
const ours = () => Object.keys(inputs).filter((path) => packageOf(path) === null);

test('an ESM app for Node 22 whose main is the bundle of src/index.ts', () => {
  expect(manifest.type).toBe('module');
  expect(manifest.engines.node).toBe('>=22');
  expect(functionsBuildOptions().outfile).toBe(join(FUNCTIONS_DIR, manifest.main));
  expect(manifest.main).toBe('dist/index.js');
});

test('the entry registers every function', () => {
  const adapters = readdirSync(join(FUNCTIONS_DIR, 'src/functions'))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => `functions/src/functions/${f}`);
  expect(adapters.length).toBeGreaterThanOrEqual(4);
  expect(ours()).toEqual(expect.arrayContaining(adapters));
});

test('dependencies are exactly the packages the app imports, at the lockfile versions', () => {
  const imported = new Set<string>();
  for (const path of ours())
    for (const i of inputs[path]!.imports) {
      const spec = i.original ?? i.path;
      if (spec.startsWith('.') || spec.startsWith('/') || isBuiltin(spec)) continue;
      imported.add(/^(?:@[^/]+\/)?[^/]+/.exec(spec)![0]);
    }
  const locked = Object.fromEntries(
    [...imported].map((p) => [p, lock.packages[`node_modules/${p}`]?.version]),
  );
  expect(manifest.dependencies).toEqual(locked);
  expect(Object.keys(manifest.dependencies).sort()).toEqual([
    '@azure/functions',
    '@azure/storage-blob',
    'mqtt',
    'pg',
    'pg-copy-streams',
  ]);
});

test('only the app, the shared contracts and the ops modules the probe uses are bundled', () => {
  const outside = ours()
    .map((path) => relative(ROOT, join(ROOT, path)))
    .filter((path) => !/^functions\/src\/(?!.*\.test\.ts$)/.test(path))
    .filter((path) => !path.startsWith('common/') && !/^ops\/engine\/[^/]+$/.test(path));
  // Besides the engine (check contract, runner): the checks the probe runs and the sources they read.
  expect(outside.sort()).toEqual([
    'ops/checks/bridge-backlog.ts',
    'ops/checks/broker-uptime.ts',
    'ops/checks/endpoints.ts',
    'ops/sources/bridge-status.ts',
    'ops/sources/http-probe.ts',
    'ops/sources/mqtt-round-trip.ts',
  ]);
});

test('no Azure SDK but Blob storage (the archive), no SSH or GitHub client reaches the bundle', () => {
  const packages = new Set(
    Object.keys(inputs)
      .map(packageOf)
      .filter((p) => p !== null),
  );
  const heavy = [...packages].filter(
    (p) =>
      /^@azure\/(?!(functions|storage-blob|storage-common|core-[a-z-]+|abort-controller|logger)$|functions-)/.test(
        p,
      ) ||
      /^@(actions|octokit)\//.test(p) ||
      p === 'ssh2',
  );
  expect(heavy).toEqual([]);
  expect(packages).toContain('@azure/functions');
  expect(packages).not.toContain('@azure/identity');
});
