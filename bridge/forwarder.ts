/**
 * Forwarder: takes records from the journal in seq order, batches them (maxBatch / maxBatchBytes,
 * linger), POSTs gzip JSON IngestBatch to mqtt_ingest, keeps up to maxInflightBatches requests in
 * flight, and advances the journal cursor only over a contiguous prefix of accepted batches.
 *
 * The linger is a latency budget (docs/bridge.md, "Latency budget"): when traffic is light, a batch
 * waits until its oldest message has waited lingerMs, so one ingest execution carries many
 * messages. It leaves at once when it is full (maxBatch messages or maxBatchBytes), when the
 * journal spilled or is nearly full (waiting must never cause backpressure), and on flush().
 *
 * A batch is retried until ingest answers 2xx: non-2xx, network errors and timeouts back off
 * exponentially with jitter (503/429 honour Retry-After). Nothing is ever dropped. While a batch
 * is failing no new batches are started, so a recovering ingest is not flooded.
 *
 * Every request carries the backlog report (pending, age of the oldest; `x-bridge-report`), and
 * when nothing was sent for reportIntervalMs an empty batch carries it (heartbeat): the platform
 * sees a stuck pipeline from outside the VM, also while every batch fails.
 */
import { gzipSync } from 'node:zlib';
import {
  BRIDGE_REPORT_HEADER,
  FUNCTION_KEY_HEADER,
  formatBridgeReport,
  type IngestResponse,
  type IngestStatus,
} from '../common/ingest-protocol.js';
import { createHttpClient, type FetchLike, type HttpClient } from './http.js';
import type { JournalRecord } from './journal.js';
import { errorText, type Logger } from './log.js';

export type SleepFn = (ms: number, signal?: AbortSignal) => Promise<void>;

/** setTimeout-based sleep that rejects with an AbortError when the signal fires. */
export const realSleep: SleepFn = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Exponential backoff with "equal jitter": between half and all of min(max, base * 2^attempt). */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. Undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

/** The IngestBatch JSON (common/ingest-protocol.ts) for these records (ids `<bridgeId>:<seq>`), built without intermediate objects. */
export function encodeBatch(records: readonly JournalRecord[], bridgeId: string): string {
  const parts: string[] = new Array<string>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i] as JournalRecord;
    parts[i] =
      `{"id":"${bridgeId}:${r.seq}","topic":${JSON.stringify(r.topic)},` +
      `"payload":"${r.payload.toString('base64')}","receivedAt":${r.receivedAt}}`;
  }
  return `{"messages":[${parts.join(',')}]}`;
}

/** Where the forwarder gets records from and reports progress to (the Journal). */
export interface ForwarderSource {
  /** Records not yet accepted by ingest (in flight included). */
  readonly pending: number;
  readonly hasDispatchable: boolean;
  readonly undispatched: number;
  /** Journal bytes of the records take() would hand out next (at least those in memory). */
  readonly undispatchedBytes: number;
  readonly spilled: boolean;
  /** A memory or disk bound is near: send without lingering. */
  readonly nearlyFull: boolean;
  readonly dispatchedThrough: number;
  readonly cursor: number;
  oldestUndispatchedAt(): number | undefined;
  take(maxCount: number, maxBytes: number): JournalRecord[];
  commit(seq: number): void;
}

export interface ForwarderOptions {
  bridgeId: string;
  ingestUrl: string;
  ingestKey: string;
  maxBatch: number;
  maxBatchBytes: number;
  /** Latency budget: the longest the oldest message of a batch that is not full waits for more. */
  lingerMs: number;
  maxInflightBatches: number;
  requestTimeoutMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  maxRetryAfterMs: number;
  gzipLevel: number;
  /** Heartbeat period once startReporting() was called (see the module comment). */
  reportIntervalMs?: number;
}

const EMPTY_BATCH = '{"messages":[]}';

export type { FetchLike } from './http.js';

export interface ForwarderDeps {
  /** HTTP client (default: node:http keep-alive client; the global fetch works too). */
  fetch?: FetchLike;
  sleep?: SleepFn;
  now?: () => number;
  random?: () => number;
  logger?: Logger;
}

export interface ForwarderCounters {
  forwarded: number;
  batches: number;
  retries: number;
  inserted: number;
  duplicates: number;
  rejected: number;
  lastError: string | null;
  lastErrorAt: number | null;
  lastForwardAt: number | null;
}

interface Batch {
  firstSeq: number;
  lastSeq: number;
  count: number;
  firstReceivedAt: number;
  done: boolean;
}

