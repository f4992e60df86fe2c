/**
 * Throughput of the bridge alone on this machine: Mosquitto with the role's configuration (users
 * and ACL: the bridge's service user, one device user per publisher), publishers in child processes
 * (the shared benchmark publisher, ./publisher.ts: QoS 1, as fast as the broker takes them or at an
 * offered rate), the bridge bundled with esbuild and run in its own process as in production
 * (./bridge-process.ts), and an ingest stand-in (in this process) that answers at once (it gunzips
 * and parses each batch to build the per-message results).
 *
 *   npx tsx scripts/bench/bridge.ts [messages=200000] [publishers=4] [maxInflight=20] [rate/s=0: max]
 *
 * Prints one JSON line: messages/s from the first message received to the last one accepted by
 * the stand-in, and the bridge process' peak RSS (VmHWM). BENCH_BRIDGE_NODE_FLAGS replaces the
 * production node flags (bridge/node-flags.ts); BRIDGE_* variables override the bridge's settings.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { bundleBridge } from '../../bridge/bundle.js';
import type { IngestBatch } from '../../common/ingest-protocol.js';
import { telemetryTopic } from '../../common/topics.js';
import {
  bridgeMqttEnv,
  freePort,
  startTestBroker,
  TEST_TENANT,
  tempDir,
  UNLIMITED_QUEUE,
  waitFor,
} from '../../test/support/bridge-harness.js';
import { bridgeNodeFlags, startBridgeProcess } from './bridge-process.js';
import { cpuMillis } from './cpu-meter.js';
import { connectDevices, publishAll } from './publisher.js';

const self = fileURLToPath(import.meta.url);

/** The device a publisher publishes as (its MQTT username): one per publisher. */
const benchDevice = (offset: number): string => `dev-${String(offset).padStart(4, '0')}`;

/** One publisher process: `count` messages as one device, numbered from `offset`. */
async function publisher(url: string, count: number, offset: number, rate: number): Promise<void> {
  const device = {
    username: benchDevice(offset),
    password: process.env.BENCH_MQTT_PASSWORD ?? '',
    topic: telemetryTopic(TEST_TENANT, benchDevice(offset)),
  };
  const clients = await connectDevices(url, [device], `bench-pub-${offset}`);
  await publishAll(
    {
      url,
      devices: [device],
      count,
      rate: rate > 0 ? rate : undefined,
      window: 1000,
      payloads: (index) => {
        const i = offset + index;
        return `{"ts":${1767225600000 + i},"id":"m-${i}","metrics":{"temp":${20 + (i % 10)},"hum":${40 + (i % 7)},"door":false}}`;
      },
    },
    clients,
  );
  await Promise.all(clients.map((c) => c.endAsync()));
}

