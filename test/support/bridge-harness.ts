/**
 * Harness for the bridge's tests and benchmark (bridge/*.test.ts, test/e2e, scripts/bench): real
 * components: Mosquitto as we ship it (test/support/mosquitto-process.ts: the Ansible role's
 * configuration, users and ACL) with a bridge service user and device users, a local HTTP stand-in
 * for mqtt_ingest that records what arrived and can fail, a QoS 1 publisher, and small helpers.
 * Not a test file itself, and not part of the bridge (nothing under bridge/ but tests imports it).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import type { BrokerIdentity } from '../../broker/acl.js';
import { startMosquitto, type MosquittoBroker } from './mosquitto-process.js';
import {
  BRIDGE_REPORT_HEADER,
  FUNCTION_KEY_HEADER,
  type IngestBatch,
  type IngestEnvelope,
  type IngestResult,
} from '../../common/ingest-protocol.js';
import { freePort } from './free-port.js';
import { telemetryTopic } from '../../common/topics.js';
import type { BridgeOptionsInput } from '../../bridge/options.js';

export { freePort };

/**
 * The linger tests start bridges with: the production default is a 1 s latency budget
 * (bridge/options.ts, docs/bridge.md "Latency budget"), which would add up to a second to every
 * wait for data. Tests of the budget itself run on a fake clock (bridge/forwarder.test.ts).
 */
export const TEST_LINGER_MS = 20;

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bridge-${prefix}-`));
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// ---- Mosquitto -------------------------------------------------------------------------------

export const TEST_TENANT = 'tenant-a';
/** The device the tests publish as: its ACL lets it write TEST_TOPIC only. */
export const TEST_DEVICE = 'dev-0001';
export const TEST_TOPIC = telemetryTopic(TEST_TENANT, TEST_DEVICE);

/**
 * Role variables for tests that count on the broker queueing everything for the bridge's
 * persistent session (0 = no limit; production caps it, see the role's defaults/main.yml).
 */
export const UNLIMITED_QUEUE = { mosquitto_max_queued_messages: 0, mosquitto_max_queued_bytes: 0 };

export interface Credentials {
  username: string;
  password: string;
}

export interface TestBroker {
  /** The broker: restart(), stop(), kill(), log(), config, ... */
  mosquitto: MosquittoBroker;
  url: string;
  /** The bridge's service user (role 'bridge': reads every telemetry topic). */
  bridgeUser: Credentials;
  /** Device users of TEST_TENANT by device key, each allowed to write its own telemetry topic. */
  devices: Record<string, Credentials>;
  /** TEST_DEVICE's credentials. */
  publisher: Credentials;
}

/**
 * Mosquitto with the role's configuration (persistence on) on a free loopback port, with a bridge
 * service user and the given devices (default TEST_DEVICE). `vars` overrides role variables,
 * e.g. UNLIMITED_QUEUE or { mosquitto_autosave_interval: 1 }. stop() removes its directory.
 */
export async function startTestBroker(
  options: { deviceKeys?: readonly string[]; vars?: Record<string, unknown> } = {},
): Promise<TestBroker> {
  const secret = () => randomBytes(12).toString('base64url');
  const bridgeUser = { username: 'svc-bridge', password: secret() };
  const devices: Record<string, Credentials> = {};
  const identities: (BrokerIdentity & Credentials)[] = [{ role: 'bridge', ...bridgeUser }];
  for (const key of options.deviceKeys ?? [TEST_DEVICE]) {
    devices[key] = { username: key, password: secret() };
    identities.push({ role: 'device', tenantSlug: TEST_TENANT, ...devices[key] });
  }
  const mosquitto = await startMosquitto({ users: identities, vars: options.vars });
  return {
    mosquitto,
    url: mosquitto.url,
    bridgeUser,
    devices,
    get publisher() {
      const credentials = devices[TEST_DEVICE];
      if (!credentials) throw new Error(`${TEST_DEVICE} is not among this broker's devices`);
      return credentials;
    },
  };
}

/** The bridge's MQTT options for this broker (as its service user). */
export function bridgeMqttOptions(
  broker: TestBroker,
): Pick<BridgeOptionsInput, 'mqttUrl' | 'mqttUsername' | 'mqttPassword'> {
  return {
    mqttUrl: broker.url,
    mqttUsername: broker.bridgeUser.username,
    mqttPassword: broker.bridgeUser.password,
  };
}

/** The same as BRIDGE_* environment variables, for bridge/main.ts in its own process. */
export function bridgeMqttEnv(broker: TestBroker): Record<string, string> {
  return {
    BRIDGE_MQTT_URL: broker.url,
    BRIDGE_MQTT_USERNAME: broker.bridgeUser.username,
    BRIDGE_MQTT_PASSWORD: broker.bridgeUser.password,
  };
}

// ---- ingest stand-in -------------------------------------------------------------------------

export type IngestMode = 'ok' | 'error500' | 'unavailable503' | 'hang';

