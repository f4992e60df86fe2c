/**
 * The MQTT -> mqtt_ingest bridge. See docs/bridge.md for the design and its guarantees.
 *
 * Receive path (per message, synchronous, no async hop): mqtt.js calls `handleMessage` for each
 * incoming PUBLISH, one at a time per connection, and sends the PUBACK when its callback is
 * called. We append the message to the journal with write(2) and then call the callback. The
 * forwarder sends the journal to ingest in the background.
 *
 * Rules:
 * - Never call the callback with a reason code (a negative PUBACK makes the broker drop the
 *   message). On a local failure call `callback(error)`: no PUBACK, the broker redelivers after a
 *   reconnect (which we then force).
 * - A PUBACK only goes out on the connection the PUBLISH came in on: if that connection is gone
 *   by the time the callback would run, mqtt.js would queue the PUBACK and send it on the next
 *   connection, where the packet id may mean another message (session lost). We withhold it.
 * - Journal full: the callback waits (no PUBACK = backpressure); mqtt.js reads nothing more from
 *   this connection until then. Logged once on entering and once on leaving that state.
 */
import { readFileSync } from 'node:fs';
import type { Duplex } from 'node:stream';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { bridgeSubscription } from '../common/topics.js';
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

interface Waiter {
  packet: IPublishPacket;
  receivedAt: number;
  stream: Duplex;
  callback: (err?: Error) => void;
}

const ERROR_LOG_INTERVAL_MS = 10_000;

