/**
 * The functions package: what is in the zip, that the same sources and SHA give the same bytes, and
 * that it is self-contained: extracted where no node_modules is reachable and loaded the way the
 * Functions worker loads it, every function registers with its trigger.
 */
import { stop } from 'esbuild';
import { unzipSync } from 'fflate';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FUNCTIONS_DIR } from './bundle.js';
import { buildFunctionsPackage, expectedFunctions, type FunctionsPackage } from './package-zip.js';
import { extractFunctionsPackage, listPackageFunctions, reachableNodeModules } from './src/package-host.js';

const SHA = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const OTHER_SHA = 'ffffffffffffffffffffffffffffffffffffffff';

let work: string;
let pkg: FunctionsPackage;
let buildMs = 0;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'functions-package-test-'));
  const started = Date.now();
  pkg = await buildFunctionsPackage({ outDir: join(work, 'a'), commitSha: SHA });
  buildMs = Date.now() - started;
}, 60_000);
afterAll(async () => {
  await stop();
  await rm(work, { recursive: true, force: true });
});

test('the zip holds host.json, package.json, the bundle and the commit, nothing else', async () => {
  const files = unzipSync(await readFile(pkg.path));
  expect(Object.keys(files)).toEqual(['build-info.json', 'dist/index.js', 'host.json', 'package.json']);
  const json = (name: string) => JSON.parse(new TextDecoder().decode(files[name])) as Record<string, unknown>;
  const manifest = json('package.json');
  expect(manifest).toMatchObject({ type: 'module', main: 'dist/index.js' });
  // Everything is bundled: nothing for the platform to install.
  expect(manifest).not.toHaveProperty('dependencies');
  expect(manifest).not.toHaveProperty('devDependencies');
  expect(json('build-info.json')).toEqual({ commit: SHA });
  expect(json('host.json')).toEqual(JSON.parse(await readFile(join(FUNCTIONS_DIR, 'host.json'), 'utf8')));
  expect(new TextDecoder().decode(files['dist/index.js'])).toContain(JSON.stringify(SHA));
  expect(pkg).toMatchObject({ commitSha: SHA, bytes: (await readFile(pkg.path)).byteLength });
  expect(pkg.path).toBe(join(work, 'a', `functions-${SHA}.zip`));
  // Built, extracted and loaded: well within a deploy's budget.
  expect(buildMs).toBeLessThan(30_000);
});

test('the same sources and SHA give the same bytes; another SHA another package', async () => {
  const again = await buildFunctionsPackage({ outDir: join(work, 'b'), commitSha: SHA });
  expect(again.sha256).toBe(pkg.sha256);
  expect(Buffer.compare(await readFile(again.path), await readFile(pkg.path))).toBe(0);
  const other = await buildFunctionsPackage({ outDir: join(work, 'c'), commitSha: OTHER_SHA });
  expect(other.sha256).not.toBe(pkg.sha256);
}, 60_000);

test('a commit that is not a SHA is refused', async () => {
  await expect(buildFunctionsPackage({ outDir: join(work, 'd'), commitSha: 'HEAD' })).rejects.toThrow(
    /not 7-40 lowercase hex/,
  );
});

describe('extracted outside the repository', () => {
  let dir: string;
  beforeAll(async () => {
    dir = join(work, 'extracted');
    await extractFunctionsPackage(pkg.path, dir);
  });

  test('no node_modules is reachable from there', () => {
    expect(reachableNodeModules(dir)).toEqual([]);
    // The check itself sees one where there is one.
    expect(reachableNodeModules(FUNCTIONS_DIR)).not.toEqual([]);
  });

  test('loaded as the worker loads it, every function registers with its trigger', async () => {
    const { functions, programmingModel } = await listPackageFunctions(dir);
    expect(programmingModel).toMatch(/^@azure\/functions@4\./);
    expect(functions.map((f) => f.name).sort()).toEqual(await expectedFunctions());
    expect(functions.map((f) => f.name).sort()).toEqual([
      'alerts_timer',
      'archive_timer',
      'health',
      'mqtt_ingest',
      'uptime_probe',
    ]);
    const byName = Object.fromEntries(functions.map((f) => [f.name, f]));
    expect(byName.mqtt_ingest).toMatchObject({
      trigger: 'httpTrigger',
      methods: ['POST'],
      authLevel: 'function',
    });
    expect(byName.health).toMatchObject({ trigger: 'httpTrigger', methods: ['GET'], authLevel: 'anonymous' });
    expect(byName.alerts_timer).toMatchObject({ trigger: 'timerTrigger', schedule: '0 */1 * * * *' });
    expect(byName.uptime_probe).toMatchObject({ trigger: 'timerTrigger', schedule: '0 */1 * * * *' });
    expect(byName.archive_timer).toMatchObject({ trigger: 'timerTrigger', schedule: '0 30 20 * * *' });
    expect(pkg.registrations).toEqual(functions);
  });

  test('without the worker module it registers nothing and only warns: why the list is checked', () => {
    const url = pathToFileURL(join(dir, 'dist/index.js')).href;
    const run = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `await import(${JSON.stringify(url)})`],
      {
        cwd: dir,
        env: { PATH: process.env.PATH ?? '' },
        encoding: 'utf8',
      },
    );
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/Skipping call to register function "mqtt_ingest" because .* test mode/);
  });
});
