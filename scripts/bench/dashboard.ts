/**
 * `npm run bench:dashboard [-- --json]`: the tenant dashboard's budgets, measured (issue 10).
 *
 * 1. Bundle: builds the app into a temporary directory (scripts/lib/build-dashboard.ts) and gzips
 *    the initial JavaScript (the entry chunk and its static imports, level 9): budget 150 kB.
 * 2. In the browser: a sandbox as `npm run dev` starts it (startPlatform with the dashboard, through
 *    test/support/sandbox.ts, on its own database), Debian's Chromium (CHROME_BIN or
 *    /usr/bin/chromium) driven by playwright-core:
 *    - cold sign-in: `--sign-ins` fresh browser contexts (empty cache), navigation to the device
 *      list shown, signed in (budget 1.5 s); also the part from the sign-in click;
 *    - live latency: `--values` readings published over MQTT as a device (QoS 1, through broker,
 *      bridge and ingest), each timed from just before the publish to its value on screen, spaced
 *      at random so they fall anywhere in the app's 3 s polling cycle (budget 5 s).
 * 3. Open dashboards: `--clients` simulated dashboards, each signed in through the Auth stand-in as
 *    its own user (seeded for the bench, spread over `--tenants` tenants of `--devices` devices with
 *    a day of one-a-minute readings each), poll exactly what the app polls on its devices screen:
 *    the app's DashboardApi (dashboard/src/api.ts, the same supabase-js queries) on the app's
 *    schedule (dashboard/src/lib/poller.ts, POLL_MS, the sparkline every SPARKLINE_EVERY polls),
 *    starts spread over one interval, for `--seconds`. Against the same sandbox with no clients
 *    for as long (the baseline: bridge reports, alert timer), it reports requests/s, client-side
 *    request times, PostgreSQL's time per request (pg_stat_database.active_time: pg_stat_statements
 *    is not preloaded on this server) and the CPU of the database's backends (/proc).
 *
 * Options: --values N (15) --sign-ins N (3) --clients N (100) --seconds N (30) --tenants N (10)
 *          --devices N (10 per tenant) --json
 */
import { CHROMIUM_ARGS } from '../../ops/sources/dashboard-browser.js';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@supabase/supabase-js';
import mqtt from 'mqtt';
import type pg from 'pg';
import { chromium, type Browser } from 'playwright-core';
import { DashboardApi } from '../../dashboard/src/api.js';
import { startPolling } from '../../dashboard/src/lib/poller.js';
import { createAuthUser } from '../../test/support/auth-standin.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';
import { buildDashboard, DASHBOARD, initialJs } from '../lib/build-dashboard.js';
import { positiveIntArg } from '../lib/positive-int-arg.js';
import { BENCH_HASH } from './ops-seed.js';
import { setAuthUserPassword } from '../sandbox/supabase-standin/passwords.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    values: { type: 'string', default: '15' },
    'sign-ins': { type: 'string', default: '3' },
    clients: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '30' },
    tenants: { type: 'string', default: '10' },
    devices: { type: 'string', default: '10' },
  },
});
const VALUES = positiveIntArg(args, 'values');
const SIGN_INS = positiveIntArg(args, 'sign-ins');
const CLIENTS = positiveIntArg(args, 'clients');
const SECONDS = positiveIntArg(args, 'seconds');
const TENANTS = positiveIntArg(args, 'tenants');
const DEVICES = positiveIntArg(args, 'devices');

const BUNDLE_BUDGET_GZIP = 150_000; // dashboard/test/bundle.test.ts
const SIGN_IN_BUDGET_MS = 1_500;
const LIVE_BUDGET_MS = 5_000;
const CHROMIUM = process.env.CHROME_BIN ?? '/usr/bin/chromium';
const WAIT_MS = 20_000;
/** PostgreSQL 15 flushes an idle backend's statistics within 10 s (PGSTAT_IDLE_INTERVAL). */
const STATS_FLUSH_MS = 11_000;

/** The app's polling constants, read from its sources so the bench follows the app. */
function appConstant(file: string, name: string): number {
  const text = readFileSync(join(DASHBOARD, 'src', file), 'utf8');
  const m = new RegExp(`const ${name} = (\\d[\\d_]*)`).exec(text);
  if (!m)
    throw new Error(`dashboard/src/${file} no longer defines ${name}: update scripts/bench/dashboard.ts`);
  return Number(m[1]!.replaceAll('_', ''));
}
const POLL_MS = appConstant('ui/use-poll.ts', 'POLL_MS');
const SPARKLINE_EVERY = appConstant('ui/Devices.tsx', 'SPARKLINE_EVERY');

