/**
 * The local Functions host run from an extracted package, on a real database: what the deploy's
 * `--env local` swaps the sandbox's functions with. /health answers with the package's commit,
 * mqtt_ingest stores a batch, keys are checked as the Functions host checks them, a timer runs
 * through the admin API, and a package that is not self-contained or registers nothing is refused.
 */
import { stop } from 'esbuild';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import type { HealthReport, IngestResponse } from '../../common/ingest-protocol.js';
import { telemetryTopic } from '../../common/topics.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { liftRateLimits, seedIngestFixture } from '../../test/support/ingest-fixture.js';
import { buildFunctionsPackage } from '../package-zip.js';
import {
  extractFunctionsPackage,
  reachableNodeModules,
  startPackageFunctionsHost,
  type PackageHost,
} from './package-host.js';

const SHA = '5eed5eed5eed5eed5eed5eed5eed5eed5eed5eed';
const FUNCTION_KEY = 'function-key-for-tests';
const MASTER_KEY = 'master-key-for-tests';
const ALL = ['alerts_timer', 'archive_timer', 'health', 'mqtt_ingest', 'uptime_probe'];

let work: string;
let dir: string;
let db: TestDatabase;
let pool: pg.Pool;
let host: PackageHost;
const output: string[] = [];

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'functions-host-test-'));
  const pkg = await buildFunctionsPackage({ outDir: join(work, 'out'), commitSha: SHA });
  dir = join(work, 'wwwroot');
  await extractFunctionsPackage(pkg.path, dir);
  db = await createTestDatabase('package_host');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  await liftRateLimits(pool, await seedIngestFixture(pool));
  host = await startPackageFunctionsHost({
    dir,
    settings: { DATABASE_URL: db.url, DATABASE_POOL_MAX: '2' },
    functionKey: FUNCTION_KEY,
    masterKey: MASTER_KEY,
    expectFunctions: ALL,
    log: (line) => output.push(line),
  });
}, 60_000);
afterAll(async () => {
  await host?.close();
  await pool?.end();
  await db?.drop();
  await stop();
  await rm(work, { recursive: true, force: true });
});

const ingest = (body: unknown, key: string | null = FUNCTION_KEY) =>
  fetch(host.ingestUrl, {
    method: 'POST',
    headers: {
      ...(key ? { 'x-functions-key': key } : {}),
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    },
    body: gzipSync(JSON.stringify(body)),
  });

test('it serves the package from a folder no node_modules is reachable from, in a process of its own', () => {
  expect(reachableNodeModules(dir)).toEqual([]);
  expect(host.pid).not.toBe(process.pid);
  expect(host.functions.map((f) => f.name).sort()).toEqual(ALL);
});

test('GET /api/health answers with the commit the package was built from', async () => {
  const res = await fetch(host.healthUrl);
  expect(res.status).toBe(200);
  const report = (await res.json()) as HealthReport;
  expect(report).toMatchObject({ status: 'ok', database: 'reachable', version: SHA });
  expect(report.schemaVersion).toMatch(/^\d{14}$/);
});

test('POST mqtt_ingest with a small batch stores its rows', async () => {
  const now = Date.now();
  const messages = [1, 2, 3].map((i) => ({
    id: `package-host:${i}`,
    topic: telemetryTopic('globex', 'globex-1'),
    payload: Buffer.from(JSON.stringify({ ts: now + i, metrics: { temperature: 20 + i } })).toString(
      'base64',
    ),
    receivedAt: now,
  }));
  const res = await ingest({ messages });
  expect(res.status).toBe(200);
  const body = (await res.json()) as IngestResponse;
  expect(body.results).toEqual(messages.map((m) => ({ id: m.id, status: 'inserted' })));
  const stored = await pool.query<{ n: number }>(
    `select count(*)::int as n from public.telemetry t join public.devices d on d.id = t.device_id
      where d.device_key = 'globex-1' and (t.metrics->>'temperature')::numeric between 21 and 23`,
  );
  expect(stored.rows[0]!.n).toBe(3);
  // The same batch again: idempotent by message id.
  const again = (await (await ingest({ messages })).json()) as IngestResponse;
  expect(again.results.map((r) => r.status)).toEqual(['duplicate', 'duplicate', 'duplicate']);
});

test('keys and methods are checked as the Functions host checks them', async () => {
  expect((await ingest({ messages: [] }, null)).status).toBe(401);
  expect((await ingest({ messages: [] }, 'wrong')).status).toBe(401);
  expect((await ingest({ messages: [] }, MASTER_KEY)).status).toBe(200);
  const withCode = await fetch(`${host.ingestUrl}?code=${FUNCTION_KEY}`, {
    method: 'POST',
    body: JSON.stringify({ messages: [] }),
  });
  expect(withCode.status).toBe(200);
  // Only the registered methods are routed; unknown routes are 404.
  expect((await fetch(host.ingestUrl, { headers: { 'x-functions-key': FUNCTION_KEY } })).status).toBe(404);
  expect((await fetch(`${host.url}/api/nothing`)).status).toBe(404);
});

test('a timer runs through the admin API, with the master key only', async () => {
  const run = (key: string) =>
    fetch(`${host.url}/admin/functions/alerts_timer`, {
      method: 'POST',
      headers: { 'x-functions-key': key, 'content-type': 'application/json' },
      body: '{"input":""}',
    });
  expect((await run(FUNCTION_KEY)).status).toBe(401);
  expect((await run(MASTER_KEY)).status).toBe(202);
  // context.log reaches the worker's log as the user's.
  expect(output).toContainEqual(expect.stringMatching(/^\[user information\] \{"msg":"alerts tick"/));
});

describe('a package that is not what the deploy needs is refused', () => {
  const bad = async (name: string, index: string) => {
    const d = join(work, name);
    await mkdir(join(d, 'dist'), { recursive: true });
    await writeFile(join(d, 'host.json'), '{"version": "2.0"}');
    await writeFile(join(d, 'package.json'), JSON.stringify({ type: 'module', main: 'dist/index.js' }));
    await writeFile(join(d, 'dist/index.js'), index);
    return d;
  };
  const start = (d: string) =>
    startPackageFunctionsHost({ dir: d, functionKey: FUNCTION_KEY, expectFunctions: ALL });

  test('one that needs node_modules', async () => {
    const d = await bad('needs-pg', "import pg from 'pg';\nexport default pg;\n");
    await expect(start(d)).rejects.toThrow(/Cannot find package 'pg'/);
  });

  test('one that registers nothing', async () => {
    const d = await bad('empty', 'export {};\n');
    await expect(start(d)).rejects.toThrow(/registered no function/);
  });
});