export class Forwarder {
  readonly counters: ForwarderCounters = {
    forwarded: 0,
    batches: 0,
    retries: 0,
    inserted: 0,
    duplicates: 0,
    rejected: 0,
    lastError: null,
    lastErrorAt: null,
    lastForwardAt: null,
  };
  /** Called after the cursor advanced (journal space may have been freed). */
  onCommit: (() => void) | undefined;

  private readonly inflight: Batch[] = [];
  private failing = 0;
  private lingerTimer: NodeJS.Timeout | undefined;
  private flushing = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private emptyBatch: Buffer | undefined;
  private readonly idleWaiters: Array<() => void> = [];
  private outageSince: number | undefined;
  private outageAttempts = 0;
  private readonly fetchFn: FetchLike;
  private http: HttpClient | undefined;
  private readonly sleep: SleepFn;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly log: Logger | undefined;
  /** now() when the last report left, with a batch or as a heartbeat. */
  private lastReportAt = Number.NEGATIVE_INFINITY;
  private reportTimer: NodeJS.Timeout | undefined;
  private reportFailing = false;
  private resolveFirstReport!: () => void;
  /** Resolves once the first report was answered (any status) or failed, or on stop(). */
  readonly firstReport = new Promise<void>((resolve) => (this.resolveFirstReport = resolve));

  constructor(
    private readonly opts: ForwarderOptions,
    private readonly source: ForwarderSource,
    deps: ForwarderDeps = {},
  ) {
    if (deps.fetch) {
      this.fetchFn = deps.fetch;
    } else {
      this.http = createHttpClient(Math.max(2, opts.maxInflightBatches * 2));
      this.fetchFn = this.http.fetch;
    }
    this.sleep = deps.sleep ?? realSleep;
    this.now = deps.now ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.log = deps.logger;
  }

  get inflightBatches(): number {
    return this.inflight.length;
  }

  /** receivedAt of the oldest message not yet accepted by ingest. */
  oldestPendingAt(): number | undefined {
    return this.inflight[0]?.firstReceivedAt ?? this.source.oldestUndispatchedAt();
  }

  /**
   * The backlog: messages not yet accepted by ingest and the age of the oldest. While the head
   * batch is retried it stays first in flight, so the age keeps growing from its first message.
   * One computation for /health, /metrics, the status file and the report ingest records.
   */
  backlog(): { pending: number; oldestPendingAgeMs: number } {
    const pending = this.source.pending;
    const oldest = this.oldestPendingAt();
    return {
      pending,
      oldestPendingAgeMs: pending > 0 && oldest !== undefined ? Math.max(0, this.now() - oldest) : 0,
    };
  }

  private requestHeaders(): Record<string, string> {
    const now = this.now();
    this.lastReportAt = now;
    return {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
      [FUNCTION_KEY_HEADER]: this.opts.ingestKey,
      [BRIDGE_REPORT_HEADER]: formatBridgeReport({
        bridgeId: this.opts.bridgeId,
        ...this.backlog(),
        sentAt: now,
      }),
    };
  }

  /** Starts the heartbeat: a report at once, then whenever none left for reportIntervalMs. */
  startReporting(): void {
    if (!this.opts.reportIntervalMs || this.stopped || this.reportTimer !== undefined) return;
    this.armReport();
  }

  private armReport(): void {
    const interval = this.opts.reportIntervalMs;
    if (!interval || this.stopped) return;
    const wait = Math.min(interval, Math.max(0, this.lastReportAt + interval - this.now()));
    this.reportTimer = setTimeout(() => void this.heartbeat(), wait);
    this.reportTimer.unref();
  }

  private async heartbeat(): Promise<void> {
    this.reportTimer = undefined;
    const interval = this.opts.reportIntervalMs ?? 0;
    if (this.stopped) return;
    // A batch carried a report meanwhile: wait for the rest of the interval.
    if (this.now() < this.lastReportAt + interval) return this.armReport();
    try {
      const res = await this.fetchFn(this.opts.ingestUrl, {
        method: 'POST',
        headers: this.requestHeaders(),
        body: (this.emptyBatch ??= gzipSync(Buffer.from(EMPTY_BATCH), { level: this.opts.gzipLevel })),
        signal: AbortSignal.any([AbortSignal.timeout(this.opts.requestTimeoutMs), this.abort.signal]),
      });
      const text = await res.text();
      if (res.status < 200 || res.status >= 300) {
        throw new Error(
          `ingest answered HTTP ${res.status}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`,
        );
      }
      if (this.reportFailing) this.log?.info('ingest_report_recovered', {});
      this.reportFailing = false;
    } catch (err) {
      if (this.stopped) return;
      // Once per episode: while idle this is the only sign that ingest cannot hear the bridge.
      if (!this.reportFailing) {
        this.log?.warn('ingest_report_failed', {
          error: errorText(err),
          note: 'the platform does not hear from this bridge; its daily.bridge-backlog check fails when this lasts',
        });
      }
      this.reportFailing = true;
    } finally {
      this.resolveFirstReport();
    }
    this.armReport();
  }

