/**
 * `npm run bench:ingest [-- --json]`: the ingest pipeline against its baselines, in one run, on the
 * same machine, broker, database and messages:
 *   pipeline  N messages from M devices, QoS 1: Mosquitto -> bridge (own process) -> mqtt_ingest
 *             (local Functions host, own process) -> Postgres, until every row is committed;
 *   rated     the pipeline at a fixed offered rate, for publish -> commit p50/p99;
 *   broker    the same messages pub -> sub through the same broker, QoS 1, no processing;
 *   copy      COPY of the same rows into the same table;
 *   naive     one HTTP call and one INSERT per message, PUBACK after it (the runbook's first design).
 * Options: --messages N (30000) --devices M (20) --rate R (2000) --rated-seconds S (10)
 *          --linger-ms L (20: the bridge's linger; the production budget is 1000)
 *          --naive-messages K (2000) --warmup W (5000) --json
 *          --rounds R (3)
 * Broker and pipeline rounds alternate R times, each pipeline round with a new bridge warmed up
 * with W messages first (the broker path is warmed up once), so both are compared with warm
 * JIT-compiled code and on the same machine: this 2-core VM's speed drifts by tens of percent
 * from minute to minute. The median round of each is reported; every round, and each pipeline
 * round's ratio to the broker round before it, are in the JSON under `rounds`.
 *          --profile-pipeline FILE  CPU profile (.cpuprofile) of this process during the pipeline phase
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mqtt from 'mqtt';
import pg from 'pg';
import { freePort } from '../../test/support/free-port.js';
import { TELEMETRY_FILTER } from '../../common/topics.js';
import { applyMigrations } from '../../supabase/migrate.js';
import { LatencyRecorder } from '../lib/latency.js';
import { provideBroker } from '../sandbox/broker.js';
import { copyBaseline, type CopyRow } from './baseline-copy.js';
import { cpuDelta, cpuMillis, pidsByName, type PidSource } from './cpu-meter.js';
import { startNaiveBaseline } from './baseline-naive.js';
import { bundleBridge } from '../../bridge/bundle.js';
import { seedBenchTenant } from './bench-tenant.js';
import { startBridgeProcess, type BridgeProcess } from './bridge-process.js';
import { startFunctionsProcess } from './functions-process.js';
import { connectDevices, publishAll } from './publisher.js';
import { positiveIntArg } from '../lib/positive-int-arg.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    messages: { type: 'string', default: '30000' },
    devices: { type: 'string', default: '20' },
    rate: { type: 'string', default: '2000' },
    'rated-seconds': { type: 'string', default: '10' },
    'linger-ms': { type: 'string', default: '20' },
    'naive-messages': { type: 'string', default: '2000' },
    warmup: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    'profile-pipeline': { type: 'string' },
  },
});
const N = positiveIntArg(args, 'messages');
const M = positiveIntArg(args, 'devices');
const RATE = positiveIntArg(args, 'rate');
const RATED_SECONDS = positiveIntArg(args, 'rated-seconds');
// The bridge's linger. Not the production budget (1,000 ms): a round is a burst that ends with a
// partial batch, which the budget holds back for up to a second of waiting, not work; bench:cost
// measures the budget (docs/benchmark.md).
const LINGER_MS = Number(args['linger-ms']);
if (!Number.isInteger(LINGER_MS) || LINGER_MS < 0 || LINGER_MS > 60_000) {
  process.stderr.write('--linger-ms must be a whole number of milliseconds, 0 to 60000\n');
  process.exit(2);
}
const NAIVE_N = positiveIntArg(args, 'naive-messages');
const WARMUP = positiveIntArg(args, 'warmup');
const ROUNDS = positiveIntArg(args, 'rounds');
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DIR = join('.ops', 'bench');

const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

interface Round {
  rate: number;
  cpu: Record<string, number>;
}

/** The round with the median rate (the lower middle one for an even count). */
function median(rounds: Round[]): Round {
  const sorted = [...rounds].sort((a, b) => a.rate - b.rate);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

async function startProfiler(): Promise<{ stop(): Promise<unknown> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  return {
    async stop() {
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      return profile;
    },
  };
}

function perThousand(cpu: Record<string, number>, messages: number): Record<string, number> {
  return Object.fromEntries(
    Object.entries(cpu).map(([k, v]) => [k, Math.round((v * 1000 * 10) / messages) / 10]),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(
  what: string,
  done: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(5);
  }
  return Date.now();
}

async function main(): Promise<void> {
  await rm(DIR, { recursive: true, force: true });
  await mkdir(DIR, { recursive: true });
  const cleanup: (() => Promise<void>)[] = [];
  try {
    // Database: a fresh one on the local server, migrated like production.
    const dbName = 'bench_ingest';
    const admin = new pg.Client({ connectionString: ADMIN_URL });
    await admin.connect().catch((e: Error) => {
      throw new Error(
        `bench:ingest needs PostgreSQL at ${ADMIN_URL} (set BENCH_DATABASE_ADMIN_URL): ${e.message}`,
      );
    });
    await admin.query(`drop database if exists ${dbName} with (force)`);
    await admin.query(`create database ${dbName}`);
    await admin.end();
    const dbUrl = ADMIN_URL.replace(/\/[^/]*$/, `/${dbName}`);
    progress('applying migrations');
    await applyMigrations(dbUrl, { shim: true });
    const pool = new pg.Pool({ connectionString: dbUrl, max: 6 });
    pool.on('error', () => undefined);
    cleanup.push(() => pool.end());

    const { tenantId, devices, users, bridgeUser } = await seedBenchTenant(pool, M);

    const broker = await provideBroker({ users, dir: join(DIR, 'broker'), log: progress, requireReal: true });
    cleanup.push(() => broker.stop());
    const publishers = await connectDevices(broker.url, devices, 'bench-pub');
    cleanup.push(async () => void (await Promise.all(publishers.map((c) => c.endAsync()))));

    let run = 0;
    const payloadFor = (tag: string) => (i: number, now: number) =>
      JSON.stringify({
        ts: now,
        id: `${tag}-${i}`,
        metrics: { temperature: 20 + (i % 50) / 10, humidity: 40 + (i % 30), battery: 90 },
      });

    const groups: Record<string, PidSource> = {
      bench: process.pid,
      broker: broker.pid!,
      postgres: () => pidsByName('postgres'),
    };

    // The Functions host runs throughout (its own process, as in production).
    const latency = new LatencyRecorder();
    let committed = 0;
    const functionKey = randomBytes(24).toString('base64url');
    const host = await startFunctionsProcess({
      databaseUrl: dbUrl,
      functionKey,
      onCommit: ({ at, publishedAt }) => {
        committed += publishedAt.length;
        latency.record(publishedAt, at);
      },
      onError: progress,
    });
    cleanup.push(() => host.stop());
    groups.functions = host.pid;

    // The baseline's subscriber: connected for the broker rounds only.
    let subReceived = 0;
    const connectSubscriber = async () => {
      const sub = await mqtt.connectAsync(broker.url, {
        username: bridgeUser.username,
        password: bridgeUser.password,
        clientId: 'bench-sub',
        clean: true,
      });
      sub.on('message', () => (subReceived += 1));
      await sub.subscribeAsync(TELEMETRY_FILTER, { qos: 1 });
      return sub;
    };

    // A bridge process per pipeline round, with a session that ends with its connection (expiry
    // 0): nothing is queued for it while a broker round runs, so the two kinds of round can
    // alternate and see the same machine (this VM's speed drifts from minute to minute).
    const bundle = await bundleBridge(DIR);
    let peakRssMb = 0;
    const startBridge = async (round: number) => {
      const healthPort = await freePort();
      const bridge = startBridgeProcess(bundle, {
        BRIDGE_MQTT_URL: broker.url,
        BRIDGE_MQTT_USERNAME: bridgeUser.username,
        BRIDGE_MQTT_PASSWORD: bridgeUser.password,
        BRIDGE_MQTT_CLIENT_ID: `bridge-bench-${round}`, // reserved prefix (docs/broker.md)
        BRIDGE_MQTT_SESSION_EXPIRY_S: '0',
        BRIDGE_INGEST_URL: host.ingestUrl,
        BRIDGE_INGEST_KEY: functionKey,
        BRIDGE_JOURNAL_DIR: join(DIR, `journal-${round}`),
        BRIDGE_HEALTH_PORT: String(healthPort),
        BRIDGE_LOG_LEVEL: 'warn',
        BRIDGE_LINGER_MS: String(LINGER_MS),
        // BRIDGE_* variables of this process override the above (tuning experiments).
        ...(Object.fromEntries(
          Object.entries(process.env).filter(([k, v]) => k.startsWith('BRIDGE_') && v !== undefined),
        ) as Record<string, string>),
      });
      cleanup.push(() => bridge.stop());
      await waitFor(
        'the bridge to subscribe',
        async () => {
          const res = await fetch(`http://127.0.0.1:${healthPort}/metrics`).catch(() => null);
          return res?.ok === true && ((await res.json()) as { connected?: boolean }).connected === true;
        },
        30_000,
      );
      await sleep(300);
      return bridge;
    };
    const stopBridge = async (bridge: BridgeProcess) => {
      peakRssMb = Math.max(peakRssMb, await bridge.peakRssMb());
      await bridge.stop();
    };

    progress(`broker warm-up: ${WARMUP} messages`);
    {
      const sub = await connectSubscriber();
      await publishAll(
        { url: broker.url, devices, payloads: payloadFor(`bw${run++}`), count: WARMUP },
        publishers,
      );
      await waitFor('the broker warm-up', () => subReceived >= WARMUP, 60_000);
      await sub.endAsync();
    }

    progress(`${ROUNDS} rounds of ${N} messages from ${M} devices: broker baseline, then pipeline`);
    const profiler = args['profile-pipeline'] ? await startProfiler() : undefined;
    const brokerRounds: Round[] = [];
    const pipelineRounds: Round[] = [];
    let pipelinePublished = 0;
    let tagP = '';
    let p: Awaited<ReturnType<typeof publishAll>> | undefined;
    let bridge: BridgeProcess | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      // Broker baseline: the same messages pub -> sub, QoS 1, no processing.
      subReceived = 0;
      const sub = await connectSubscriber();
      const brokerGroups = { bench: groups.bench!, broker: groups.broker!, postgres: groups.postgres! };
      const brokerCpu0 = cpuMillis(brokerGroups);
      const b = await publishAll(
        { url: broker.url, devices, payloads: payloadFor(`b${run++}`), count: N },
        publishers,
      );
      const brokerEnd = await waitFor(
        'the subscriber to receive every message',
        () => subReceived >= N,
        120_000,
      );
      brokerRounds.push({
        rate: N / ((brokerEnd - b.firstAt) / 1000),
        cpu: perThousand(cpuDelta(brokerCpu0, cpuMillis(brokerGroups)), N),
      });
      await sub.endAsync();

      // Pipeline: a new bridge, warmed up, then the same number of messages until all committed.
      bridge = await startBridge(r);
      groups.bridge = bridge.child.pid!;
      committed = 0;
      await publishAll(
        { url: broker.url, devices, payloads: payloadFor(`pw${run++}`), count: WARMUP },
        publishers,
      );
      await waitFor('the pipeline warm-up to be committed', () => committed >= WARMUP, 120_000);
      pipelinePublished += WARMUP;
      committed = 0;
      latency.reset();
      const tag = `p${run++}`;
      const cpu0 = cpuMillis(groups);
      const round = await publishAll(
        { url: broker.url, devices, payloads: payloadFor(tag), count: N },
        publishers,
      );
      const end = await waitFor('every message to be committed', () => committed >= N, 300_000);
      pipelineRounds.push({
        rate: N / ((end - round.firstAt) / 1000),
        cpu: perThousand(cpuDelta(cpu0, cpuMillis(groups)), N),
      });
      pipelinePublished += N;
      if (r === 0) [tagP, p] = [tag, round];
      progress(
        `round ${r + 1}: broker ${Math.round(brokerRounds[r]!.rate)} msg/s, pipeline ${Math.round(pipelineRounds[r]!.rate)} msg/s`,
      );
      if (r < ROUNDS - 1) await stopBridge(bridge); // the last one also serves the rated run
    }
    if (profiler) await writeFile(args['profile-pipeline']!, JSON.stringify(await profiler.stop()));
    const { rate: brokerRate, cpu: brokerCpu } = median(brokerRounds);
    const { rate: pipelineRate, cpu: pipelineCpu } = median(pipelineRounds);
    const roundRatios = pipelineRounds.map((pr, r) => pr.rate / brokerRounds[r]!.rate);
    const throughputP99 = latency.percentile(99);

    progress(`rated: ${RATE} msg/s offered for ${RATED_SECONDS} s`);
    latency.reset();
    const ratedCount = RATE * RATED_SECONDS;
    const before = committed;
    await publishAll(
      { url: broker.url, devices, payloads: payloadFor(`r${run++}`), count: ratedCount, rate: RATE },
      publishers,
    );
    await waitFor('the rated run to be committed', () => committed - before >= ratedCount, 120_000);
    const p50 = latency.percentile(50);
    const p99 = latency.percentile(99);
    await stopBridge(bridge!);
    const rssMb = peakRssMb;

    const published = pipelinePublished + ratedCount;
    const counts = await pool.query<{ total: number; distinct: number }>(
      `select count(*)::int as total, count(distinct (device_id, msg_key))::int as distinct from public.telemetry`,
    );
    const { total, distinct } = counts.rows[0]!;

    // 3. Baseline database: COPY of the same rows.
    progress(`copy baseline: ${N} rows`);
    const rows: CopyRow[] = Array.from({ length: N }, (_, i) => {
      const d = devices[i % M]!;
      const doc = JSON.parse(payloadFor(tagP)(i, p!.publishTimes[i]!)) as { ts: number; metrics: unknown };
      return {
        tenantId,
        deviceId: d.id,
        ts: new Date(doc.ts),
        key: `id:${tagP}-${i}`,
        metrics: JSON.stringify(doc.metrics),
      };
    });
    const copy = await copyBaseline(dbUrl, rows);
    const copyRate = copy.rows / copy.seconds;

    // 4. Baseline naive: one HTTP call + one INSERT per message.
    progress(`naive baseline: ${NAIVE_N} messages`);
    await pool.query('truncate public.telemetry');
    const naive = await startNaiveBaseline({
      mqttUrl: broker.url,
      username: bridgeUser.username,
      password: bridgeUser.password,
      databaseUrl: dbUrl,
      devices: new Map(devices.map((d) => [d.username, { id: d.id, tenantId }])),
    });
    const n = await publishAll(
      { url: broker.url, devices, payloads: payloadFor(`n${run++}`), count: NAIVE_N },
      publishers,
    );
    const naiveEnd = await waitFor(
      'the naive path to insert every message',
      () => naive.received() >= NAIVE_N,
      600_000,
    );
    const naiveRate = NAIVE_N / ((naiveEnd - n.firstAt) / 1000);
    await naive.stop();

    const result = {
      pipeline_msgs_per_s: Math.round(pipelineRate),
      broker_msgs_per_s: Math.round(brokerRate),
      copy_rows_per_s: Math.round(copyRate),
      naive_msgs_per_s: Math.round(naiveRate),
      p50_ms: Math.round(p50),
      p99_ms: Math.round(p99),
      bridge_peak_rss_mb: Math.round(rssMb * 10) / 10,
      lost: published - distinct,
      duplicated: total - distinct,
      messages: N,
      devices: M,
      rated_msgs_per_s: RATE,
      linger_ms: Number(process.env.BRIDGE_LINGER_MS ?? LINGER_MS),
      throughput_run_p99_ms: Math.round(throughputP99),
      services: { broker: broker.kind, database: 'real' },
      // CPU milliseconds per 1,000 messages by process group ('bench' holds the publishers and, in
      // the broker baseline, the subscriber): where the two cores went in each phase.
      cpu_ms_per_1k: { broker_baseline: brokerCpu, pipeline: pipelineCpu },
      rounds: {
        broker_msgs_per_s: brokerRounds.map((r) => Math.round(r.rate)),
        pipeline_msgs_per_s: pipelineRounds.map((r) => Math.round(r.rate)),
        // Each pipeline round over the broker round just before it (the two saw the same machine).
        ratio: roundRatios.map((x) => Math.round(x * 100) / 100),
      },
    };
    if (args.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const check = (ok: boolean) => (ok ? 'ok' : 'MISSED');
      const rows = [
        [
          'pipeline',
          `${result.pipeline_msgs_per_s} msg/s`,
          `>= 0.5 x broker (${Math.round(brokerRate / 2)}) and >= 10 x naive (${Math.round(naiveRate * 10)})`,
          check(pipelineRate >= brokerRate / 2 && pipelineRate >= 10 * naiveRate),
        ],
        ['broker baseline', `${result.broker_msgs_per_s} msg/s`, '', ''],
        ['copy baseline', `${result.copy_rows_per_s} rows/s`, '', ''],
        ['naive baseline', `${result.naive_msgs_per_s} msg/s`, '', ''],
        [
          `latency at ${RATE} msg/s`,
          `p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms`,
          'p99 <= 500 ms',
          check(p99 <= 500),
        ],
        ['bridge peak RSS', `${result.bridge_peak_rss_mb} MB`, '<= 100 MB', check(rssMb <= 100)],
        [
          'lost / duplicated',
          `${result.lost} / ${result.duplicated}`,
          '0 / 0',
          check(result.lost === 0 && result.duplicated === 0),
        ],
      ];
      process.stdout.write(
        `\nbench:ingest (${N} messages x ${ROUNDS} rounds, median round; ${M} devices, QoS 1)\n`,
      );
      for (const [name, value, target, verdict] of rows) {
        process.stdout.write(`  ${name!.padEnd(24)} ${value!.padEnd(28)} ${target!.padEnd(52)} ${verdict}\n`);
      }
      const cpuLine = (c: Record<string, number>) =>
        Object.entries(c)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ');
      process.stdout.write(
        `  rounds (pipeline / broker before it): ${roundRatios.map((x) => x.toFixed(2)).join(', ')}\n`,
      );
      process.stdout.write(`  CPU ms per 1k messages: broker baseline: ${cpuLine(brokerCpu)}\n`);
      process.stdout.write(`                          pipeline:        ${cpuLine(pipelineCpu)}\n`);
    }
  } finally {
    for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    process.stderr.write(`[bench] failed: ${error.message}\n`);
    process.exit(1);
  },
);
