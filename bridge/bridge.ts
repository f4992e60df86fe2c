/**
 * The MQTT -> mqtt_ingest bridge. See docs/bridge.md for the design and its guarantees.
 *
 * `startBridge` wires the pieces: the journal (journal.ts); the receive path that journals each
 * PUBLISH and decides when its PUBACK may leave (ack-gate.ts: group commit, backpressure, local
 * failures); the subscription and when it is remade (subscription.ts); the forwarder that sends
 * the journal to ingest in the background (forwarder.ts); health, status file and periodic sync.
 */
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createAckGate } from './ack-gate.js';
import { Forwarder, type FetchLike, type SleepFn } from './forwarder.js';
import {
  assessHealth,
  startHealthServer,
  writeStatusFile,
  type BridgeStats,
  type HealthReport,
  type HealthServer,
} from './health.js';
import { Journal } from './journal.js';
import { createJsonLogger, errorText, type Logger } from './log.js';
import { describeOptions, validateOptions, type BridgeOptions, type BridgeOptionsInput } from './options.js';
import { createSubscription } from './subscription.js';

export type { BridgeStats, HealthReport } from './health.js';

export interface BridgeDeps {
  /** HTTP client for ingest (default: node:http keep-alive client; the global fetch fits too). */
  fetch?: FetchLike;
  /** Backoff sleep (default: setTimeout). */
  sleep?: SleepFn;
  /** Clock for receivedAt and ages (default: Date.now). */
  now?: () => number;
  random?: () => number;
  logger?: Logger;
  /** Journal pwrite (default: fs.writeSync); for fault-injection tests. */
  journalWrite?: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;
  /** MQTT connect (default: mqtt.connect); lets a sandbox pass a custom stream builder. */
  connect?: (url: string, options: IClientOptions) => MqttClient;
}

export interface Bridge {
  readonly options: BridgeOptions;
  /** Resolves once the subscription was granted the first time. */
  readonly subscribed: Promise<void>;
  /**
   * Resolves once ingest answered (or refused) the bridge's first backlog report, or on stop():
   * a sandbox waits for it so the platform knows the bridge before anything checks.
   */
  readonly firstReport: Promise<void>;
  /** Port of the health server, if enabled (useful with an ephemeral port). */
  readonly healthPort: number | undefined;
  stats(): BridgeStats;
  health(): HealthReport;
  /**
   * Graceful stop: disconnect from the broker (the persistent session keeps queueing), forward
   * what is journaled until the shutdown deadline, fsync, close. Safe to call twice.
   */
  stop(): Promise<void>;
}

function memory(): { rssBytes: number; heapUsedBytes: number; externalBytes: number } {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}