const log = (line: string) => process.stderr.write(`bench:dashboard: ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
function stats(values: number[]): { n: number; p50: number; p95: number; max: number; min: number } {
  const s = [...values].sort((a, b) => a - b);
  return {
    n: s.length,
    min: s[0] ?? NaN,
    p50: quantile(s, 0.5),
    p95: quantile(s, 0.95),
    max: s.at(-1) ?? NaN,
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Bundle

async function measureBundle() {
  const work = await mkdtemp(join(tmpdir(), 'bench-dashboard-'));
  try {
    await buildDashboard(join(work, 'dist'));
    const initial = await initialJs(join(work, 'dist'));
    return {
      files: initial.files,
      gzipBytes: initial.gzipBytes,
      rawBytes: initial.rawBytes,
      budget: BUNDLE_BUDGET_GZIP,
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// 2. In the browser

async function measureBrowser(sandbox: TestSandbox, browser: Browser) {
  const env = sandbox.platform.env;
  const url = env.dashboard!.url;
  const owner = env.users.find((u) => u.tenant === 'acme' && u.role === 'owner')!;
  const device = env.devices.find((d) => d.tenant === 'acme')!;

  const signIns: { totalMs: number; fromClickMs: number }[] = [];
  for (let i = 0; i < SIGN_INS; i++) {
    const context = await browser.newContext({ locale: 'en-US' }); // empty cache
    const page = await context.newPage();
    const started = Date.now();
    await page.goto(url);
    await page.getByLabel('E-mail').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password!);
    const clicked = Date.now();
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('tr[data-device-key]').first().waitFor({ timeout: WAIT_MS });
    const done = Date.now();
    signIns.push({ totalMs: done - started, fromClickMs: done - clicked });
    await context.close();
  }

  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  await page.goto(url);
  await page.getByLabel('E-mail').fill(owner.email);
  await page.getByLabel('Password').fill(owner.password!);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator(`tr[data-device-key="${device.deviceId}"]`).waitFor({ timeout: WAIT_MS });
  const client = await mqtt.connectAsync(env.mqtt.deviceUrl, {
    username: device.username,
    password: device.password,
    clientId: device.username,
    protocolVersion: env.services.broker === 'embedded' ? 4 : 5,
    reconnectPeriod: 0,
    ...(env.mqtt.ca ? { ca: env.mqtt.ca } : {}),
  });
  const live: number[] = [];
  const pubacks: number[] = [];
  try {
    for (let i = 0; i < VALUES; i++) {
      // Anywhere in the polling cycle.
      await sleep(Math.floor(Math.random() * POLL_MS));
      const value = 500 + i + Math.floor(Math.random() * 100) / 100; // under 1,000: no grouping
      const text = new Intl.NumberFormat('en-US', { maximumFractionDigits: 2 }).format(value);
      const started = Date.now();
      await client.publishAsync(
        device.topic,
        JSON.stringify({ ts: started, id: `bench-${started}-${i}`, metrics: { temperature: value } }),
        { qos: 1 },
      );
      pubacks.push(Date.now() - started);
      await page.waitForFunction(
        ({ selector, text }) =>
          Array.from(
            (
              globalThis as unknown as {
                document: { querySelectorAll(s: string): ArrayLike<{ textContent: string | null }> };
              }
            ).document.querySelectorAll(selector),
          ).some((el) => el.textContent === text),
        { selector: `tr[data-device-key="${device.deviceId}"] [data-metric="temperature"] b`, text },
        { timeout: WAIT_MS, polling: 'raf' },
      );
      live.push(Date.now() - started);
    }
  } finally {
    await client.endAsync().catch(() => undefined);
    await context.close();
  }
  return {
    signIn: { runs: signIns, budgetMs: SIGN_IN_BUDGET_MS },
    live: { ...stats(live), pubackP50: stats(pubacks).p50, budgetMs: LIVE_BUDGET_MS, values: live },
  };
}

// ---------------------------------------------------------------------------------------------
// 3. Open dashboards

interface BenchUser {
  email: string;
  password: string;
  tenantId: string;
}

/** Tenants of DEVICES devices with 24 h of one-a-minute readings (the hourly rollup by its trigger), latest values, CLIENTS users. */
async function seedLoad(pool: pg.Pool): Promise<BenchUser[]> {
  const tenants = await pool.query<{ id: string }>(
    `insert into public.tenants (slug, name, plan_id)
     select 'dash-bench-' || g, 'Dashboard bench ' || g, 'pro' from generate_series(1, $1::int) g
     returning id`,
    [TENANTS],
  );
  const ids = tenants.rows.map((r) => r.id);
  await pool.query(
    `insert into public.devices (tenant_id, device_key, name, credential_hash)
     select t, 'dash-bench-' || left(t::text, 8) || '-' || g, 'Sensor ' || g, $3
       from unnest($1::uuid[]) t cross join generate_series(1, $2::int) g`,
    [ids, DEVICES, BENCH_HASH],
  );
  await pool.query(
    `insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics, received_at)
     select d.tenant_id, d.id, now() - make_interval(mins => m), 'b' || m,
            jsonb_build_object('temperature', 15 + (m % 200) / 10.0, 'humidity', 30 + m % 50, 'battery', 100 - m % 100),
            now() - make_interval(mins => m)
       from public.devices d cross join generate_series(0, 1439) m
      where d.tenant_id = any($1::uuid[])`,
    [ids],
  );
  await pool.query(
    `insert into public.device_latest (device_id, tenant_id, ts, metrics)
     select d.id, d.tenant_id, now(), '{"temperature": 20, "humidity": 40, "battery": 90}'
       from public.devices d where d.tenant_id = any($1::uuid[])`,
    [ids],
  );
  await pool.query(`update public.devices set last_seen = now() where tenant_id = any($1::uuid[])`, [ids]);
  // Now, so autovacuum has nothing left to do on these tables during the windows.
  await pool.query(
    `vacuum analyze public.telemetry, public.telemetry_hourly, public.devices, public.device_latest`,
  );
  const users: BenchUser[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const email = `bench-${i}@dash-bench.test`;
    const password = `bench-password-${i}`;
    const tenantId = ids[i % ids.length]!;
    const { id } = await createAuthUser(pool, { email });
    await pool.query(
      `insert into public.tenant_members (tenant_id, user_id, role) values ($1, $2, 'viewer')`,
      [tenantId, id],
    );
    await setAuthUserPassword(pool, id, password);
    users.push({ email, password, tenantId });
  }
  return users;
}

interface DbSnapshot {
  at: number;
  xacts: number;
  activeMs: number;
}

async function dbSnapshot(pool: pg.Pool): Promise<DbSnapshot> {
  const r = await pool.query<{ xacts: string; active: number }>(
    `select xact_commit + xact_rollback as xacts, active_time as active
       from pg_stat_database where datname = current_database()`,
  );
  return { at: Date.now(), xacts: Number(r.rows[0]!.xacts), activeMs: r.rows[0]!.active };
}

/** CPU of the database's backends from /proc, sampled each second (backends come and go). */
function backendCpuMeter(pool: pg.Pool) {
  const first = new Map<number, number>();
  const last = new Map<number, number>();
  let stopped = false;
  let startedAt: Date | undefined;
  const cpuMs = (pid: number): number | null => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return ((Number(f[11]) + Number(f[12])) * 1000) / 100; // USER_HZ
    } catch {
      return null;
    }
  };
  const sample = async () => {
    const r = await pool.query<{ pid: number; backend_start: Date; now: Date }>(
      // Client backends only: an autovacuum worker on the seeded telemetry would count too.
      `select pid, backend_start, now() from pg_stat_activity
        where datname = current_database() and backend_type = 'client backend'`,
    );
    startedAt ??= r.rows[0]?.now ?? new Date();
    for (const { pid, backend_start } of r.rows) {
      const ms = cpuMs(pid);
      if (ms === null) continue;
      // A backend that started during the window counts from zero; an older one (the seeding
      // connection among them) from its first reading.
      if (!first.has(pid)) first.set(pid, backend_start > startedAt ? 0 : ms);
      last.set(pid, ms);
    }
  };
  const firstSample = sample();
  const loop = (async () => {
    await firstSample;
    while (!stopped) {
      await sleep(1_000);
      await sample();
    }
  })();
  return {
    ready: firstSample,
    async stop(): Promise<number> {
      stopped = true;
      await loop;
      let total = 0;
      for (const [pid, end] of last) total += end - (first.get(pid) ?? end);
      return total;
    },
  };
}

interface Window {
  seconds: number;
  xacts: number;
  activeMs: number;
  backendCpuMs: number;
  processCpuMs: number;
}

/** One measured window: `during` runs for SECONDS, then statistics settle (flush) before the end snapshot. */
async function measureWindow(pool: pg.Pool, during: () => Promise<() => Promise<void>>): Promise<Window> {
  await sleep(STATS_FLUSH_MS); // what came before is flushed
  const meter = backendCpuMeter(pool);
  await meter.ready;
  const before = await dbSnapshot(pool);
  const cpu = process.cpuUsage();
  const stop = await during();
  await sleep(SECONDS * 1000);
  await stop();
  await sleep(STATS_FLUSH_MS);
  const after = await dbSnapshot(pool);
  const used = process.cpuUsage(cpu);
  return {
    seconds: (after.at - before.at) / 1000,
    xacts: after.xacts - before.xacts,
    activeMs: after.activeMs - before.activeMs,
    backendCpuMs: await meter.stop(),
    processCpuMs: (used.user + used.system) / 1000,
  };
}

async function measureLoad(sandbox: TestSandbox) {
  const env = sandbox.platform.env;
  const pool = sandbox.platform.pool;
  log(`seeding ${TENANTS} tenants x ${DEVICES} devices (a day of readings each) and ${CLIENTS} users`);
  const users = await seedLoad(pool);
  log(`signing in ${CLIENTS} users through the Auth stand-in`);
  const apis: { api: DashboardApi; tenantId: string }[] = [];
  for (const u of users) {
    const client = createClient(env.supabase!.url, env.supabase!.anonKey, {
      auth: { persistSession: false, autoRefreshToken: false },
    });
    const { error } = await client.auth.signInWithPassword({ email: u.email, password: u.password });
    if (error) throw new Error(`sign-in of ${u.email}: ${error.message}`);
    apis.push({ api: new DashboardApi(client), tenantId: u.tenantId });
  }

  log(`baseline: the sandbox with no dashboard open, ${SECONDS} s`);
  const baseline = await measureWindow(pool, async () => async () => undefined);

  const times = { devices: [] as number[], devicesFull: [] as number[], status: [] as number[] };
  let errors = 0;
  let firstError: string | undefined;
  const timed = async <T>(into: number[], call: () => Promise<T>) => {
    const t0 = performance.now();
    try {
      await call();
      into.push(performance.now() - t0);
    } catch (e) {
      errors++;
      firstError ??= (e as Error).message;
    }
  };
  const alwaysVisible = { visibilityState: 'visible', addEventListener() {}, removeEventListener() {} };
  log(`${CLIENTS} open dashboards (devices screen) polling every ${POLL_MS} ms, ${SECONDS} s`);
  const load = await measureWindow(pool, async () => {
    const stops: (() => void)[] = [];
    const starters: NodeJS.Timeout[] = [];
    for (const { api, tenantId } of apis) {
      // Dashboards are opened at different times: starts spread over one interval.
      starters.push(
        setTimeout(() => {
          let polls = 0;
          // App.tsx: platform_status; Devices.tsx: the device list, with the sparkline every SPARKLINE_EVERY polls.
          stops.push(
            startPolling(() => timed(times.status, () => api.platformStatus()), POLL_MS, alwaysVisible),
          );
          stops.push(
            startPolling(
              async () => {
                const full = polls++ % SPARKLINE_EVERY === 0;
                await timed(full ? times.devicesFull : times.devices, () => api.devices(tenantId, full));
              },
              POLL_MS,
              alwaysVisible,
            ),
          );
        }, Math.random() * POLL_MS),
      );
    }
    const started = Date.now();
    return async () => {
      starters.forEach(clearTimeout);
      stops.forEach((s) => s());
      log(`clients stopped after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      await sleep(2_000); // requests in flight finish
    };
  });

  const requests = times.devices.length + times.devicesFull.length + times.status.length;
  // What the clients added over the idle sandbox in the load window (both windows include the
  // statistics flush), per second of the clients' SECONDS.
  const extraXacts = load.xacts - (baseline.xacts * load.seconds) / baseline.seconds;
  const extraActiveMs = load.activeMs - (baseline.activeMs * load.seconds) / baseline.seconds;
  const extraCpuMs = load.backendCpuMs - (baseline.backendCpuMs * load.seconds) / baseline.seconds;
  return {
    clients: CLIENTS,
    tenants: TENANTS,
    devicesPerTenant: DEVICES,
    seconds: SECONDS,
    pollMs: POLL_MS,
    requests,
    errors,
    firstError,
    requestsPerSecond: requests / SECONDS,
    clientMs: {
      devices: stats(times.devices),
      devicesWithSparkline: stats(times.devicesFull),
      platformStatus: stats(times.status),
    },
    database: {
      transactionsPerSecond: extraXacts / SECONDS,
      activeMsPerRequest: extraActiveMs / requests,
      activeCores: extraActiveMs / 1000 / SECONDS,
      backendCpuCores: extraCpuMs / 1000 / SECONDS,
      backendCpuMsPerRequest: extraCpuMs / requests,
    },
    benchProcessCpuCores: load.processCpuMs / 1000 / SECONDS,
    windows: { baseline, load },
  };
}

