/**
 * `npm run bench:cost [-- --json]`: what the pipeline consumes per million messages at offered
 * rates of 1, 10, 100 and 1,000 msg/s spread over devices, each rate with the bridge's old linger
 * (20 ms) and the latency budget (1,000 ms): Mosquitto (the configuration we ship) -> bridge (the
 * esbuild bundle in its own process) -> mqtt_ingest (the local Functions host in its own process,
 * instrumented: ./functions-process.ts with onExecution) -> a TCP byte counter (./cost-byte-proxy.ts) ->
 * PostgreSQL with the migrations. Per row: function executions, execution seconds, GB-seconds on
 * Flex and Linux Consumption (./functions-cost.ts, the rules of ops/cost/model.ts), database bytes
 * (./cost-database-size.ts), egress bytes, publish -> commit p50/p99, and the model's monthly
 * Functions cost at 100 devices x 1 msg / 10 s with the row's measured batching.
 *
 * Options: --seconds S (40) window per row   --slices K (4) for the spread (min-max over slices)
 *          --rates 1,10,100,1000   --lingers 20,1000   --max-devices D (1000)   --env prod   --json
 * Devices per rate: min(D, rate x 10), each publishing every devices / rate seconds.
 */
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { MqttClient } from 'mqtt';
import pg from 'pg';
import { bundleBridge } from '../../bridge/bundle.js';
import { loadEnvironmentConfig } from '../../ops/config/environment-config.js';
import { platformOf } from '../../ops/cost/load.js';
import { DEFAULT_ASSUMPTIONS } from '../../ops/cost/assumptions.js';
import { consumptionMemoryGb } from '../../ops/cost/model.js';
import { applyMigrations } from '../../supabase/migrate.js';
import { freePort } from '../../test/support/free-port.js';
import { positiveIntArg } from '../lib/positive-int-arg.js';
import { provideBroker } from '../sandbox/broker.js';
import { seedBenchTenant } from './bench-tenant.js';
import { startBridgeProcess } from './bridge-process.js';
import { startByteProxy, type ByteCounts } from './cost-byte-proxy.js';
import { databaseSize, sizeGrowth } from './cost-database-size.js';
import { type CostResult, type CostRow, renderCostTable } from './cost-report.js';
import {
  type Execution,
  functionsUsage,
  monthlyFunctionsCost,
  perMillion,
  range,
  REFERENCE_DEVICES,
  sliceExecutions,
} from './functions-cost.js';
import { startFunctionsProcess } from './functions-process.js';
import { connectDevices, percentile, publishAll } from './publisher.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '40' },
    slices: { type: 'string', default: '4' },
    rates: { type: 'string', default: '1,10,100,1000' },
    lingers: { type: 'string', default: '20,1000' },
    'max-devices': { type: 'string', default: '1000' },
    env: { type: 'string', default: 'prod' },
  },
});
const SECONDS = positiveIntArg(args, 'seconds');
const SLICES = positiveIntArg(args, 'slices');
const MAX_DEVICES = positiveIntArg(args, 'max-devices');
const list = (name: 'rates' | 'lingers') => {
  const values = args[name]!.split(',').map(Number);
  if (values.some((v) => !Number.isInteger(v) || v < (name === 'rates' ? 1 : 0))) {
    process.stderr.write(`--${name} must be a comma-separated list of integers, got ${args[name]}\n`);
    process.exit(2);
  }
  return values;
};
const RATES = list('rates');
const LINGERS = list('lingers');
/** Seconds each row's bridge is warmed up at the row's rate before its window. */
const WARMUP_SECONDS = 2;
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DIR = join('.ops', 'bench-cost');
const DB_NAME = `bench_cost_${randomBytes(4).toString('hex')}`;

