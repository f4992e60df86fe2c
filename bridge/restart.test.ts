/**
 * Crashes and restarts: the bridge SIGKILLed mid-stream (run as its own process through
 * bridge/main.ts, exactly as in production) and the broker restarted mid-stream.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mosquittoForTests } from '../test/support/mosquitto-process.js';
import { startBridge } from './bridge.js';
import { createMemoryLogger } from './log.js';
import {
  bridgeMqttEnv,
  bridgeMqttOptions,
  connectPublisher,
  distinctPayloads,
  startIngestStandIn,
  startTestBroker,
  tempDir,
  TEST_LINGER_MS,
  testPayload,
  UNLIMITED_QUEUE,
  waitFor,
  type IngestStandIn,
} from '../test/support/bridge-harness.js';

const itMosq = mosquittoForTests() ? it : it.skip;

/**
 * The role's configuration with persistence on (its default), saving every second as well as on
 * SIGTERM, and queueing everything for the bridge's session while it is away.
 */
const PERSISTENT_BROKER = { vars: { ...UNLIMITED_QUEUE, mosquitto_autosave_interval: 1 } };

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

/** Same id must always mean the same message. */
function expectIdsConsistent(ingest: IngestStandIn): void {
  const byId = new Map<string, string>();
  for (const e of ingest.envelopes) {
    const prev = byId.get(e.id);
    if (prev !== undefined) expect(e.payload).toBe(prev);
    byId.set(e.id, e.payload);
  }
}