async function main(): Promise<void> {
  const [, , first, second, third, fourth, fifth] = process.argv;
  if (first === '--publisher') {
    await publisher(second as string, Number(third), Number(fourth), Number(fifth));
    return;
  }
  const N = Number(first ?? 200_000);
  const P = Number(second ?? 4);
  const inflight = Number(third ?? 20);
  const totalRate = Number(fourth ?? 0);
  const per = Math.floor(N / P);
  const offsets = [...Array(P).keys()].map((k) => k * per);
  // The broker queues whatever the bridge has not taken yet, as much as that is.
  const broker = await startTestBroker({
    deviceKeys: offsets.map(benchDevice),
    vars: { ...UNLIMITED_QUEUE, mosquitto_max_inflight_messages: inflight },
  });

  let accepted = 0;
  let lastAcceptAt = 0;
  const port = await freePort();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const batch = JSON.parse(gunzipSync(Buffer.concat(chunks)).toString('utf8')) as IngestBatch;
      accepted += batch.messages.length;
      lastAcceptAt = Date.now();
      const results = batch.messages.map((m) => ({ id: m.id, status: 'inserted' }));
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
    });
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));

  // The bridge runs as in production: a bundled file in its own process.
  const dir = tempDir('bench');
  const bundle = await bundleBridge(dir);
  const healthPort = await freePort();
  const nodeFlags = bridgeNodeFlags();
  const bridge = startBridgeProcess(bundle, {
    // BRIDGE_* variables of this process apply, except those the benchmark sets.
    ...(Object.fromEntries(
      Object.entries(process.env).filter(([k, v]) => k.startsWith('BRIDGE_') && v !== undefined),
    ) as Record<string, string>),
    ...bridgeMqttEnv(broker),
    BRIDGE_MQTT_CLIENT_ID: 'bridge-bench',
    BRIDGE_INGEST_URL: `http://127.0.0.1:${port}/api/mqtt_ingest`,
    BRIDGE_INGEST_KEY: 'bench',
    BRIDGE_JOURNAL_DIR: path.join(dir, 'journal'),
    BRIDGE_HEALTH_PORT: String(healthPort),
    BRIDGE_LOG_LEVEL: 'warn',
  });
  const child = bridge.child;
  const metrics = async (): Promise<Record<string, number>> =>
    (await (await fetch(`http://127.0.0.1:${healthPort}/metrics`)).json()) as Record<string, number>;
  await waitFor(async () => (await metrics().catch(() => undefined)) !== undefined, 10_000, 'bridge health');
  await waitFor(async () => (await metrics()).connected as unknown as boolean, 10_000, 'bridge connected');
  await new Promise((r) => setTimeout(r, 300)); // subscribed
  let firstReceiveAt = 0;
  let peak: Record<string, number> = {};
  const sampler = setInterval(() => {
    void metrics().then((m) => {
      if (!firstReceiveAt && (m.received ?? 0) > 0) firstReceiveAt = Date.now();
      if ((m.rssBytes ?? 0) > (peak.rssBytes ?? 0)) peak = m;
    });
  }, 50);

  const t0 = Date.now();
  const children = offsets.map(
    (offset) =>
      new Promise<void>((resolve, reject) => {
        const args = [self, '--publisher', broker.url, String(per), String(offset), String(totalRate / P)];
        const c = spawn(process.execPath, ['--import', 'tsx', ...args], {
          env: { ...process.env, BENCH_MQTT_PASSWORD: broker.devices[benchDevice(offset)]!.password },
          stdio: 'inherit',
        });
        c.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`publisher exited ${code}`))));
      }),
  );
  await Promise.all(children);
  const published = Date.now();

  await waitFor(() => accepted >= per * P, 120_000, 'all accepted', 5);
  clearInterval(sampler);
  const s = await metrics();
  const cpuMs = cpuMillis({ bridge: child.pid! }).bridge!;
  const status = fs.readFileSync(`/proc/${child.pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const anon = Number(/RssAnon:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const seconds = (lastAcceptAt - (firstReceiveAt || t0)) / 1000;
  process.stdout.write(
    `${JSON.stringify({
      messages: per * P,
      publishers: P,
      brokerMaxInflight: inflight,
      offeredRate: totalRate || 'max',
      nodeFlags: nodeFlags.join(' '),
      seconds: Number(seconds.toFixed(2)),
      msgPerSec: Math.round((per * P) / seconds),
      bridgeCpuMsPer1k: Math.round((cpuMs * 10_000) / (per * P)) / 10,
      publishSeconds: Number(((published - t0) / 1000).toFixed(2)),
      bridgePeakRssMB: Math.round(hwm),
      bridgeRssAfterMB: Math.round(rss),
      bridgeRssAnonAfterMB: Math.round(anon),
      batches: s.batches,
      avgBatch: Math.round((s.forwarded ?? 0) / Math.max(1, s.batches ?? 1)),
      received: s.received,
      forwarded: s.forwarded,
      atPeak: {
        rssMB: Math.round((peak.rssBytes ?? 0) / 1048576),
        heapUsedMB: Math.round((peak.heapUsedBytes ?? 0) / 1048576),
        externalMB: Math.round((peak.externalBytes ?? 0) / 1048576),
        pending: peak.pending,
        spilled: peak.spilled,
      },
    })}\n`,
  );
  await bridge.stop();
  server.close();
  await broker.mosquitto.stop();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
