/**
 * `npm run dev` as real processes: two checkouts' sandboxes run at once on one machine, each with
 * its own database and state, neither touching the other's; SIGTERM marks the env file stopped; a
 * SIGKILLed sandbox is seen as gone, its lock taken over and its database dropped by the next
 * start; a second sandbox on a running one's state directory is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { localSandboxStatus, readLocalEnv, type LocalSandboxStatus } from '../../common/local-env.js';
import { mosquittoForTests } from '../../test/support/mosquitto-process.js';
import { REPO_ROOT } from '../../supabase/migrate.js';
import { LOCAL_ADMIN_URL } from './database.js';

const TSX_LOADER = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
const DEV_SCRIPT = join(REPO_ROOT, 'scripts', 'sandbox', 'dev.ts');
const START_TIMEOUT_MS = 180_000; // a whole platform per process, on a machine other work loads
const WAIT_MS = 60_000;

interface Dev {
  child: ChildProcess;
  checkout: string;
  envPath: string;
  output: () => string;
  exited: Promise<number | null>;
}

const devs: Dev[] = [];
const checkouts: string[] = [];
const databases = new Set<string>();
let admin: pg.Client;

const run = mosquittoForTests() ? describe : describe.skip;

run('npm run dev, several at once', () => {
  beforeAll(async () => {
    admin = new pg.Client({ connectionString: LOCAL_ADMIN_URL });
    await admin.connect();
    for (const name of ['a', 'b']) checkouts.push(await mkdtemp(join(tmpdir(), `dev-checkout-${name}-`)));
  });
  afterAll(async () => {
    for (const d of devs) {
      if (d.child.exitCode === null && d.child.signalCode === null) {
        process.kill(-d.child.pid!, 'SIGKILL'); // its group: the broker it started goes too
        await d.exited;
      }
    }
    for (const name of databases)
      await admin.query(`drop database if exists ${admin.escapeIdentifier(name)} with (force)`);
    await admin.end();
    for (const c of checkouts) await rm(c, { recursive: true, force: true });
  });

  test('two checkouts at once; stop, crash, take-over and refusal', async () => {
    const [checkoutA, checkoutB] = checkouts as [string, string];
    const [a, b] = [startDev(checkoutA), startDev(checkoutB)];
    const [envA, envB] = await Promise.all([waitRunning(a), waitRunning(b)]);
    const [dbA, dbB] = [databaseOf(envA.db.url), databaseOf(envB.db.url)];
    expect(dbA).not.toBe(dbB);
    expect(envA.owner).toMatchObject({ mode: 'dev', pid: a.child.pid, checkout: checkoutA });
    expect(envB.owner).toMatchObject({ mode: 'dev', pid: b.child.pid, checkout: checkoutB });

    // Both work with the other running: their simulators' messages keep arriving in their own database.
    await Promise.all([telemetryGrows(envA.db.url), telemetryGrows(envB.db.url)]);

    // SIGTERM (what Ctrl-C does): a clean exit, the env file marked stopped, the lock released.
    a.child.kill('SIGTERM');
    expect(await within(a.exited, WAIT_MS, 'a to exit')).toBe(0);
    expect(await localSandboxStatus(a.envPath)).toMatchObject({
      running: false,
      reason: expect.stringMatching(/^it stopped at /),
    });
    expect(existsSync(join(checkoutA, '.ops', 'local', 'dev', 'sandbox.lock'))).toBe(false);
    expect((await localSandboxStatus(b.envPath)).running).toBe(true);
    await telemetryGrows(envB.db.url);

    // A crash: nothing marks the file, the owner's pid is simply gone.
    process.kill(-b.child.pid!, 'SIGKILL');
    await within(b.exited, WAIT_MS, 'b to die');
    expect(await localSandboxStatus(b.envPath)).toMatchObject({
      running: false,
      reason: `its process (pid ${b.child.pid}) is gone`,
    });

    // The next start in b's checkout takes the stale lock over; the gone sandboxes' databases are
    // dropped (by it, or by another start on this server).
    const c = startDev(checkoutB);
    const envC = await waitRunning(c);
    const dbC = databaseOf(envC.db.url);
    expect([dbA, dbB]).not.toContain(dbC);
    expect({ [dbA]: await exists(dbA), [dbB]: await exists(dbB) }).toEqual({ [dbA]: false, [dbB]: false });
    expect(c.output()).not.toMatch(new RegExp(`dropped ${dbC}`));

    // A second sandbox on c's state directory is refused before it touches anything.
    const d = startDev(checkoutB);
    expect(await within(d.exited, START_TIMEOUT_MS, 'd to give up')).toBe(1);
    expect(d.output()).toMatch(/a sandbox already runs from \.ops\/local\/dev \(dev, pid \d+, since /);
    expect(await localSandboxStatus(c.envPath)).toMatchObject({
      running: true,
      owner: { runId: envC.owner.runId },
    });
    await telemetryGrows(envC.db.url);

    c.child.kill('SIGTERM');
    expect(await within(c.exited, WAIT_MS, 'c to exit')).toBe(0);
  }, 600_000);
});

function startDev(checkout: string): Dev {
  const env: NodeJS.ProcessEnv = { ...process.env, SANDBOX_RATE_PER_DEVICE: '5' };
  for (const k of ['DATABASE_URL', 'MQTT_URL', 'SANDBOX_EMBEDDED']) delete env[k];
  // Own process group: a crash is simulated by killing the whole tree, broker included.
  const child = spawn(process.execPath, ['--import', TSX_LOADER, DEV_SCRIPT], {
    cwd: checkout,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => {
    child.once('error', (e) => {
      output += `spawn: ${e.message}\n`;
      resolve(null);
    });
    child.once('exit', (code) => resolve(code));
  });
  const dev = {
    child,
    checkout,
    envPath: join(checkout, '.ops', 'local', 'dev', 'env.json'),
    output: () => output,
    exited,
  };
  devs.push(dev);
  return dev;
}

/** Until the process's own env file says it runs; its output when it exits or takes too long. */
async function waitRunning(dev: Dev) {
  let exited = false;
  void dev.exited.then(() => (exited = true));
  const deadline = Date.now() + START_TIMEOUT_MS;
  let status: LocalSandboxStatus = { running: false, reason: 'not started' };
  while (!(status.running && status.owner.pid === dev.child.pid)) {
    if (exited || Date.now() > deadline)
      throw new Error(
        `dev in ${dev.checkout} did not start (${status.running || status.reason}):\n${dev.output()}`,
      );
    await sleep(200);
    status = await localSandboxStatus(dev.envPath);
  }
  const env = await readLocalEnv(dev.envPath);
  databases.add(databaseOf(env.db.url));
  return env;
}

/** The simulator's messages keep arriving: the row count rises above what it is now. */
async function telemetryGrows(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const count = async () =>
      (await client.query<{ n: number }>('select count(*)::int n from public.telemetry')).rows[0]!.n;
    const before = await count();
    const deadline = Date.now() + WAIT_MS;
    while ((await count()) <= before) {
      if (Date.now() > deadline)
        throw new Error(`no new telemetry in ${databaseOf(url)} for ${WAIT_MS / 1000} s`);
      await sleep(200);
    }
  } finally {
    await client.end();
  }
}

const databaseOf = (url: string) => new URL(url).pathname.slice(1);

const exists = async (name: string) =>
  (await admin.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;

async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