const progress = (line: string) => process.stderr.write(`[bench:cost] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(5);
  }
  return true;
}

/** The devices of a rate: ten seconds between two messages of a device, at most maxDevices. */
function devicesFor(rate: number, maxDevices: number): number {
  return Math.max(1, Math.min(maxDevices, rate * 10));
}

function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function main(): Promise<void> {
  const started = Date.now();
  const env = loadEnvironmentConfig(args.env!);
  if (!env.prices)
    throw new Error(`runbook/environments/${args.env}.yaml has no prices section: bench:cost prices with it`);
  const prices = env.prices;
  const platform = platformOf(env);
  const memory = { flexInstanceMemoryMb: platform.flexInstanceMemoryMb, assumptions: DEFAULT_ASSUMPTIONS };
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  const cleanup: (() => Promise<void>)[] = [];
  let created = false;
  const dropDatabase = async () => {
    if (!created) return;
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect();
    await admin.query(`drop database if exists ${DB_NAME} with (force)`).finally(() => admin.end());
  };
  const runCleanup = async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
    cleanup.length = 0;
    await dropDatabase().catch((e: Error) => progress(`could not drop ${DB_NAME}: ${e.message}`));
    await rm(DIR, { recursive: true, force: true });
  };
  process.once('SIGINT', () => {
    progress('interrupted: cleaning up');
    void runCleanup().finally(() => process.exit(130));
  });
  try {
    // Database: a fresh one on the local server, migrated like production.
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect().catch((e: Error) => {
      throw new Error(
        `bench:cost needs PostgreSQL at ${ADMIN_URL} (set BENCH_DATABASE_ADMIN_URL): ${e.message}`,
      );
    });
    await admin.query(`create database ${DB_NAME}`);
    await admin.end();
    created = true;
    const dbUrl = withDb(ADMIN_URL, DB_NAME);
    progress(`database ${DB_NAME}: applying migrations`);
    await applyMigrations(dbUrl, { shim: true });
    const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
    pool.on('error', () => undefined);
    cleanup.push(() => pool.end());

    const deviceCount = Math.max(...RATES.map((r) => devicesFor(r, MAX_DEVICES)));
    progress(`${deviceCount} devices`);
    const { devices, users, bridgeUser } = await seedBenchTenant(pool, deviceCount);
    const broker = await provideBroker({ users, dir: join(DIR, 'broker'), log: progress, requireReal: true });
    cleanup.push(() => broker.stop());

    // The Functions host reaches PostgreSQL through the byte counter.
    const pgTarget = new URL(ADMIN_URL);
    const proxy = await startByteProxy({ host: pgTarget.hostname, port: Number(pgTarget.port || 5432) });
    cleanup.push(() => proxy.close());
    const proxied = new URL(dbUrl);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);

    let recording = false;
    let executions: (Execution & { status: number })[] = [];
    let samples: [publishedAt: number, latencyMs: number][] = [];
    let committed = 0;
    const functionKey = randomBytes(24).toString('base64url');
    const host = await startFunctionsProcess({
      databaseUrl: proxied.toString(),
      functionKey,
      onExecution: (e) => {
        if (recording) executions.push(e);
      },
      onCommit: ({ at, publishedAt }) => {
        committed += publishedAt.length;
        if (recording) for (const p of publishedAt) samples.push([p, at - p]);
      },
      onError: progress,
    });
    cleanup.push(() => host.stop());

    progress(`connecting ${deviceCount} device clients`);
    const clients: MqttClient[] = [];
    for (let i = 0; i < deviceCount; i += 100)
      clients.push(...(await connectDevices(broker.url, devices.slice(i, i + 100), `bench-pub-${i}`)));
    cleanup.push(async () => void (await Promise.all(clients.map((c) => c.endAsync()))));

    const bundle = await bundleBridge(DIR);
    let bridgeRound = 0;
    const startBridge = async (lingerMs: number) => {
      const round = bridgeRound++;
      const healthPort = await freePort();
      const bridge = startBridgeProcess(bundle, {
        // BRIDGE_* variables of this process apply, except those the benchmark sets.
        ...(Object.fromEntries(
          Object.entries(process.env).filter(([k, v]) => k.startsWith('BRIDGE_') && v !== undefined),
        ) as Record<string, string>),
        BRIDGE_MQTT_URL: broker.url,
        BRIDGE_MQTT_USERNAME: bridgeUser.username,
        BRIDGE_MQTT_PASSWORD: bridgeUser.password,
        BRIDGE_MQTT_CLIENT_ID: `bridge-bench-cost-${round}`, // reserved prefix (docs/broker.md)
        BRIDGE_MQTT_SESSION_EXPIRY_S: '0',
        BRIDGE_INGEST_URL: host.ingestUrl,
        BRIDGE_INGEST_KEY: functionKey,
        BRIDGE_JOURNAL_DIR: join(DIR, `journal-${round}`),
        BRIDGE_HEALTH_PORT: String(healthPort),
        BRIDGE_LOG_LEVEL: 'warn',
        BRIDGE_LINGER_MS: String(lingerMs),
      });
      const deadline = Date.now() + 30_000;
      for (;;) {
        const res = await fetch(`http://127.0.0.1:${healthPort}/metrics`).catch(() => null);
        if (res?.ok && ((await res.json()) as { connected?: boolean }).connected === true) break;
        if (Date.now() > deadline) throw new Error('the bridge did not connect within 30 s');
        await sleep(50);
      }
      await sleep(300); // subscribed
      return bridge;
    };

    let run = 0;
    let published = 0;
    const payloadFor = (tag: string) => (i: number, now: number) =>
      JSON.stringify({
        ts: now,
        id: `${tag}-${i}`,
        metrics: { temperature: 20 + (i % 50) / 10, humidity: 40 + (i % 30), battery: 90 },
      });
    const publish = async (count: number, deviceN: number, rate?: number) => {
      const before = committed;
      const result = await publishAll(
        {
          url: broker.url,
          devices: devices.slice(0, deviceN),
          payloads: payloadFor(`c${run++}`),
          count,
          ...(rate ? { rate } : {}),
        },
        clients.slice(0, deviceN),
      );
      published += count;
      return { before, result };
    };

    // Every device once, so each has its rollup and latest rows for this hour before any window:
    // the windows then measure what a running platform adds per message.
    {
      progress(`warm-up: one message from each of the ${deviceCount} devices`);
      const bridge = await startBridge(20);
      const { before } = await publish(deviceCount, deviceCount);
      await waitFor('the warm-up to be committed', () => committed - before >= deviceCount, 120_000);
      await bridge.stop();
    }

    const rows: CostRow[] = [];
    for (const rate of RATES) {
      const deviceN = devicesFor(rate, MAX_DEVICES);
      for (const lingerMs of LINGERS) {
        const bridge = await startBridge(lingerMs);
        cleanup.push(() => bridge.stop());
        const warm = Math.max(1, Math.round(rate * WARMUP_SECONDS));
        const w = await publish(warm, deviceN, rate);
        await waitFor('the row warm-up to be committed', () => committed - w.before >= warm, 120_000);
        await sleep(lingerMs + 200); // the warm-up's last execution has answered

        const count = rate * SECONDS;
        progress(
          `${rate} msg/s (${deviceN} devices, one message each per ${deviceN / rate} s), linger ${lingerMs} ms: ${count} messages in ${SECONDS} s`,
        );
        executions = [];
        samples = [];
        const sizeBefore = await databaseSize(pool);
        const bytes: ByteCounts[] = [proxy.counts()];
        const t0 = Date.now();
        recording = true;
        const sliceMs = (SECONDS * 1000) / SLICES;
        const timers = Array.from({ length: SLICES - 1 }, (_, k) =>
          setTimeout(() => bytes.push(proxy.counts()), t0 + (k + 1) * sliceMs - Date.now()),
        );
        const { before } = await publish(count, deviceN, rate);
        await waitFor(
          'every message of the window to be committed',
          () => committed - before >= count,
          120_000,
        );
        // The last execution's report follows its commit report.
        await waitFor(
          "the window's executions to be reported",
          () => executions.reduce((a, e) => a + e.messages, 0) >= count,
          10_000,
        ).catch(() =>
          progress('not every execution reported its messages: slices use message counts as reported'),
        );
        await sleep(50);
        recording = false;
        const end = Date.now();
        for (const t of timers) clearTimeout(t);
        while (bytes.length < SLICES) bytes.push(proxy.counts());
        bytes.push(proxy.counts());
        const sizeAfter = await databaseSize(pool);
        await bridge.stop();
        cleanup.pop();

        const wallSeconds = Math.max(SECONDS, (end - t0) / 1000);
        const usage = functionsUsage(executions, wallSeconds, prices, memory);
        const growth = sizeGrowth(sizeBefore, sizeAfter);
        const egress = bytes[bytes.length - 1]!.toServer - bytes[0]!.toServer;
        const back = bytes[bytes.length - 1]!.toClient - bytes[0]!.toClient;
        const slices = sliceExecutions(executions, t0, SECONDS * 1000, SLICES);
        const sliceMessages = slices.map((s) => s.reduce((a, e) => a + e.messages, 0));
        // Slice k's bytes: from its start to the next slice's; the last one to the end.
        const sliceEgress = slices.map((_, k) => {
          const to = k === SLICES - 1 ? bytes[bytes.length - 1]! : bytes[k + 1]!;
          return perMillion(to.toServer - bytes[k]!.toServer, sliceMessages[k]!);
        });
        const sliceP99 = Array.from({ length: SLICES }, (_, k) => {
          const lat = samples
            .filter(([p]) => Math.min(SLICES - 1, Math.floor((p - t0) / sliceMs)) === k)
            .map(([, l]) => l)
            .sort((a, b) => a - b);
          return percentile(lat, 99);
        });
        const latencies = samples.map(([, l]) => l).sort((a, b) => a - b);
        const ingestExecutions = executions.filter((e) => e.messages > 0);
        const messagesPerExecution = count / Math.max(1, usage.executions);
        const batching = {
          messagesPerExecution: Math.max(1, count / Math.max(1, ingestExecutions.length)),
          executionMs: usage.meanExecutionMs,
        };
        const monthly = monthlyFunctionsCost(batching, prices, platform, DEFAULT_ASSUMPTIONS);
        const row: CostRow = {
          rate,
          devices: deviceN,
          deviceIntervalSeconds: deviceN / rate,
          lingerMs,
          windowSeconds: SECONDS,
          messages: count,
          executions: usage.executions,
          failedExecutions: executions.filter((e) => e.status !== 200).length,
          executionsPerMillion: perMillion(usage.executions, count),
          messagesPerExecution,
          executionSecondsPerMillion: perMillion(usage.executionSeconds, count),
          meanExecutionMs: usage.meanExecutionMs,
          flexGbSecondsPerMillion: perMillion(usage.flexGbSeconds, count),
          linuxGbSecondsPerMillion: perMillion(usage.linuxGbSeconds, count),
          databaseBytesPerMillion: perMillion(growth.total, count),
          databaseBytes: growth,
          egressBytesPerMillion: perMillion(egress, count),
          returnBytesPerMillion: perMillion(back, count),
          p50Ms: percentile(latencies, 50),
          p99Ms: percentile(latencies, 99),
          latencySamples: latencies.length,
          spread: {
            slices: SLICES,
            executionsPerMillion: range(slices.map((s, k) => perMillion(s.length, sliceMessages[k]!))),
            messagesPerExecution: range(
              slices.map((s, k) => (s.length ? sliceMessages[k]! / s.length : NaN)),
            ),
            egressBytesPerMillion: range(sliceEgress),
            p99Ms: range(sliceP99),
          },
          usage,
          monthlyFunctions: {
            flex: monthly['flex-consumption'].monthly,
            linux: monthly['linux-consumption'].monthly,
            ...batching,
          },
          crossedHour: Math.floor(t0 / 3_600_000) !== Math.floor(end / 3_600_000),
        };
        rows.push(row);
        progress(
          `  ${usage.executions} executions (${row.messagesPerExecution.toFixed(1)} msgs each, ${usage.meanExecutionMs.toFixed(1)} ms), ` +
            `p50 ${Math.round(row.p50Ms)} ms, p99 ${Math.round(row.p99Ms)} ms, DB +${growth.total} B, egress ${egress} B`,
        );
      }
    }

    const counts = await pool.query<{ total: number; distinct: number }>(
      'select count(*)::int as total, count(distinct (device_id, msg_key))::int as distinct from public.telemetry',
    );
    const { total, distinct } = counts.rows[0]!;
    const cpu = cpus();
    const result: CostResult = {
      date: new Date().toISOString(),
      machine: {
        cpus: cpu.length,
        cpuModel: cpu[0]?.model.trim() ?? 'unknown',
        memoryGb: Math.round(totalmem() / 1e9),
        node: process.versions.node,
      },
      environment: args.env!,
      prices: {
        currency: prices.currency,
        region: prices.region,
        readOn: prices.readOn,
        verified: prices.verified,
      },
      flexInstanceMemoryMb: platform.flexInstanceMemoryMb,
      linuxBilledMemoryMb: consumptionMemoryGb(DEFAULT_ASSUMPTIONS) * 1024,
      windowSeconds: SECONDS,
      slices: SLICES,
      referenceLoad: `${REFERENCE_DEVICES} devices x 1 msg / 10 s`,
      rows,
      published,
      lost: published - distinct,
      duplicated: total - distinct,
      functionsPeakRssMb: host.peakRssMb(),
      seconds: (Date.now() - started) / 1000,
    };
    process.stdout.write(args.json ? `${JSON.stringify(result)}\n` : renderCostTable(result));
  } finally {
    await runCleanup();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`[bench:cost] failed: ${error.stack ?? error.message}\n`);
    process.exit(1);
  },
);