  /**
   * New records are in the source. Cheap: called once per received message. While the linger timer
   * waits, only a batch that must leave now (see sendNow) is dispatched before it fires.
   */
  notify(): void {
    if (this.failing > 0 || this.stopped) return;
    if (this.inflight.length >= this.opts.maxInflightBatches) return;
    if (this.lingerTimer !== undefined && !this.sendNow()) return;
    this.pump();
  }

  /**
   * Send without lingering: a batch is full (maxBatch messages or maxBatchBytes), the journal
   * spilled or is nearly full (lingering must not lead to backpressure), or flush() runs.
   */
  private sendNow(): boolean {
    const s = this.source;
    return (
      this.flushing ||
      s.spilled ||
      s.undispatched >= this.opts.maxBatch ||
      s.undispatchedBytes >= this.opts.maxBatchBytes ||
      s.nearlyFull
    );
  }

  private pump(): void {
    if (this.stopped) return;
    while (
      this.inflight.length < this.opts.maxInflightBatches &&
      this.failing === 0 &&
      this.source.hasDispatchable
    ) {
      if (!this.sendNow()) {
        const oldest = this.source.oldestUndispatchedAt();
        const wait = oldest === undefined ? 0 : oldest + this.opts.lingerMs - this.now();
        if (wait > 0) {
          if (this.lingerTimer === undefined) {
            this.lingerTimer = setTimeout(() => {
              this.lingerTimer = undefined;
              this.pump();
            }, Math.ceil(wait));
          }
          return;
        }
      }
      const records = this.source.take(this.opts.maxBatch, this.opts.maxBatchBytes);
      if (records.length === 0) break;
      const first = records[0] as JournalRecord;
      const batch: Batch = {
        firstSeq: first.seq,
        lastSeq: (records[records.length - 1] as JournalRecord).seq,
        count: records.length,
        firstReceivedAt: first.receivedAt,
        done: false,
      };
      this.inflight.push(batch);
      void this.send(batch, records).catch((err: unknown) => {
        // send() handles its own errors; this is a bug guard that keeps the batch unacknowledged.
        this.log?.error('forwarder_internal_error', { error: errorText(err) });
      });
    }
    if (this.lingerTimer !== undefined && (!this.source.hasDispatchable || this.flushing)) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      if (this.flushing) this.pump();
    }
    this.checkIdle();
  }

  private async send(batch: Batch, records: JournalRecord[]): Promise<void> {
    const json = encodeBatch(records, this.opts.bridgeId);
    records.length = 0;
    // Synchronous: a batch compresses in well under a millisecond at level 1, less than the
    // thread-pool hand-off of the asynchronous call costs (and no per-thread malloc arenas).
    const body = gzipSync(Buffer.from(json, 'utf8'), { level: this.opts.gzipLevel });
    let attempt = 0;
    let markedFailing = false;
    for (;;) {
      if (this.stopped) return;
      let failure: string;
      let retryAfterMs: number | undefined;
      const attemptAt = this.now();
      try {
        let res;
        try {
          res = await this.fetchFn(this.opts.ingestUrl, {
            method: 'POST',
            headers: this.requestHeaders(), // the report is computed per attempt: the age grows
            body,
            signal: AbortSignal.any([AbortSignal.timeout(this.opts.requestTimeoutMs), this.abort.signal]),
          });
        } finally {
          this.resolveFirstReport();
        }
        const text = await res.text();
        if (res.status >= 200 && res.status < 300) {
          this.accept(batch, res.status, text);
          batch.done = true;
          if (markedFailing) this.failing--;
          this.recovered(attemptAt);
          this.complete();
          return;
        }
        failure = `ingest answered HTTP ${res.status}${text ? `: ${text.slice(0, 200).replace(/\s+/g, ' ')}` : ''}`;
        if (res.status === 503 || res.status === 429) {
          const ra = parseRetryAfter(res.headers.get('retry-after'), this.now());
          if (ra !== undefined) retryAfterMs = Math.min(ra, this.opts.maxRetryAfterMs);
        }
      } catch (err) {
        if (this.stopped) return;
        failure = `ingest request failed: ${errorText(err)}`;
      }
      this.counters.retries++;
      this.counters.lastError = failure;
      this.counters.lastErrorAt = this.now();
      if (!markedFailing) {
        markedFailing = true;
        this.failing++;
      }
      const delay =
        retryAfterMs ?? backoffDelay(attempt, this.opts.retryBaseMs, this.opts.retryMaxMs, this.random);
      attempt++;
      this.failed(failure, delay, batch);
      try {
        await this.sleep(delay, this.abort.signal);
      } catch {
        return; // stopped
      }
    }
  }

  private accept(batch: Batch, status: number, text: string): void {
    this.counters.forwarded += batch.count;
    this.counters.batches++;
    this.counters.lastForwardAt = this.now();
    let results: IngestResponse['results'] | undefined;
    try {
      results = (JSON.parse(text) as IngestResponse).results;
    } catch {
      results = undefined;
    }
    if (!Array.isArray(results)) {
      this.log?.warn('ingest_response_unreadable', {
        status,
        firstSeq: batch.firstSeq,
        note: 'a 2xx answer means the batch is durably handled; per-message counts are unknown',
      });
      return;
    }
    if (results.length !== batch.count) {
      this.log?.warn('ingest_results_mismatch', {
        expected: batch.count,
        got: results.length,
        firstSeq: batch.firstSeq,
      });
    }
    const counts: Record<IngestStatus, number> = { inserted: 0, duplicate: 0, rejected: 0 };
    for (const r of results) {
      if (r && (r.status === 'inserted' || r.status === 'duplicate' || r.status === 'rejected'))
        counts[r.status]++;
    }
    this.counters.inserted += counts.inserted;
    this.counters.duplicates += counts.duplicate;
    this.counters.rejected += counts.rejected;
  }

  private failed(failure: string, delayMs: number, batch: Batch): void {
    this.outageAttempts++;
    if (this.outageSince === undefined) {
      this.outageSince = this.now();
      this.log?.warn('ingest_unavailable', {
        error: failure,
        retryInMs: delayMs,
        firstSeq: batch.firstSeq,
        policy:
          'retrying with backoff until ingest accepts; messages stay in the journal, nothing is dropped',
      });
    } else if (this.outageAttempts % 20 === 0) {
      this.log?.warn('ingest_still_unavailable', {
        error: failure,
        attempts: this.outageAttempts,
        downForMs: this.now() - this.outageSince,
      });
    }
  }

  /**
   * A success ends the outage only when its request went out after the outage was noticed: a batch
   * sent just before ingest went down can still be accepted after another batch failed, and would
   * otherwise end the outage at once and start it again (two `ingest_unavailable` for one outage).
   */
  private recovered(attemptAt: number): void {
    if (this.outageSince === undefined || attemptAt < this.outageSince) return;
    this.log?.info('ingest_recovered', {
      downForMs: this.now() - this.outageSince,
      failedAttempts: this.outageAttempts,
    });
    this.outageSince = undefined;
    this.outageAttempts = 0;
  }

  private complete(): void {
    let committed: number | undefined;
    while (this.inflight[0]?.done) {
      committed = (this.inflight.shift() as Batch).lastSeq;
    }
    if (
      this.inflight.length === 0 &&
      !this.source.hasDispatchable &&
      this.source.dispatchedThrough > (committed ?? 0)
    ) {
      committed = this.source.dispatchedThrough;
    }
    if (committed !== undefined && committed > this.source.cursor) {
      this.source.commit(committed);
      this.onCommit?.();
    }
    this.pump();
  }

  private checkIdle(): void {
    if (this.inflight.length > 0 || this.source.hasDispatchable) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Sends everything that is in the journal now (no linger) and resolves true once all of it was
   * accepted, or false at the deadline (the rest stays in the journal for the next start).
   */
  async flush(timeoutMs: number): Promise<boolean> {
    this.flushing = true;
    this.pump();
    if (this.inflight.length === 0 && !this.source.hasDispatchable) return true;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true)));
    const deadline = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      return await Promise.race([idle, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Aborts requests and retries; unaccepted batches stay in the journal. */
  stop(): void {
    this.stopped = true;
    if (this.lingerTimer !== undefined) clearTimeout(this.lingerTimer);
    this.lingerTimer = undefined;
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    this.resolveFirstReport();
    this.abort.abort(new Error('bridge stopping'));
    this.http?.close();
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