export async function startBridge(input: BridgeOptionsInput, deps: BridgeDeps = {}): Promise<Bridge> {
  const options = validateOptions(input);
  const log = deps.logger ?? createJsonLogger(options.logLevel);
  const now = deps.now ?? Date.now;
  const startedAt = now();

  const journal = Journal.open({
    dir: options.journalDir,
    segmentBytes: options.segmentBytes,
    maxBytes: options.maxJournalBytes,
    maxMemoryMessages: options.maxMemoryMessages,
    maxMemoryBytes: options.maxMemoryBytes,
    logger: log,
    now,
    write: deps.journalWrite,
  });

  const forwarder = new Forwarder(options, journal, {
    fetch: deps.fetch,
    sleep: deps.sleep,
    now,
    random: deps.random,
    logger: log,
  });

  let connected = false;
  let mqttError: { text: string; at: number } | null = null;
  const recordError = (text: string): void => {
    mqttError = { text, at: now() };
  };
  let stopping = false;

  const stats = (): BridgeStats => {
    const c = forwarder.counters;
    const backlog = forwarder.backlog();
    const fwdErrAt = c.lastErrorAt ?? 0;
    const mqttErrAt = mqttError?.at ?? 0;
    const lastError = mqttErrAt > fwdErrAt ? (mqttError?.text ?? null) : c.lastError;
    const lastErrorAt = Math.max(fwdErrAt, mqttErrAt);
    const iso = (t: number | null): string | null => (t ? new Date(t).toISOString() : null);
    return {
      received: gate.received,
      forwarded: c.forwarded,
      pending: backlog.pending,
      retries: c.retries,
      inserted: c.inserted,
      duplicates: c.duplicates,
      rejected: c.rejected,
      oldestPendingAgeMs: backlog.oldestPendingAgeMs,
      journalBytes: journal.bytes,
      connected,
      lastError,
      redeliveries: gate.redeliveries,
      journalFull: gate.full,
      journalFullEpisodes: gate.fullEpisodes,
      journalWriteFailing: gate.writeFailing,
      maxJournalBytes: options.maxJournalBytes,
      journalSegments: journal.segmentCount,
      cursor: journal.cursor,
      lastSeq: journal.lastSeq,
      inflightBatches: forwarder.inflightBatches,
      batches: c.batches,
      spilled: journal.spilled,
      lastErrorAt: iso(lastErrorAt || null),
      lastForwardAt: iso(c.lastForwardAt),
      lastSyncAt: iso(journal.lastSyncAt || null),
      startedAt: new Date(startedAt).toISOString(),
      uptimeMs: now() - startedAt,
      ...memory(),
    };
  };
  const health = (): HealthReport => assessHealth(stats(), options.healthMaxPendingAgeMs);

  // ---- MQTT -------------------------------------------------------------------------------
  const connectFn = deps.connect ?? ((url: string, o: IClientOptions) => mqtt.connect(url, o));
  const client = connectFn(options.mqttUrl, {
    clientId: options.clientId,
    username: options.mqttUsername,
    password: options.mqttPassword,
    protocolVersion: options.protocolVersion,
    clean: false,
    keepalive: options.keepaliveSeconds,
    reconnectPeriod: options.reconnectPeriodMs,
    connectTimeout: 30_000,
    resubscribe: false, // we decide when to subscribe (subscription.ts, from the 'connect' handler)
    // Keep trying after a refused CONNACK too (e.g. the broker's password file is briefly unreadable).
    reconnectOnConnackError: true,
    manualConnect: true,
    // mqtt.js traces every packet through `debug`; unless DEBUG asks for it, skip even the checks.
    ...(process.env.DEBUG?.includes('mqttjs') ? {} : { log: () => undefined }),
    ...(options.protocolVersion === 5
      ? { properties: { sessionExpiryInterval: options.sessionExpirySeconds } }
      : {}),
    ...(options.mqttCaFile ? { ca: readFileSync(options.mqttCaFile) } : {}),
  });

  const gate = createAckGate({
    connection: client,
    journal,
    notify: () => forwarder.notify(),
    maxJournalBytes: options.maxJournalBytes,
    segmentBytes: options.segmentBytes,
    log,
    now,
    onError: recordError,
  });
  client.handleMessage = gate.handleMessage;
  forwarder.onCommit = gate.spaceFreed;

  const subscription = createSubscription({
    client,
    shared: options.sharedSubscription,
    log,
    onError: recordError,
  });

  let everConnected = false;
  let disconnectedAt: number | undefined;
  client.on('connect', (connack) => {
    connected = true;
    gate.connectionOpened();
    log.info('mqtt_connected', {
      sessionPresent: connack.sessionPresent,
      downForMs: disconnectedAt === undefined ? undefined : now() - disconnectedAt,
    });
    if (everConnected && !connack.sessionPresent) {
      log.warn('mqtt_session_lost', {
        note: 'the broker did not keep our session; messages queued while disconnected may be lost on the broker side',
      });
    }
    disconnectedAt = undefined;
    subscription.connected(connack.sessionPresent);
    everConnected = true;
  });
  client.on('close', () => {
    if (connected && !stopping) {
      disconnectedAt = now();
      log.warn('mqtt_disconnected', { reconnectInMs: options.reconnectPeriodMs });
    }
    connected = false;
    gate.connectionClosed();
  });
  let lastMqttErrorText = '';
  client.on('error', (err) => {
    const text = `mqtt: ${errorText(err)}`;
    recordError(text);
    if (text !== lastMqttErrorText) log.warn('mqtt_error', { error: text });
    lastMqttErrorText = text;
  });

  // ---- periodic work ------------------------------------------------------------------------
  const syncTimer = setInterval(() => void journal.sync(), options.fsyncIntervalMs);
  let statusTimer: NodeJS.Timeout | undefined;
  let statusErrorLogged = false;
  const writeStatus = (extra: Record<string, unknown> = {}): void => {
    if (!options.statusFile) return;
    const err = writeStatusFile(options.statusFile, health(), { clientId: options.clientId, ...extra });
    if (err && !statusErrorLogged)
      log.warn('status_file_write_failed', { file: options.statusFile, error: err.message });
    statusErrorLogged = err !== undefined;
  };
  if (options.statusFile) {
    statusTimer = setInterval(writeStatus, options.statusIntervalMs);
    writeStatus();
  }

  let healthServer: HealthServer | undefined;
  if (options.healthPort !== 0) {
    try {
      healthServer = await startHealthServer(options.healthHost, options.healthPort, health);
    } catch (err) {
      clearInterval(syncTimer);
      if (statusTimer) clearInterval(statusTimer);
      await journal.close();
      throw new Error(
        `health server cannot listen on ${options.healthHost}:${options.healthPort}: ${errorText(err)}`,
      );
    }
  }

  log.info('bridge_starting', {
    ...describeOptions(options),
    subscription: subscription.filter,
    replay: journal.pending,
  });
  client.connect();
  forwarder.notify();
  forwarder.startReporting();

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      const t0 = now();
      log.info('bridge_stopping', { pending: journal.pending });
      subscription.stop();
      // 1. Stop receiving. No UNSUBSCRIBE: the persistent session keeps queueing while we are down.
      gate.stop(); // journals what is staged before ending the connection flushes its PUBACKs
      await Promise.race([
        client.endAsync(false).catch(() => undefined),
        new Promise((resolve) => setTimeout(resolve, 2000).unref()),
      ]);
      if (!client.disconnected) await client.endAsync(true).catch(() => undefined);
      connected = false;
      // 2. Forward what is journaled, within the deadline.
      const remaining = Math.max(0, options.shutdownTimeoutMs - (now() - t0));
      const flushed = await forwarder.flush(remaining);
      forwarder.stop();
      // 3. fsync and close.
      clearInterval(syncTimer);
      if (statusTimer) clearInterval(statusTimer);
      await journal.close();
      const s = stats();
      writeStatus({ stopped: true });
      await healthServer?.close();
      log.info('bridge_stopped', {
        flushed,
        pending: s.pending,
        received: s.received,
        forwarded: s.forwarded,
        note: flushed ? undefined : 'unforwarded messages stay in the journal and are sent on the next start',
      });
    })();
    return stopPromise;
  };

  return {
    options,
    subscribed: subscription.subscribed,
    firstReport: forwarder.firstReport,
    healthPort: healthServer?.port,
    stats,
    health,
    stop,
  };
}