// ---------------------------------------------------------------------------------------------

function format(r: {
  bundle: Awaited<ReturnType<typeof measureBundle>>;
  browser: Awaited<ReturnType<typeof measureBrowser>>;
  load: Awaited<ReturnType<typeof measureLoad>>;
}): string {
  const kb = (b: number) => `${(b / 1000).toFixed(1)} kB`;
  const ms = (v: number) => `${Math.round(v)} ms`;
  const verdict = (ok: boolean) => (ok ? 'within' : 'OVER');
  const s = r.browser.signIn.runs;
  const worstSignIn = Math.max(...s.map((x) => x.totalMs));
  const l = r.load;
  const c = l.clientMs;
  return [
    '| Measure | Value | Budget |',
    '| --- | --- | --- |',
    `| initial JS, gzip -9 (${r.bundle.files.length} files; ${kb(r.bundle.rawBytes)} raw) | ${kb(r.bundle.gzipBytes)} | ${kb(r.bundle.budget)}: ${verdict(r.bundle.gzipBytes <= r.bundle.budget)} |`,
    `| cold sign-in: navigation -> device list (${s.length} runs) | ${s.map((x) => ms(x.totalMs)).join(', ')} | ${ms(SIGN_IN_BUDGET_MS)}: ${verdict(worstSignIn <= SIGN_IN_BUDGET_MS)} |`,
    `| of which sign-in click -> device list | ${s.map((x) => ms(x.fromClickMs)).join(', ')} | |`,
    `| live: publish -> on screen (${r.browser.live.n} values) p50 / p95 / max | ${ms(r.browser.live.p50)} / ${ms(r.browser.live.p95)} / ${ms(r.browser.live.max)} | ${ms(LIVE_BUDGET_MS)}: ${verdict(r.browser.live.max <= LIVE_BUDGET_MS)} |`,
    `| of which PUBACK (p50) | ${ms(r.browser.live.pubackP50)} | |`,
    '',
    `${l.clients} open dashboards (devices screen, ${l.tenants} tenants of ${l.devicesPerTenant} devices), ${l.seconds} s, polling every ${l.pollMs} ms:`,
    '',
    '| Measure | Value |',
    '| --- | --- |',
    `| requests/s (errors) | ${l.requestsPerSecond.toFixed(1)} (${l.errors}${l.firstError ? `: ${l.firstError}` : ''}) |`,
    `| database transactions/s over the idle sandbox | ${l.database.transactionsPerSecond.toFixed(1)} |`,
    `| client time, devices p50 / p95 | ${c.devices.p50.toFixed(1)} / ${c.devices.p95.toFixed(1)} ms (${c.devices.n}) |`,
    `| client time, devices with sparkline p50 / p95 | ${c.devicesWithSparkline.p50.toFixed(1)} / ${c.devicesWithSparkline.p95.toFixed(1)} ms (${c.devicesWithSparkline.n}) |`,
    `| client time, platform_status p50 / p95 | ${c.platformStatus.p50.toFixed(1)} / ${c.platformStatus.p95.toFixed(1)} ms (${c.platformStatus.n}) |`,
    `| PostgreSQL active time per request (pg_stat_database) | ${l.database.activeMsPerRequest.toFixed(2)} ms |`,
    `| PostgreSQL active time, cores | ${l.database.activeCores.toFixed(3)} |`,
    `| PostgreSQL backends' CPU (/proc), cores | ${l.database.backendCpuCores.toFixed(3)} (${l.database.backendCpuMsPerRequest.toFixed(2)} ms per request) |`,
    `| this process (stand-in + ${l.clients} clients), cores | ${l.benchProcessCpuCores.toFixed(2)} |`,
  ].join('\n');
}

async function main(): Promise<void> {
  log('building the dashboard (vite)');
  const bundle = await measureBundle();
  log(`initial JS ${bundle.gzipBytes} bytes gzipped; starting the sandbox with the dashboard`);
  const sandbox = await startTestSandbox('bench_dashboard', { dashboard: true });
  let browser: Browser | undefined;
  const stop = async () => {
    await browser?.close().catch(() => undefined);
    await sandbox.stop();
  };
  process.once('SIGINT', () => void stop().finally(() => process.exit(130)));
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS],
    });
    log(`${SIGN_INS} cold sign-ins, ${VALUES} live values`);
    const browserResult = await measureBrowser(sandbox, browser);
    await browser.close();
    browser = undefined;
    const load = await measureLoad(sandbox);
    const result = { bundle, browser: browserResult, load };
    process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : `${format(result)}\n`);
  } finally {
    await stop();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`bench:dashboard: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
