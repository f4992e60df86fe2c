/**
 * The bridge's receive path: what decides when a PUBLISH is acknowledged. See docs/bridge.md
 * ("Receive path: journal first, then PUBACK" and "Backpressure").
 *
 * Per message, synchronous, no async hop: mqtt.js calls `handleMessage` for each incoming PUBLISH,
 * one at a time per connection, and sends the PUBACK when its callback is called. We append the
 * message to the journal with write(2) and then call the callback. The forwarder sends the journal
 * to ingest in the background.
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
import type { Duplex } from 'node:stream';
import type { IPublishPacket } from 'mqtt';
import type { Journal } from './journal.js';
import { errorText, type Logger } from './log.js';

/** The MQTT client as the gate sees it (an mqtt.js MqttClient fits). */
export interface AckConnection {
  readonly connected: boolean;
  /** The current connection: mqtt.js opens a new stream for every (re)connect. */
  readonly stream: Duplex | undefined;
}

export interface AckGateDeps {
  connection: AckConnection;
  journal: Journal;
  /** Told when records are in the journal (cheap; the forwarder's `notify`). */
  notify: () => void;
  /** maxJournalBytes and segmentBytes: acknowledging resumes below maxJournalBytes - segmentBytes. */
  maxJournalBytes: number;
  segmentBytes: number;
  log: Logger;
  now: () => number;
  /** A local failure, for the bridge's `lastError`. */
  onError: (text: string) => void;
}

export interface AckGate {
  /** mqtt.js' `handleMessage`: journals the PUBLISH, then lets its PUBACK go (or withholds it). */
  handleMessage(packet: IPublishPacket, callback: (err?: Error) => void): void;
  /** Journal space may have been freed (the forwarder committed): retries the waiting messages. */
  spaceFreed(): void;
  /** A CONNACK arrived: the forced-reconnect backoff starts again at 1 s. */
  connectionOpened(): void;
  /** The connection closed: its waiting messages get no PUBACK (the broker redelivers them). */
  connectionClosed(): void;
  /**
   * Stops acknowledging for good: journals what is staged (its PUBACKs leave before the connection
   * ends), refuses the waiting messages and every later one (no PUBACK: the broker keeps them).
   */
  stop(): void;
  /** Messages journaled by this process. */
  readonly received: number;
  /** DUP redeliveries recognised as already journaled. */
  readonly redeliveries: number;
  /** Withholding PUBACKs because the journal is full. */
  readonly full: boolean;
  readonly fullEpisodes: number;
  readonly writeFailing: boolean;
}

interface Waiter {
  packet: IPublishPacket;
  receivedAt: number;
  stream: Duplex;
  callback: (err?: Error) => void;
}

const ERROR_LOG_INTERVAL_MS = 10_000;
const FULL_QUIET_MS = 2000;

export function createAckGate(deps: AckGateDeps): AckGate {
  const { connection, journal, notify, log, now } = deps;
  let received = 0;
  let redeliveries = 0;
  let writeFailing = false;
  let lastWriteErrorLog = 0;
  let full = false;
  let stopping = false;
  const waiters: Waiter[] = [];
  const resumeBelow = deps.maxJournalBytes - deps.segmentBytes;

  /** The PUBACK may go out only on the connection the PUBLISH arrived on. */
  const sameConnection = (stream: unknown): boolean => connection.connected && connection.stream === stream;

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
    deps.onError(text);
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
    // Only the connection that failed: when it is already gone (the group-commit path destroys it)
    // and mqtt.js has connected again, the redelivery happens there, and dropping it would waste
    // a reconnect.
    if (reconnectTimer === undefined && !stopping) {
      const failed = connection.stream;
      reconnectTimer = setTimeout(() => {
        reconnectTimer = undefined;
        if (!stopping && connection.stream === failed) failed?.destroy();
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
      maxJournalBytes: deps.maxJournalBytes,
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
    notify();
  };
  const scheduleFullEpisodeEnd = (): void => {
    if (fullEpisodeTimer) clearTimeout(fullEpisodeTimer);
    fullEpisodeTimer = setTimeout(() => {
      fullEpisodeTimer = undefined;
      if (full || fullEpisodeStart === undefined) return;
      log.info('journal_space_available', {
        journalBytes: journal.bytes,
        maxJournalBytes: deps.maxJournalBytes,
        fullForMs: lastFullExit - fullEpisodeStart,
        note: 'acknowledging messages again',
      });
      fullEpisodeStart = undefined;
    }, FULL_QUIET_MS);
    fullEpisodeTimer.unref();
  };

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
    notify();
  };
  const holdAcks = (stream: Duplex): void => {
    if (held === stream) return;
    releaseAcks();
    held = stream;
    stream.cork();
    journal.beginStaging();
    setImmediate(releaseAcks);
  };

  const handleMessage = (packet: IPublishPacket, callback: (err?: Error) => void): void => {
    // mqtt.js calls this from the packets of a connection: there is a stream.
    const stream = connection.stream as Duplex;
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

  return {
    handleMessage,
    spaceFreed: releaseWaiters,
    connectionOpened() {
      reconnectDelay = 1000;
    },
    connectionClosed() {
      // Waiters of the dead connection get no PUBACK: the broker redelivers them.
      if (waiters.length > 0) releaseWaiters();
    },
    stop() {
      stopping = true;
      if (reconnectTimer) clearTimeout(reconnectTimer);
      if (fullEpisodeTimer) clearTimeout(fullEpisodeTimer);
      releaseAcks(); // journal what is staged before ending the connection flushes its PUBACKs
      for (const w of waiters.splice(0)) w.callback(new Error('bridge stopping'));
      full = false;
    },
    get received() {
      return received;
    },
    get redeliveries() {
      return redeliveries;
    },
    get full() {
      return full;
    },
    get fullEpisodes() {
      return fullEpisodes;
    },
    get writeFailing() {
      return writeFailing;
    },
  };
}
