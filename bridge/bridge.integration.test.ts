/**
 * The bridge in process against a real Mosquitto and a real local HTTP stand-in for ingest.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Aedes } from 'aedes';
import { mosquittoForTests } from '../test/support/mosquitto-process.js';
import { startBridge, type BridgeDeps } from './bridge.js';
import { createMemoryLogger } from './log.js';
import type { BridgeOptionsInput } from './options.js';
import {
  bridgeMqttOptions,
  connectPublisher,
  distinctPayloads,
  freePort,
  startIngestStandIn,
  startTestBroker,
  tempDir,
  TEST_LINGER_MS,
  testPayload,
  UNLIMITED_QUEUE,
  waitFor,
  type IngestStandIn,
  type TestBroker,
} from '../test/support/bridge-harness.js';

const mosquitto = mosquittoForTests() !== null;
const itMosq = mosquitto ? it : it.skip;

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function track<T>(value: T, cleanup: (v: T) => Promise<unknown> | unknown): T {
  cleanups.push(() => cleanup(value));
  return value;
}

async function setup(
  mqtt: Pick<BridgeOptionsInput, 'mqttUrl' | 'mqttUsername' | 'mqttPassword'>,
  over: Partial<BridgeOptionsInput> = {},
  deps: Partial<BridgeDeps> = {},
) {
  const ingest = track(await startIngestStandIn(), (s) => s.close());
  const dir = track(tempDir('it'), (d) => fs.rmSync(d, { recursive: true, force: true }));
  const log = createMemoryLogger(process.env.BRIDGE_TEST_LOG === '1');
  const bridge = track(
    await startBridge(
      {
        ...mqtt,
        clientId: `bridge-it-${Date.now()}`,
        ingestUrl: ingest.url,
        ingestKey: ingest.key,
        journalDir: path.join(dir, 'journal'),
        statusFile: path.join(dir, 'status.json'),
        statusIntervalMs: 200,
        retryBaseMs: 50,
        retryMaxMs: 400,
        lingerMs: TEST_LINGER_MS,
        ...over,
      },
      { logger: log, ...deps },
    ),
    (b) => b.stop(),
  );
  await bridge.subscribed;
  return { ingest, bridge, dir, log };
}

function expectExactlyOnce(ingest: IngestStandIn, n: number): void {
  expect(ingest.envelopes).toHaveLength(n);
  expect(ingest.ids.size).toBe(n);
  const payloads = distinctPayloads(ingest.envelopes);
  expect(payloads.size).toBe(n);
  expect(payloads.has(testPayload(0))).toBe(true);
  expect(payloads.has(testPayload(n - 1))).toBe(true);
}

describe('bridge with Mosquitto', () => {
  let broker: TestBroker;
  beforeEach(async () => {
    if (!mosquitto) return;
    // The role's configuration; the broker queues everything for the bridge's session.
    broker = await startTestBroker({ vars: UNLIMITED_QUEUE });
  });
  afterEach(async () => {
    await broker?.mosquitto.stop();
  });

  itMosq(
    'delivers every QoS 1 message exactly once in the happy path (MQTT 5, shared subscription)',
    async () => {
      const healthPort = await freePort();
      const { ingest, bridge, dir } = await setup(bridgeMqttOptions(broker), {
        healthPort,
        sharedSubscription: true,
      });
      const pub = track(await connectPublisher(broker.url, broker.publisher), (p) => p.end());
      const N = 5000;
      await pub.publish(0, N);
      await waitFor(
        () => bridge.stats().forwarded >= N && bridge.stats().pending === 0,
        15_000,
        'all forwarded',
      );
      expectExactlyOnce(ingest, N);
      expect(bridge.stats()).toMatchObject({
        received: N,
        forwarded: N,
        pending: 0,
        inserted: N,
        duplicates: 0,
        rejected: 0,
        connected: true,
        journalFull: false,
        oldestPendingAgeMs: 0,
      });
      expect(ingest.envelopes[0]?.id).toMatch(new RegExp(`^${bridge.options.bridgeId}:\\d+$`));
      expect(ingest.envelopes[0]?.topic).toBe('t/tenant-a/dev-0001/telemetry');

      const health = await fetch(`http://127.0.0.1:${bridge.healthPort}/health`);
      expect(health.status).toBe(200);
      expect(((await health.json()) as { status: string }).status).toBe('ok');
      const metrics = (await (await fetch(`http://127.0.0.1:${bridge.healthPort}/metrics`)).json()) as Record<
        string,
        unknown
      >;
      for (const k of ['received', 'forwarded', 'pending', 'retries', 'inserted', 'duplicates', 'rejected']) {
        expect(typeof metrics[k]).toBe('number');
      }
      for (const k of ['oldestPendingAgeMs', 'journalBytes', 'connected', 'lastError'])
        expect(metrics).toHaveProperty(k);
      await waitFor(
        () => {
          try {
            const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as {
              stats: { forwarded: number };
            };
            return status.stats.forwarded === N;
          } catch {
            return false;
          }
        },
        3000,
        'status file',
      );
    },
  );

  itMosq('loses nothing while ingest is down for 4 s and delivers everything after it recovers', async () => {
    const { ingest, bridge, log } = await setup(bridgeMqttOptions(broker));
    const pub = track(await connectPublisher(broker.url, broker.publisher), (p) => p.end());
    await pub.publish(0, 500);
    await waitFor(() => ingest.envelopes.length === 500, 10_000, 'first 500');
    await ingest.down();
    const downAt = Date.now();
    await pub.publish(500, 2500, 1000); // 2 s of traffic into a dead ingest
    await waitFor(() => bridge.stats().retries > 0, 5000, 'retries');
    expect(bridge.stats().lastError).toMatch(/ingest request failed/);
    expect(bridge.stats().pending).toBeGreaterThan(0);
    expect(bridge.health().status).toBe('ok'); // only degraded once messages are old
    await new Promise((r) => setTimeout(r, Math.max(0, 4000 - (Date.now() - downAt))));
    await ingest.up();
    await waitFor(() => bridge.stats().pending === 0, 10_000, 'recovery');
    expect(distinctPayloads(ingest.envelopes).size).toBe(2500);
    expect(ingest.ids.size).toBe(2500);
    expect(log.entries.filter((e) => e.msg === 'ingest_unavailable')).toHaveLength(1);
    expect(log.entries.filter((e) => e.msg === 'ingest_recovered')).toHaveLength(1);
  });

  itMosq(
    'on a journal write failure (disk full) it withholds the PUBACK, forces a redelivery and loses nothing',
    async () => {
      let failNext = 0;
      let failing = 0;
      const journalWrite = (fd: number, buf: Buffer, off: number, len: number, pos: number): number => {
        // Armed below: the next writes fail as on a full disk (a write carries the messages of a socket read).
        if (failNext > 0) {
          failNext--;
          failing++;
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        }
        return fs.writeSync(fd, buf, off, len, pos);
      };
      const { ingest, bridge, log } = await setup(
        bridgeMqttOptions(broker),
        { reconnectPeriodMs: 100 },
        { journalWrite },
      );
      const pub = track(await connectPublisher(broker.url, broker.publisher), (p) => p.end());
      await pub.publish(0, 500);
      await waitFor(() => bridge.stats().received === 500, 10_000, 'first 500 journaled');
      failNext = 3;
      await pub.publish(500, 1000);
      await waitFor(
        () => distinctPayloads(ingest.envelopes).size === 1000 && bridge.stats().pending === 0,
        15_000,
        'all',
      );
      expect(failing).toBe(3);
      expect(ingest.ids.size).toBe(1000);
      expect(log.entries.some((e) => e.msg === 'journal_write_failed')).toBe(true);
      expect(log.entries.some((e) => e.msg === 'journal_write_recovered')).toBe(true);
      expect(log.entries.filter((e) => e.msg === 'mqtt_disconnected').length).toBeGreaterThanOrEqual(1);
      expect(bridge.stats().journalWriteFailing).toBe(false);
    },
  );

  itMosq(
    'a head batch refused for ever: /metrics, /health, the status file and the report to ingest carry the age of the oldest unacknowledged message',
    async () => {
      // The bridge's clock is the test's: ages are exact, whatever the machine's load.
      let clock = Date.parse('2026-11-27T12:00:00Z');
      const healthPort = await freePort();
      const { ingest, bridge, dir } = await setup(
        bridgeMqttOptions(broker),
        // No linger (it is measured on the frozen clock); retries every 20 ms whatever Retry-After says.
        { healthPort, lingerMs: 0, maxRetryAfterMs: 20, reportIntervalMs: 100 },
        { now: () => clock },
      );
      const id = bridge.options.bridgeId;
      ingest.mode = 'unavailable503';
      const pub = track(await connectPublisher(broker.url, broker.publisher), (p) => p.end());
      await pub.publish(0, 50);
      await waitFor(
        () => bridge.stats().received === 50 && ingest.failedRequests >= 2,
        10_000,
        'the head batch refused twice',
      );
      expect(bridge.stats()).toMatchObject({ pending: 50, forwarded: 0, oldestPendingAgeMs: 0 });

      clock += 600_000; // ten minutes of refusals
      const retries = bridge.stats().retries;
      await waitFor(() => bridge.stats().retries > retries + 1, 10_000, 'more retries');
      expect(bridge.stats()).toMatchObject({ pending: 50, forwarded: 0, oldestPendingAgeMs: 600_000 });

      const metrics = (await (await fetch(`http://127.0.0.1:${bridge.healthPort}/metrics`)).json()) as Record<
        string,
        unknown
      >;
      expect(metrics).toMatchObject({ pending: 50, oldestPendingAgeMs: 600_000 });
      const health = await fetch(`http://127.0.0.1:${bridge.healthPort}/health`);
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({
        status: 'degraded',
        problems: ['oldest unforwarded message is 600 s old'],
        stats: { pending: 50, oldestPendingAgeMs: 600_000 },
      });
      const statusFile = path.join(dir, 'status.json');
      const readStatus = () => {
        try {
          return JSON.parse(fs.readFileSync(statusFile, 'utf8')) as {
            status: string;
            stats: Record<string, unknown>;
          };
        } catch {
          return undefined; // not written yet
        }
      };
      await waitFor(() => readStatus()?.stats.oldestPendingAgeMs === 600_000, 5000, 'the status file');
      expect(readStatus()).toMatchObject({
        status: 'degraded',
        stats: { pending: 50, oldestPendingAgeMs: 600_000 },
      });
      // What ingest hears with every refused attempt: the platform sees the backlog age too.
      await waitFor(
        () => ingest.reports.includes(`v1 id=${id} pending=50 oldest-ms=600000 sent-at=${clock}`),
        5000,
        'the report with the refused batch',
      );

      ingest.mode = 'ok';
      await waitFor(() => bridge.stats().pending === 0, 10_000, 'delivered');
      expect(distinctPayloads(ingest.envelopes).size).toBe(50);
      expect(bridge.stats().oldestPendingAgeMs).toBe(0);
      expect(bridge.health().status).toBe('ok');
      // Idle again: the heartbeat (an empty batch) says the backlog is gone.
      clock += 1_000;
      await waitFor(
        () => ingest.reports.includes(`v1 id=${id} pending=0 oldest-ms=0 sent-at=${clock}`),
        5000,
        'a heartbeat',
      );
      expect(ingest.heartbeats).toBeGreaterThanOrEqual(2); // one at start, one now
    },
  );

  itMosq('honours 503 Retry-After and still delivers everything', async () => {
    const { ingest, bridge } = await setup(bridgeMqttOptions(broker), { retryBaseMs: 10, retryMaxMs: 20 });
    ingest.mode = 'unavailable503';
    ingest.retryAfterSeconds = 1;
    const pub = track(await connectPublisher(broker.url, broker.publisher), (p) => p.end());
    await pub.publish(0, 200);
    await waitFor(() => ingest.failedRequests > 0, 5000, 'a 503');
    await new Promise((r) => setTimeout(r, 300));
    // With a 10-20 ms backoff there would be dozens of attempts; Retry-After: 1 allows one.
    expect(ingest.failedRequests).toBeLessThanOrEqual(3); // at most one per batch in flight
    ingest.mode = 'ok';
    await waitFor(() => bridge.stats().pending === 0, 5000, 'delivered');
    expect(distinctPayloads(ingest.envelopes).size).toBe(200);
  });
});

describe('bridge with aedes (MQTT 3.1.1, no shared subscriptions)', () => {
  it('delivers everything through a plain subscription', async () => {
    const aedes = await Aedes.createBroker();
    const server = net.createServer(aedes.handle);
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    track(server, (s) => new Promise<void>((r) => s.close(() => aedes.close(() => r()))));
    const url = `mqtt://127.0.0.1:${port}`;
    const { ingest, bridge } = await setup(
      { mqttUrl: url },
      { protocolVersion: 4, sharedSubscription: false },
    );
    const pub = track(await connectPublisher(url), (p) => p.end());
    await pub.publish(0, 1000);
    await waitFor(
      () => bridge.stats().pending === 0 && ingest.envelopes.length >= 1000,
      10_000,
      'all forwarded',
    );
    expectExactlyOnce(ingest, 1000);
  });
});