interface Child {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function spawnBridge(env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--import', 'tsx', path.join(here, 'main.ts')], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, output: () => out, exited };
}

itMosq(
  'SIGKILL of the bridge mid-stream loses nothing: after a restart every message arrives, one id per message',
  async () => {
    const broker = await startTestBroker(PERSISTENT_BROKER);
    const ingest = await startIngestStandIn();
    const dir = tempDir('kill');
    const env = {
      ...bridgeMqttEnv(broker),
      BRIDGE_MQTT_CLIENT_ID: 'bridge-kill',
      BRIDGE_MQTT_RECONNECT_MS: '200',
      BRIDGE_INGEST_URL: ingest.url,
      BRIDGE_INGEST_KEY: ingest.key,
      BRIDGE_JOURNAL_DIR: path.join(dir, 'journal'),
      BRIDGE_RETRY_BASE_MS: '50',
      BRIDGE_RETRY_MAX_MS: '200',
      BRIDGE_LINGER_MS: String(TEST_LINGER_MS),
      BRIDGE_LOG_LEVEL: 'info',
    };
    const pub = await connectPublisher(broker.url, broker.publisher);
    const children: Child[] = [];
    const start = async (): Promise<Child> => {
      const c = spawnBridge(env);
      children.push(c);
      await waitFor(() => c.output().includes('"mqtt_subscribed"'), 15_000, 'bridge subscribed');
      return c;
    };
    try {
      let child = await start();
      const N = 6000;
      const publishing = pub.publish(0, N, 1500); // 4 s of traffic
      for (const atLeast of [1000, 3000]) {
        await waitFor(() => ingest.envelopes.length >= atLeast, 15_000, `${atLeast} delivered`);
        child.proc.kill('SIGKILL');
        await child.exited;
        await new Promise((r) => setTimeout(r, 300)); // the broker queues meanwhile
        child = await start();
      }
      await publishing;
      await waitFor(() => distinctPayloads(ingest.envelopes).size === N, 20_000, 'every message delivered');
      // Duplicates across the kills are allowed only as repeats of the same envelope id.
      expect(ingest.ids.size).toBe(N);
      expectIdsConsistent(ingest);

      // Graceful stop: exit code 0, journal drained.
      child.proc.kill('SIGTERM');
      expect(await child.exited).toBe(0);
      expect(child.output()).toMatch(/"msg":"bridge_stopped","flushed":true,"pending":0/);
      expect(children[0]?.output()).not.toMatch(/"level":"error"/);
    } finally {
      for (const c of children)
        if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
      await pub.end().catch(() => undefined);
      await ingest.close();
      await broker.mosquitto.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  40_000,
);

itMosq(
  'a broker restart mid-stream (persistent session, plain subscription, persistence on) loses nothing',
  async () => {
    const broker = await startTestBroker(PERSISTENT_BROKER);
    const ingest = await startIngestStandIn();
    const dir = tempDir('brk');
    const log = createMemoryLogger(process.env.BRIDGE_TEST_LOG === '1');
    const bridge = await startBridge(
      {
        ...bridgeMqttOptions(broker),
        clientId: 'bridge-brk',
        ingestUrl: ingest.url,
        ingestKey: ingest.key,
        journalDir: path.join(dir, 'journal'),
        reconnectPeriodMs: 200,
        lingerMs: TEST_LINGER_MS,
      },
      { logger: log },
    );
    const pub = await connectPublisher(broker.url, broker.publisher);
    try {
      await bridge.subscribed;
      const N = 4000;
      const publishing = pub.publish(0, N, 1000);
      await waitFor(() => ingest.envelopes.length >= 1000, 10_000, 'first messages');
      await broker.mosquitto.restart(); // SIGTERM (Mosquitto saves its persistence file), same port and data
      await publishing;
      await waitFor(
        () => distinctPayloads(ingest.envelopes).size === N && bridge.stats().pending === 0,
        20_000,
        'all',
      ).catch(async (err: unknown) => {
        const got = distinctPayloads(ingest.envelopes);
        const missing = [...Array(N).keys()].filter((i) => !got.has(testPayload(i)));
        throw new Error(
          `${String(err)}; missing ${missing.length}: ${missing.slice(0, 20).join(',')}; stats ${JSON.stringify(bridge.stats())}; broker log ${await broker.mosquitto.log()}`,
        );
      });
      expectIdsConsistent(ingest);
      expect(log.entries.some((e) => e.msg === 'mqtt_disconnected')).toBe(true);
      const reconnect = log.entries.filter((e) => e.msg === 'mqtt_connected')[1];
      expect(reconnect?.fields.sessionPresent).toBe(true);
      expect(log.entries.some((e) => e.msg === 'mqtt_session_lost')).toBe(false);
    } finally {
      await pub.end().catch(() => undefined);
      await bridge.stop();
      await ingest.close();
      await broker.mosquitto.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  30_000,
);

itMosq(
  'with a shared subscription the bridge re-subscribes after a broker restart (Mosquitto 2.0 does not restore it)',
  async () => {
    const broker = await startTestBroker(PERSISTENT_BROKER);
    const ingest = await startIngestStandIn();
    const dir = tempDir('brks');
    const log = createMemoryLogger(process.env.BRIDGE_TEST_LOG === '1');
    const bridge = await startBridge(
      {
        ...bridgeMqttOptions(broker),
        clientId: 'bridge-brks',
        sharedSubscription: true,
        ingestUrl: ingest.url,
        ingestKey: ingest.key,
        journalDir: path.join(dir, 'journal'),
        reconnectPeriodMs: 200,
        lingerMs: TEST_LINGER_MS,
      },
      { logger: log },
    );
    const pub = await connectPublisher(broker.url, broker.publisher);
    try {
      await bridge.subscribed;
      await pub.publish(0, 500);
      await waitFor(() => ingest.envelopes.length >= 500, 10_000, 'before the restart');
      await broker.mosquitto.restart();
      const subscribes = () => log.entries.filter((e) => e.msg === 'mqtt_subscribed').length;
      await waitFor(() => subscribes() === 2, 10_000, 'second subscription');
      expect(log.entries.filter((e) => e.msg === 'mqtt_connected')[1]?.fields.sessionPresent).toBe(true);
      await pub.publish(500, 1000);
      await waitFor(() => distinctPayloads(ingest.envelopes).size === 1000, 10_000, 'after the restart');
    } finally {
      await pub.end().catch(() => undefined);
      await bridge.stop();
      await ingest.close();
      await broker.mosquitto.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  30_000,
);
