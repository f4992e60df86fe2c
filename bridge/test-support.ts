/**
 * Real components for the bridge tests: a Mosquitto started on a free loopback port (persistence
 * in a temp dir), a local HTTP stand-in for mqtt_ingest that records what arrived and can fail,
 * a QoS 1 publisher, and small helpers. Not a test file itself.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import mqtt from 'mqtt';
import {
  FUNCTION_KEY_HEADER,
  type IngestBatch,
  type IngestEnvelope,
  type IngestResult,
} from '../common/ingest-protocol.js';
import { freePort } from '../common/free-port.js';

export { freePort };

export const MOSQUITTO_BIN = process.env.MOSQUITTO_BIN ?? '/usr/sbin/mosquitto';

export function haveMosquitto(): boolean {
  return fs.existsSync(MOSQUITTO_BIN) && spawnSync(MOSQUITTO_BIN, ['-h']).status !== null;
}

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

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

// ---- Mosquitto -------------------------------------------------------------------------------

export interface TestBroker {
  port: number;
  url: string;
  dir: string;
  /** Graceful stop (SIGTERM: Mosquitto writes its persistence file). */
  stop(): Promise<void>;
  start(): Promise<void>;
  log(): string;
}

export async function startMosquitto(
  opts: { persistence?: boolean; extra?: string[] } = {},
): Promise<TestBroker> {
  const dir = tempDir('mosq');
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    conf,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'user root',
      `persistence ${opts.persistence === false ? 'false' : 'true'}`,
      `persistence_location ${dir}/`,
      'autosave_interval 1',
      // The bridge relies on the broker queueing for its session; 0 = no limit (tests only).
      'max_queued_messages 0',
      'max_inflight_messages 100',
      `log_dest file ${dir}/mosquitto.log`,
      'log_type error',
      'log_type warning',
      'log_type notice',
      ...(opts.extra ?? []),
      '',
    ].join('\n'),
  );
  let proc: ChildProcess | undefined;
  const broker: TestBroker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    async start() {
      proc = spawn(MOSQUITTO_BIN, ['-c', conf], { stdio: 'ignore' });
      await waitFor(() => portOpen(port), 5000, `mosquitto on ${port}`);
    },
    async stop() {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([exited, new Promise((r) => (timer = setTimeout(r, 3000)))]);
      clearTimeout(timer);
      if (p.exitCode === null && p.signalCode === null) {
        p.kill('SIGKILL');
        await exited;
      }
    },
    log() {
      try {
        return fs.readFileSync(path.join(dir, 'mosquitto.log'), 'utf8');
      } catch {
        return '';
      }
    },
  };
  await broker.start();
  return broker;
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
  requests: number;
  failedRequests: number;
  badKeyRequests: number;
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
      s.requests++;
      if (req.headers[FUNCTION_KEY_HEADER] !== key) {
        s.badKeyRequests++;
        res.writeHead(401).end('bad key');
        return;
      }
      if (s.mode === 'hang') return; // never answers: the bridge's timeout fires
      if (s.mode === 'error500') {
        s.failedRequests++;
        res.writeHead(500).end('boom');
        return;
      }
      if (s.mode === 'unavailable503') {
        s.failedRequests++;
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

/** Distinct decoded payloads that reached the stand-in. */
export function distinctPayloads(envelopes: IngestEnvelope[]): Set<string> {
  return new Set(envelopes.map((e) => Buffer.from(e.payload, 'base64').toString('utf8')));
}

// ---- publisher -------------------------------------------------------------------------------

export const TEST_TOPIC = 't/tenant-a/dev-0001/telemetry';

export function testPayload(i: number): string {
  return JSON.stringify({ ts: 1767225600000 + i, id: `m-${i}`, metrics: { i, temp: 20 + (i % 10) } });
}

export interface Publisher {
  /** Publishes messages [from, to) QoS 1, `rate` per second (0 = as fast as possible). Resolves when all are acked. */
  publish(from: number, to: number, rate?: number): Promise<void>;
  end(): Promise<void>;
}

export async function connectPublisher(
  url: string,
  clientId = `pub-${process.pid}-${Date.now()}`,
): Promise<Publisher> {
  // Persistent session + mqtt.js' outgoing store: unacked publishes are resent after a reconnect.
  const client = mqtt.connect(url, { clientId, protocolVersion: 4, clean: false, reconnectPeriod: 200 });
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
