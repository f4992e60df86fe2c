/**
 * The functions stage end to end on the sandbox (real PostgreSQL and broker, the bridge, the
 * sandbox's One Deploy endpoint): the package built from this checkout is deployed through the
 * Flex client code, the sandbox serves it from a temporary folder in a worker process on the same
 * port, /health reports the commit and a device's message still reaches the database through the
 * bridge; the same deploy again is skipped; a package that does not load is refused and the one
 * before keeps serving; a rollback goes back to the previous release.
 */
import { zipSync } from 'fflate';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { examplePayload } from '../../common/telemetry.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';
import { loadOpsTarget, type OpsTarget } from '../config/ops-target.js';
import {
  functionsReleaseStoreFor,
  rollbackFunctions,
  runFunctionsStage,
  type FunctionsStageOptions,
} from './functions-stage.js';

const ROOT = join(import.meta.dirname, '..', '..');
const HEAD = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
const OTHER = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';

let sandbox: TestSandbox;
let target: OpsTarget;
let work: string;
const lines: string[] = [];

beforeAll(async () => {
  sandbox = await startTestSandbox('functions_stage');
  target = await loadOpsTarget('local', { localEnvPath: sandbox.envPath, env: {} });
  work = await mkdtemp(join(tmpdir(), 'functions-stage-'));
}, 90_000);
afterAll(async () => {
  await sandbox?.stop();
  await rm(work, { recursive: true, force: true });
});

const stage = (extra: Partial<FunctionsStageOptions> = {}) =>
  runFunctionsStage({
    target,
    root: ROOT,
    commitSha: HEAD,
    outDir: join(work, 'build'),
    log: (l) => lines.push(l),
    ...extra,
  });

/** A new device message (its own timestamp: a repeated one is a duplicate) through broker and bridge: the row must be committed. */
async function canaryCommits(): Promise<void> {
  const { env, pool } = sandbox.platform;
  const count = async () =>
    (
      await pool.query<{ n: number }>(
        `select count(*)::int n from public.telemetry t join public.devices d on d.id = t.device_id
          where d.device_key = $1`,
        [env.probe.deviceId],
      )
    ).rows[0]!.n;
  const before = await count();
  const client = await mqtt.connectAsync(env.mqtt.deviceUrl, {
    username: env.probe.username,
    password: env.probe.password,
    protocolVersion: sandbox.platform.broker.protocolVersion,
    reconnectPeriod: 0,
    ca: env.mqtt.ca,
  });
  await client.publishAsync(env.probe.topic, examplePayload(Date.now()), { qos: 1 });
  await client.endAsync();
  const deadline = Date.now() + 30_000;
  while ((await count()) !== before + 1) {
    if (Date.now() > deadline) throw new Error('the canary message was not committed in 30 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const health = async () =>
  (await (await fetch(sandbox.platform.env.ingest.healthUrl)).json()) as { version: string | null };

test('deploys the package built from the checkout: served from a temporary folder, /health reports the commit, ingest commits', async () => {
  expect(sandbox.platform.host.serving()).toEqual({ kind: 'sources' });
  const result = await stage();
  expect(result).toMatchObject({ status: 'success', unchanged: false, deployed: true });
  expect(result.before).toEqual({ commit: null, sha256: null }); // the sandbox starts from sources
  expect(result.after).toEqual({ commit: HEAD, sha256: result.package!.sha256 });
  expect(result.package!.functions).toEqual(expect.arrayContaining(['health', 'mqtt_ingest']));
  expect(result.transport).toMatch(/^the sandbox's One Deploy endpoint/);
  expect((await health()).version).toBe(HEAD);

  const serving = sandbox.platform.host.serving();
  expect(serving).toMatchObject({ kind: 'package' });
  if (serving?.kind !== 'package') throw new Error('not a package');
  expect(serving.dir.startsWith(tmpdir())).toBe(true);
  expect(existsSync(join(serving.dir, 'node_modules'))).toBe(false);
  expect(serving.pid).not.toBe(process.pid);
  // The bridge still posts to the same URL.
  expect(sandbox.platform.env.ingest.url.startsWith(sandbox.platform.host.url)).toBe(true);
  await canaryCommits();

  const store = functionsReleaseStoreFor(target, ROOT);
  expect(store.description).toContain(join(sandbox.dir, 'releases', 'functions'));
  expect((await store.latest())?.sha256).toBe(result.package!.sha256);
  // The key never reaches the log.
  expect(lines.join('\n')).not.toContain(sandbox.platform.env.functionsDeploy!.key);
}, 60_000);

test('the same deploy again is skipped as unchanged: nothing is redeployed', async () => {
  const pid = (sandbox.platform.host.serving() as { pid: number }).pid;
  const result = await stage();
  expect(result).toMatchObject({ status: 'skipped', unchanged: true, deployed: false });
  expect(result.summary).toMatch(/^unchanged: /);
  expect(result.timings.deployMs).toBe(0);
  expect((sandbox.platform.host.serving() as { pid: number }).pid).toBe(pid);
}, 60_000);

test('a package that does not load is refused, and the one before serves again', async () => {
  const bytes = zipSync({
    'host.json': new TextEncoder().encode('{"version":"2.0"}\n'),
    'package.json': new TextEncoder().encode('{"type":"module","main":"dist/index.js"}\n'),
    'dist/index.js': new TextEncoder().encode("throw new Error('broken on purpose');\n"),
  });
  const path = join(work, 'broken.zip');
  await writeFile(path, bytes);
  const broken = {
    path,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    bytes: bytes.byteLength,
    commitSha: 'bad0bad0bad0bad0bad0bad0bad0bad0bad0bad0',
    functions: [],
  };
  const result = await stage({ buildPackage: async () => broken, commitSha: broken.commitSha });
  expect(result).toMatchObject({ status: 'failure', deployed: false });
  expect(result.error).toMatch(/failed: The package did not load/);
  expect(result.error).toContain('broken on purpose');
  expect((await health()).version).toBe(HEAD);
  const store = functionsReleaseStoreFor(target, ROOT);
  expect((await store.latest())?.commitSha).toBe(HEAD); // never became a release
  await canaryCommits();
}, 60_000);

test('rollback deploys the previous release and /health reports its commit again', async () => {
  const next = await stage({ commitSha: OTHER });
  expect(next).toMatchObject({ status: 'success', after: { commit: OTHER } });
  expect((await health()).version).toBe(OTHER);

  const result = await rollbackFunctions({
    target,
    expectLatestSha256: next.package!.sha256,
    log: (l) => lines.push(l),
  });
  expect(result).toMatchObject({
    status: 'success',
    before: { commit: OTHER, sha256: next.package!.sha256 },
    after: { commit: HEAD },
  });
  expect((await health()).version).toBe(HEAD);
  await canaryCommits();
  const history = await functionsReleaseStoreFor(target, ROOT).history();
  expect(history.releases.at(-1)?.commitSha).toBe(HEAD);
  expect(history.rolledBack.map((r) => r.commitSha)).toEqual([OTHER]);

  // Nothing older to go back to now that OTHER left the line.
  const again = await rollbackFunctions({ target });
  expect(again.status).toBe('failure');
  expect(again.summary).toMatch(/^no previous functions release/);
}, 60_000);