function memory(): { rssBytes: number; heapUsedBytes: number; externalBytes: number } {
  const m = process.memoryUsage();
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, externalBytes: m.external };
}
const FULL_QUIET_MS = 2000;

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

  let received = 0;
  let redeliveries = 0;
  let connected = false;
  let mqttError: { text: string; at: number } | null = null;
  let writeFailing = false;
  let lastWriteErrorLog = 0;
  let full = false;
  let stopping = false;
  const waiters: Waiter[] = [];
  const resumeBelow = options.maxJournalBytes - options.segmentBytes;

  const stats = (): BridgeStats => {
    const c = forwarder.counters;
    const backlog = forwarder.backlog();
    const fwdErrAt = c.lastErrorAt ?? 0;
    const mqttErrAt = mqttError?.at ?? 0;
    const lastError = mqttErrAt > fwdErrAt ? (mqttError?.text ?? null) : c.lastError;
    const lastErrorAt = Math.max(fwdErrAt, mqttErrAt);
    const iso = (t: number | null): string | null => (t ? new Date(t).toISOString() : null);
    return {
      received,
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
      redeliveries,
      journalFull: full,
      journalFullEpisodes: fullEpisodes,
      journalWriteFailing: writeFailing,
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
    resubscribe: false, // we decide when to subscribe (see the 'connect' handler)
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

  /** The PUBACK may go out only on the connection the PUBLISH arrived on. */
  const sameConnection = (stream: unknown): boolean => client.connected && client.stream === stream;

  const topicOf = (packet: IPublishPacket): string => packet.topic;
  const payloadOf = (packet: IPublishPacket): Buffer =>
    typeof packet.payload === 'string' ? Buffer.from(packet.payload, 'utf8') : packet.payload;

  /** Appends; returns false when the journal is full. Throws on local I/O failure. */
  const journalPacket = (packet: IPublishPacket, receivedAt: number): boolean => {
    const payload = payloadOf(packet);
    const r = journal.append(
      topicOf(packet),
      payload,
      receivedAt,
      packet.messageId ?? 0,
      packet.dup === true,
    );
    if (r.kind === 'full') return false;
    if (r.kind === 'redelivery') redeliveries++;
    else received++;
    if (!held) writeRecovered();
    return true;
  };
  const writeRecovered = (): void => {
    if (!writeFailing) return;
    writeFailing = false;
    log.info('journal_write_recovered', {});
  };

  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectDelay = 1000;
  const localFailure = (err: unknown, packet?: IPublishPacket): void => {
    const text = `journal write failed: ${errorText(err)}`;
    mqttError = { text, at: now() };
    if (!writeFailing || now() - lastWriteErrorLog > ERROR_LOG_INTERVAL_MS) {
      lastWriteErrorLog = now();
      log.error('journal_write_failed', {
        error: errorText(err),
        topic: packet ? topicOf(packet) : undefined,
        policy: 'message not acknowledged; the broker redelivers it after the reconnect the bridge forces',
      });
    }
    writeFailing = true;
    // Unacknowledged messages are redelivered only on a new connection: force one, with backoff.
    if (reconnectTimer === undefined && !stopping) {
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        if (!stopping) client.stream?.destroy();
      }, reconnectDelay);
      reconnectDelay = Math.min(reconnectDelay * 2, 30_000);
    }
  };

  // Catching up on a backlog flaps between full and not full a segment at a time: one warning per
  // episode, which ends after FULL_QUIET_MS without being full.
  let fullEpisodeStart: number | undefined;
  let fullEpisodeTimer: NodeJS.Timeout | undefined;
  let lastFullExit = 0;
  let fullEpisodes = 0;
  const enterFull = (): void => {
    if (full) return;
    full = true;
    if (fullEpisodeTimer) clearTimeout(fullEpisodeTimer);
    fullEpisodeTimer = undefined;
    if (fullEpisodeStart !== undefined) return;
    fullEpisodeStart = now();
    fullEpisodes++;
    log.warn('journal_full', {
      journalBytes: journal.bytes,
      maxJournalBytes: options.maxJournalBytes,
      pending: journal.pending,
      policy:
        'withholding PUBACKs until forwarded segments free space; the broker keeps queueing for this session ' +
        '(its max_queued_messages must be large enough); nothing is dropped by the bridge',
    });
  };

  const releaseWaiters = (): void => {
    if (!full && waiters.length === 0) return;
    if (full && journal.bytes > resumeBelow && waiters.length > 0 && sameConnection(waiters[0]?.stream))
      return;
    while (waiters.length > 0) {
      const w = waiters[0] as Waiter;
      if (!sameConnection(w.stream)) {
        waiters.shift();
        w.callback(new Error('connection closed while waiting for journal space'));
        continue;
      }
      holdAcks(w.stream);
      let ok: boolean;
      try {
        ok = journalPacket(w.packet, w.receivedAt);
      } catch (err) {
        waiters.shift();
        localFailure(err, w.packet);
        w.callback(err as Error);
        continue;
      }
      if (!ok) return;
      waiters.shift();
      w.callback();
    }
    if (full && journal.bytes <= resumeBelow) {
      full = false;
      lastFullExit = now();
      scheduleFullEpisodeEnd();
    }
    forwarder.notify();
  };
  const scheduleFullEpisodeEnd = (): void => {
    if (fullEpisodeTimer) clearTimeout(fullEpisodeTimer);
    fullEpisodeTimer = setTimeout(() => {
      fullEpisodeTimer = undefined;
      if (full || fullEpisodeStart === undefined) return;
      log.info('journal_space_available', {
        journalBytes: journal.bytes,
        maxJournalBytes: options.maxJournalBytes,
        fullForMs: lastFullExit - fullEpisodeStart,
        note: 'acknowledging messages again',
      });
      fullEpisodeStart = undefined;
    }, FULL_QUIET_MS);
    fullEpisodeTimer.unref();
  };
  forwarder.onCommit = releaseWaiters;

  // Group commit. mqtt.js handles the packets of one socket read on consecutive ticks and sends
  // each PUBACK with its own write(2). While acks are held, the socket is corked and the journal
  // stages its appends; at the next setImmediate (after those ticks) the journal writes them with
  // one write(2), and only then is the socket uncorked, so every PUBACK still leaves after its
  // message is in the journal. If that write fails, the connection is dropped with the PUBACKs
  // still in it: the broker redelivers those messages.
  let held: Duplex | undefined;
  const releaseAcks = (): void => {
    const stream = held;
    if (!stream) return;
    held = undefined;
    try {
      journal.flushStaged();
    } catch (err) {
      stream.destroy();
      received -= (err as { unstaged?: number }).unstaged ?? 0; // they come again
      localFailure(err);
      return;
    }
    writeRecovered();
    stream.uncork();
    forwarder.notify();
  };
  const holdAcks = (stream: Duplex): void => {
    if (held === stream) return;
    releaseAcks();
    held = stream;
    stream.cork();
    journal.beginStaging();
    setImmediate(releaseAcks);
  };

  client.handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
    const stream = client.stream;
    const receivedAt = now();
    if (stopping) {
      callback(new Error('bridge stopping')); // no PUBACK: the broker keeps it for the next start
      return;
    }
    if (full || waiters.length > 0) {
      waiters.push({ packet, receivedAt, stream, callback });
      enterFull();
      return;
    }
    const live = sameConnection(stream);
    if (live) holdAcks(stream);
    let ok: boolean;
    try {
      ok = journalPacket(packet, receivedAt);
    } catch (err) {
      localFailure(err, packet);
      callback(err as Error);
      return;
    }
    if (!ok) {
      waiters.push({ packet, receivedAt, stream, callback });
      enterFull();
      return;
    }
    if (live) callback();
    else callback(new Error('connection closed before the acknowledgement'));
  };

  let subscribedResolve!: () => void;
  const subscribed = new Promise<void>((resolve) => (subscribedResolve = resolve));
  let subscribeOk = false;
  let subscribeTimer: NodeJS.Timeout | undefined;
  const filter = bridgeSubscription(options.sharedSubscription);
  const subscribe = (): void => {
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      const g = granted?.[0];
      if (err || !g || g.qos > 2) {
        const text = `subscribe ${filter} failed: ${err ? errorText(err) : `granted ${String(g?.qos)}`}`;
        mqttError = { text, at: now() };
        log.error('mqtt_subscribe_failed', { filter, error: text, retryInMs: 5000 });
        if (!stopping) subscribeTimer = setTimeout(subscribe, 5000);
        return;
      }
      if (g.qos < 1)
        log.warn('mqtt_subscription_downgraded', { filter, qos: g.qos, note: 'QoS 0 messages can be lost' });
      subscribeOk = true;
      log.info('mqtt_subscribed', { filter, qos: g.qos });
      subscribedResolve();
    });
  };

  let everConnected = false;
  let disconnectedAt: number | undefined;
  client.on('connect', (connack) => {
    connected = true;
    reconnectDelay = 1000;
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
    // Subscribe when the broker has no session for us, and always for a shared subscription:
    // Mosquitto 2.0 restores a persistent session after a restart but not its $share subscription.
    if (!connack.sessionPresent || !subscribeOk || options.sharedSubscription) {
      if (subscribeTimer) clearTimeout(subscribeTimer);
      subscribe();
    }
    everConnected = true;
  });
  client.on('close', () => {
    if (connected && !stopping) {
      disconnectedAt = now();
      log.warn('mqtt_disconnected', { reconnectInMs: options.reconnectPeriodMs });
    }
    connected = false;
    // Waiters of the dead connection get no PUBACK: the broker redelivers them.
    if (waiters.length > 0) releaseWaiters();
  });
  let lastMqttErrorText = '';
  client.on('error', (err) => {
    const text = `mqtt: ${errorText(err)}`;
    mqttError = { text, at: now() };
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

  log.info('bridge_starting', { ...describeOptions(options), subscription: filter, replay: journal.pending });
  client.connect();
  forwarder.notify();
  forwarder.startReporting();

  let stopPromise: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      const t0 = now();
      log.info('bridge_stopping', { pending: journal.pending });
      if (subscribeTimer) clearTimeout(subscribeTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (fullEpisodeTimer) clearTimeout(fullEpisodeTimer);
      // 1. Stop receiving. No UNSUBSCRIBE: the persistent session keeps queueing while we are down.
      releaseAcks(); // journal what is staged before ending the connection flushes its PUBACKs
      for (const w of waiters.splice(0)) w.callback(new Error('bridge stopping'));
      full = false;
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
    subscribed,
    firstReport: forwarder.firstReport,
    healthPort: healthServer?.port,
    stats,
    health,
    stop,
  };
}