export interface IngestStandIn {
  url: string;
  port: number;
  key: string;
  mode: IngestMode;
  retryAfterSeconds: number;
  /** Every envelope of every accepted batch, in arrival order (duplicates included). */
  envelopes: IngestEnvelope[];
  ids: Set<string>;
  /** Batch requests (heartbeats apart). */
  requests: number;
  /** Batch requests answered 5xx. */
  failedRequests: number;
  badKeyRequests: number;
  /** The x-bridge-report header of every request with the right key, heartbeats included. */
  reports: string[];
  /** Empty batches: the bridge's heartbeats, answered like any batch in the current mode. */
  heartbeats: number;
  /** Stops listening and drops connections (ingest "down"). */
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startIngestStandIn(opts: { key?: string; port?: number } = {}): Promise<IngestStandIn> {
  const key = opts.key ?? 'test-function-key';
  const port = opts.port ?? (await freePort());
  let server: http.Server | undefined;
  const s: IngestStandIn = {
    url: `http://127.0.0.1:${port}/api/mqtt_ingest`,
    port,
    key,
    mode: 'ok',
    retryAfterSeconds: 1,
    envelopes: [],
    ids: new Set(),
    requests: 0,
    failedRequests: 0,
    badKeyRequests: 0,
    reports: [],
    heartbeats: 0,
    async down() {
      const srv = server;
      server = undefined;
      if (!srv) return;
      srv.closeAllConnections();
      await new Promise<void>((r) => srv.close(() => r()));
    },
    async up() {
      if (server) return;
      const srv = http.createServer((req, res) => handle(req, res));
      srv.keepAliveTimeout = 5000;
      await new Promise<void>((r) => srv.listen(port, '127.0.0.1', () => r()));
      server = srv;
    },
    async close() {
      await s.down();
    },
  };
  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers[FUNCTION_KEY_HEADER] !== key) {
        s.requests++;
        s.badKeyRequests++;
        res.writeHead(401).end('bad key');
        return;
      }
      const report = req.headers[BRIDGE_REPORT_HEADER];
      if (typeof report === 'string') s.reports.push(report);
      const heartbeat = isHeartbeat(req, Buffer.concat(chunks));
      if (heartbeat) s.heartbeats++;
      else s.requests++;
      if (s.mode === 'hang') return; // never answers: the bridge's timeout fires
      if (s.mode === 'error500') {
        if (!heartbeat) s.failedRequests++;
        res.writeHead(500).end('boom');
        return;
      }
      if (s.mode === 'unavailable503') {
        if (!heartbeat) s.failedRequests++;
        res.writeHead(503, { 'retry-after': String(s.retryAfterSeconds) }).end('maintenance');
        return;
      }
      let batch: IngestBatch;
      try {
        const raw = Buffer.concat(chunks);
        const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        batch = JSON.parse(body.toString('utf8')) as IngestBatch;
      } catch {
        res.writeHead(400).end('bad body');
        return;
      }
      const results: IngestResult[] = batch.messages.map((m) => {
        const dup = s.ids.has(m.id);
        s.ids.add(m.id);
        s.envelopes.push(m);
        return { id: m.id, status: dup ? 'duplicate' : 'inserted' };
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ results }));
    });
  };
  await s.up();
  return s;
}

function isHeartbeat(req: http.IncomingMessage, raw: Buffer): boolean {
  try {
    const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    return (JSON.parse(body.toString('utf8')) as IngestBatch).messages.length === 0;
  } catch {
    return false;
  }
}

/** Distinct decoded payloads that reached the stand-in. */
export function distinctPayloads(envelopes: IngestEnvelope[]): Set<string> {
  return new Set(envelopes.map((e) => Buffer.from(e.payload, 'base64').toString('utf8')));
}

// ---- publisher -------------------------------------------------------------------------------

export function testPayload(i: number): string {
  return JSON.stringify({ ts: 1767225600000 + i, id: `m-${i}`, metrics: { i, temp: 20 + (i % 10) } });
}

export interface Publisher {
  /** Publishes messages [from, to) QoS 1, `rate` per second (0 = as fast as possible). Resolves when all are acked. */
  publish(from: number, to: number, rate?: number): Promise<void>;
  end(): Promise<void>;
}

/** A publisher on TEST_TOPIC; `credentials` for a broker with users (TestBroker.publisher). */
export async function connectPublisher(
  url: string,
  credentials?: Credentials,
  clientId = `pub-${process.pid}-${Date.now()}`,
): Promise<Publisher> {
  // Persistent session + mqtt.js' outgoing store: unacked publishes are resent after a reconnect.
  const client = mqtt.connect(url, {
    clientId,
    ...credentials,
    protocolVersion: 4,
    clean: false,
    reconnectPeriod: 200,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  client.on('error', () => undefined);
  return {
    async publish(from, to, rate = 0) {
      const acks: Array<Promise<void>> = [];
      const started = Date.now();
      for (let i = from; i < to; i++) {
        if (rate > 0) {
          const due = started + ((i - from) * 1000) / rate;
          const wait = due - Date.now();
          if (wait > 2) await new Promise((r) => setTimeout(r, wait));
        } else if ((i - from) % 500 === 499) {
          await new Promise((r) => setImmediate(r));
        }
        acks.push(
          new Promise<void>((resolve, reject) =>
            client.publish(TEST_TOPIC, testPayload(i), { qos: 1 }, (err) => (err ? reject(err) : resolve())),
          ),
        );
      }
      await Promise.all(acks);
    },
    async end() {
      await client.endAsync();
    },
  };
}
