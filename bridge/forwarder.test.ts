import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { jest } from '@jest/globals';
import fc from 'fast-check';
import type { IngestBatch, IngestResult } from '../common/ingest-protocol.js';
import { BRIDGE_REPORT_HEADER, FUNCTION_KEY_HEADER } from '../common/ingest-protocol.js';
import {
  Forwarder,
  backoffDelay,
  encodeBatch,
  parseRetryAfter,
  type FetchLike,
  type ForwarderOptions,
} from './forwarder.js';
import type { HttpResponseLike } from './http.js';
import { Journal, type JournalOptions, type JournalRecord } from './journal.js';
import { createMemoryLogger } from './log.js';
import { tempDir, waitFor } from '../test/support/bridge-harness.js';

const dirs: string[] = [];
const journals: Journal[] = [];
afterAll(async () => {
  for (const j of journals) await j.close().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function journal(over: Partial<JournalOptions> = {}): Journal {
  const dir = tempDir('fwd');
  dirs.push(dir);
  const j = Journal.open({
    dir,
    segmentBytes: 1 << 16,
    maxBytes: 1 << 22,
    maxMemoryMessages: 10_000,
    maxMemoryBytes: 1 << 22,
    ...over,
  });
  journals.push(j);
  return j;
}

const OPTS: ForwarderOptions = {
  bridgeId: 'b1',
  ingestUrl: 'http://127.0.0.1:1/api/mqtt_ingest',
  ingestKey: 'k',
  maxBatch: 3,
  maxBatchBytes: 1 << 20,
  lingerMs: 40,
  maxInflightBatches: 2,
  requestTimeoutMs: 5000,
  retryBaseMs: 100,
  retryMaxMs: 1000,
  maxRetryAfterMs: 60_000,
  gzipLevel: 1,
};

interface Call {
  batch: IngestBatch;
  headers: Record<string, string>;
}

function decode(init: RequestInit): Call {
  const body = gunzipSync(init.body as Buffer).toString('utf8');
  return { batch: JSON.parse(body) as IngestBatch, headers: init.headers as Record<string, string> };
}

function ok(batch: IngestBatch, status: (i: number) => IngestResult['status'] = () => 'inserted'): Response {
  const results = batch.messages.map((m, i) => ({ id: m.id, status: status(i) }));
  return new Response(JSON.stringify({ results }), { status: 200 });
}

const add = (j: Journal, n: number, from = 0): void => {
  for (let i = from; i < from + n; i++) j.append('t/a/d/telemetry', Buffer.from(`m${i}`), Date.now(), 0);
};

describe('backoffDelay', () => {
  it('grows exponentially with jitter between half and all of the ceiling, capped', () => {
    expect(backoffDelay(0, 100, 10_000, () => 0)).toBe(50);
    expect(backoffDelay(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffDelay(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffDelay(3, 100, 10_000, () => 0)).toBe(400);
    expect(backoffDelay(20, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffDelay(1000, 100, 10_000, () => 0.5)).toBe(7500);
  });
});

describe('parseRetryAfter', () => {
  it('reads delta-seconds and HTTP dates', () => {
    expect(parseRetryAfter('7', 0)).toBe(7000);
    expect(parseRetryAfter(new Date(65_000).toUTCString(), 5_000)).toBe(60_000);
    expect(parseRetryAfter(new Date(1_000).toUTCString(), 5_000)).toBe(0);
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
    expect(parseRetryAfter(null, 0)).toBeUndefined();
  });
});

describe('encodeBatch', () => {
  it('produces an IngestBatch with stable ids and base64 payloads', () => {
    const records: JournalRecord[] = [
      { seq: 17, topic: 't/a/"q"/telemetry', payload: Buffer.from([0xff, 0, 1]), receivedAt: 123, bytes: 0 },
      { seq: 18, topic: 't/a/b/telemetry', payload: Buffer.from('{"x":1}'), receivedAt: 124.5, bytes: 0 },
    ];
    const batch = JSON.parse(encodeBatch(records, 'bridge-vm1')) as IngestBatch;
    expect(batch.messages).toEqual([
      {
        id: 'bridge-vm1:17',
        topic: 't/a/"q"/telemetry',
        payload: Buffer.from([0xff, 0, 1]).toString('base64'),
        receivedAt: 123,
      },
      {
        id: 'bridge-vm1:18',
        topic: 't/a/b/telemetry',
        payload: Buffer.from('{"x":1}').toString('base64'),
        receivedAt: 124.5,
      },
    ]);
  });
});

describe('Forwarder', () => {
  it('splits batches by bytes', async () => {
    const j = journal();
    const sizes: number[] = [];
    const fetch: FetchLike = async (_url, init) => {
      const { batch } = decode(init);
      sizes.push(batch.messages.length);
      return ok(batch);
    };
    for (let i = 0; i < 6; i++) j.append('t/a/d/telemetry', Buffer.alloc(400, 65), Date.now(), 0);
    const f = new Forwarder({ ...OPTS, maxBatch: 100, maxBatchBytes: 1000, lingerMs: 0 }, j, { fetch });
    f.notify();
    await waitFor(() => j.pending === 0, 2000, 'all forwarded');
    expect(sizes).toEqual([2, 2, 2]);
    f.stop();
  });

  it('retries failures with backoff and Retry-After, never drops, then counts the results', async () => {
    const j = journal();
    const delays: number[] = [];
    let n = 0;
    const seenIds: string[][] = [];
    const fetch: FetchLike = async (_url, init) => {
      const { batch } = decode(init);
      seenIds.push(batch.messages.map((m) => m.id));
      n++;
      if (n === 1) return new Response('boom', { status: 500 });
      if (n === 2) throw new TypeError('fetch failed');
      if (n === 3) return new Response('maintenance', { status: 503, headers: { 'retry-after': '2' } });
      if (n === 4) return new Response('bad key', { status: 401 });
      return ok(batch, (i) => (['inserted', 'duplicate', 'rejected'] as const)[i % 3] ?? 'inserted');
    };
    const f = new Forwarder({ ...OPTS, lingerMs: 0 }, j, {
      fetch,
      random: () => 1,
      sleep: async (ms) => {
        delays.push(ms);
      },
    });
    add(j, 3);
    f.notify();
    await waitFor(() => j.pending === 0, 2000, 'forwarded after retries');
    expect(delays).toEqual([100, 200, 2000, 800]);
    // Every attempt carried the same ids.
    expect(new Set(seenIds.map((ids) => ids.join()))).toEqual(new Set([seenIds[0]!.join()]));
    expect(f.counters).toMatchObject({ forwarded: 3, retries: 4, inserted: 1, duplicates: 1, rejected: 1 });
    expect(f.counters.lastError).toMatch(/401/);
    f.stop();
  });

  it('one outage, one ingest_unavailable: a batch sent before it began and accepted after another failed does not end it', async () => {
    const j = journal();
    let clock = 1_800_000_000_000;
    let releaseFirst!: () => void;
    const firstHeld = new Promise<void>((resolve) => (releaseFirst = resolve));
    let n = 0;
    const fetch: FetchLike = async (_url, init) => {
      const { batch } = decode(init);
      const call = ++n;
      // Batch 1 went out while ingest was up: its answer arrives late, after batch 2 failed.
      if (call === 1) {
        await firstHeld;
        return ok(batch);
      }
      if (call === 2) {
        clock += 10;
        throw new TypeError('read ECONNRESET');
      }
      // Batch 2's retries: ingest is still down for two more attempts, then back.
      clock += 10;
      if (call <= 4) throw new TypeError('socket hang up');
      return ok(batch);
    };
    const log = createMemoryLogger();
    const f = new Forwarder({ ...OPTS, lingerMs: 0, maxInflightBatches: 2 }, j, {
      fetch,
      now: () => clock,
      logger: log,
      random: () => 1,
      // Batch 2's backoff, after its failure was noted: now batch 1's late acceptance arrives.
      sleep: async () => {
        releaseFirst();
        await new Promise((r) => setTimeout(r, 5));
      },
    });
    add(j, 6);
    f.notify();
    await waitFor(() => j.pending === 0, 2000, 'both batches forwarded');
    expect(log.entries.filter((e) => e.msg === 'ingest_unavailable')).toHaveLength(1);
    const recovered = log.entries.filter((e) => e.msg === 'ingest_recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.fields.failedAttempts).toBe(3);
    f.stop();
  });

  it('reports the backlog with every attempt: the age of the refused head batch grows', async () => {
    const j = journal();
    let clock = 1_800_000_000_000;
    const t0 = clock;
    const reports: string[] = [];
    const fetch: FetchLike = async (_url, init) => {
      const call = decode(init);
      reports.push(call.headers[BRIDGE_REPORT_HEADER]!);
      return reports.length < 4 ? new Response('poison', { status: 503 }) : ok(call.batch);
    };
    const f = new Forwarder({ ...OPTS, lingerMs: 0 }, j, {
      fetch,
      now: () => clock,
      random: () => 1,
      sleep: async (ms) => void (clock += ms), // the backoff passes on the test's clock
    });
    for (let i = 0; i < 3; i++) j.append('t/a/d/telemetry', Buffer.from(`m${i}`), clock, 0);
    f.notify();
    await waitFor(() => j.pending === 0, 2000, 'accepted on the fourth attempt');
    expect(reports).toEqual([
      `v1 id=b1 pending=3 oldest-ms=0 sent-at=${t0}`,
      `v1 id=b1 pending=3 oldest-ms=100 sent-at=${t0 + 100}`,
      `v1 id=b1 pending=3 oldest-ms=300 sent-at=${t0 + 300}`,
      `v1 id=b1 pending=3 oldest-ms=700 sent-at=${t0 + 700}`,
    ]);
    expect(f.backlog()).toEqual({ pending: 0, oldestPendingAgeMs: 0 });
    f.stop();
  });

  it('heartbeats when idle: an empty batch with the report, failures logged once per episode, never counted', async () => {
    const j = journal();
    let clock = 1_800_000_000_000;
    let down = false;
    const heartbeats: Call[] = [];
    const fetch: FetchLike = async (_url, init) => {
      const call = decode(init);
      if (call.batch.messages.length === 0) heartbeats.push(call);
      return down ? new Response('', { status: 503 }) : ok(call.batch);
    };
    const log = createMemoryLogger();
    const f = new Forwarder({ ...OPTS, reportIntervalMs: 100 }, j, { fetch, now: () => clock, logger: log });
    f.startReporting();
    await waitFor(() => heartbeats.length === 1, 2000, 'a heartbeat at start');
    expect(heartbeats[0]!.headers[BRIDGE_REPORT_HEADER]).toBe(
      `v1 id=b1 pending=0 oldest-ms=0 sent-at=${clock}`,
    );
    expect(heartbeats[0]!.headers[FUNCTION_KEY_HEADER]).toBe('k');

    down = true;
    for (const n of [2, 3]) {
      clock += 100; // due again on the forwarder's clock
      await waitFor(() => heartbeats.length === n, 2000, `heartbeat ${n}`);
    }
    const failed = () => log.entries.filter((e) => e.msg === 'ingest_report_failed').length;
    await waitFor(() => failed() === 1, 2000, 'the failure logged');
    down = false;
    clock += 100;
    await waitFor(
      () => log.entries.some((e) => e.msg === 'ingest_report_recovered'),
      2000,
      'recovery logged',
    );
    expect(failed()).toBe(1);
    expect(heartbeats[3]!.headers[BRIDGE_REPORT_HEADER]).toBe(
      `v1 id=b1 pending=0 oldest-ms=0 sent-at=${clock}`,
    );
    expect(f.counters).toMatchObject({ batches: 0, retries: 0, forwarded: 0, lastError: null });
    f.stop();
  });

  it('caps Retry-After', async () => {
    const j = journal();
    const delays: number[] = [];
    let n = 0;
    const fetch: FetchLike = async (_url, init) =>
      ++n === 1
        ? new Response('', { status: 503, headers: { 'retry-after': '3600' } })
        : ok(decode(init).batch);
    const f = new Forwarder({ ...OPTS, lingerMs: 0, maxRetryAfterMs: 5000 }, j, {
      fetch,
      sleep: async (ms) => void delays.push(ms),
    });
    add(j, 1);
    f.notify();
    await waitFor(() => j.pending === 0, 2000, 'forwarded');
    expect(delays).toEqual([5000]);
    f.stop();
  });

  it('advances the cursor only over a contiguous prefix when batches complete out of order', async () => {
    const j = journal();
    const answers: Array<(r: Response) => void> = [];
    const batches: IngestBatch[] = [];
    const fetch: FetchLike = (_url, init) =>
      new Promise((resolve) => {
        batches.push(decode(init).batch);
        answers.push(resolve);
      });
    const f = new Forwarder({ ...OPTS, maxInflightBatches: 2, lingerMs: 0 }, j, { fetch });
    add(j, 9);
    const start = j.cursor;
    f.notify();
    await waitFor(() => answers.length === 2, 2000, 'two in flight');
    expect(f.inflightBatches).toBe(2);
    answers[1]!(ok(batches[1]!));
    await new Promise((r) => setTimeout(r, 50));
    expect(j.cursor).toBe(start); // batch 2 done, batch 1 not: nothing committed
    // A completed batch keeps its slot until it is committed: the uncommitted window stays bounded.
    expect(answers.length).toBe(2);
    answers[0]!(ok(batches[0]!));
    await waitFor(() => j.cursor === start + 6, 2000, 'cursor over batches 1 and 2');
    answers[2]!(ok(batches[2]!));
    await waitFor(() => j.cursor === start + 9, 2000, 'cursor at the end');
    f.stop();
  });

  it('starts no new batches while one is failing', async () => {
    const j = journal();
    let calls = 0;
    let healthy = false;
    const fetch: FetchLike = async (_url, init) => {
      calls++;
      return healthy ? ok(decode(init).batch) : new Response('', { status: 500 });
    };
    const f = new Forwarder(
      { ...OPTS, maxInflightBatches: 4, lingerMs: 0, retryBaseMs: 20, retryMaxMs: 20 },
      j,
      { fetch },
    );
    add(j, 30);
    f.notify();
    await new Promise((r) => setTimeout(r, 200));
    // The first dispatch round started up to 4 batches; after the failures only those retry.
    expect(f.inflightBatches).toBeLessThanOrEqual(4);
    const before = calls;
    expect(before).toBeGreaterThan(4);
    healthy = true;
    await waitFor(() => j.pending === 0, 3000, 'recovery');
    expect(f.counters.forwarded).toBe(30);
    f.stop();
  });

  it('flush() resolves false at the deadline when ingest stays down, leaving everything in the journal', async () => {
    const j = journal();
    const fetch: FetchLike = async () => new Response('', { status: 500 });
    const f = new Forwarder({ ...OPTS, lingerMs: 1000, retryBaseMs: 10, retryMaxMs: 10 }, j, { fetch });
    add(j, 2);
    f.notify();
    const t0 = Date.now();
    expect(await f.flush(150)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    f.stop();
    expect(j.pending).toBe(2);
  });

  it('flush() sends without waiting for the linger', async () => {
    const j = journal();
    const fetch: FetchLike = async (_url, init) => ok(decode(init).batch);
    const f = new Forwarder({ ...OPTS, lingerMs: 10_000 }, j, { fetch });
    add(j, 2);
    f.notify();
    expect(await f.flush(2000)).toBe(true);
    expect(j.pending).toBe(0);
    f.stop();
  });
});

/**
 * The linger as a latency budget, on jest's fake clock (Date.now and setTimeout): exact times, no
 * margins. Ingest answers at once (a resolved promise), so nothing waits for a free request slot.
 */
describe('Forwarder latency budget (fake clock)', () => {
  const T0 = Date.parse('2026-12-01T12:00:00Z');
  beforeEach(() => {
    jest.useFakeTimers({ now: T0, doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  /** Lets every pending promise chain (sends, answers, commits) run; the fake clock stands still. */
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  const tick = async (ms: number): Promise<void> => {
    await jest.advanceTimersByTimeAsync(ms);
    await settle();
  };

  interface Sent {
    at: number;
    seqs: number[];
    call: Call;
  }
  /** An ingest that accepts every batch at once and records when (fake clock) it arrived. */
  function instantIngest(): { sent: Sent[]; fetch: FetchLike } {
    const sent: Sent[] = [];
    const fetch: FetchLike = async (_url, init) => {
      const call = decode(init);
      sent.push({ at: Date.now(), seqs: call.batch.messages.map((m) => Number(m.id.split(':')[1])), call });
      const results = call.batch.messages.map((m) => ({ id: m.id, status: 'inserted' }));
      const answer: HttpResponseLike = {
        status: 200,
        headers: { get: () => null },
        text: async () => JSON.stringify({ results }),
      };
      return answer;
    };
    return { sent, fetch };
  }

  const put = (j: Journal, payload: Buffer | string = 'm'): number => {
    const r = j.append('t/a/d/telemetry', Buffer.from(payload), Date.now(), 0);
    if (r.kind !== 'appended') throw new Error(`unexpected ${r.kind}`);
    return r.seq;
  };

  const budget = { ...OPTS, maxBatch: 500, lingerMs: 1000 };

  it('light traffic: the batch waits until its oldest message has waited the budget, then goes as one', async () => {
    const j = journal();
    const { sent, fetch } = instantIngest();
    const f = new Forwarder(budget, j, { fetch, now: () => Date.now() });
    const seqs = [put(j)];
    f.notify();
    for (let i = 0; i < 9; i++) {
      await tick(100);
      seqs.push(put(j));
      f.notify();
    }
    await tick(99); // T0 + 999
    expect(sent).toHaveLength(0);
    await tick(1);
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([[1000, seqs]]);
    expect(j.cursor).toBe(seqs[9]);
    // The next message starts a new budget of its own.
    await tick(500);
    const late = put(j);
    f.notify();
    await tick(999);
    expect(sent).toHaveLength(1);
    await tick(1);
    expect(sent.map((s) => s.at - T0)).toEqual([1000, 2500]);
    expect(sent[1]!.seqs).toEqual([late]);
    expect(sent[0]!.call.headers[FUNCTION_KEY_HEADER]).toBe('k');
    expect(sent[0]!.call.headers['content-encoding']).toBe('gzip');
    expect(f.counters).toMatchObject({ forwarded: 11, inserted: 11, batches: 2, retries: 0 });
    f.stop();
  });

  it('full by count: sent at once while the linger timer waits; the remainder waits its own budget', async () => {
    const j = journal();
    const { sent, fetch } = instantIngest();
    const f = new Forwarder({ ...budget, maxBatch: 5, maxInflightBatches: 4 }, j, {
      fetch,
      now: () => Date.now(),
    });
    const seqs = [put(j)];
    f.notify(); // arms the timer for T0 + 1000
    await tick(100);
    for (let i = 0; i < 3; i++) {
      seqs.push(put(j));
      f.notify();
    }
    await settle();
    expect(sent).toHaveLength(0);
    seqs.push(put(j)); // the fifth: the batch is full
    f.notify();
    await settle();
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([[100, seqs]]);
    // 12 at once: two full batches now, two wait for the budget of the oldest of them.
    await tick(200);
    const more = Array.from({ length: 12 }, () => put(j));
    f.notify();
    await settle();
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([
      [100, seqs],
      [300, more.slice(0, 5)],
      [300, more.slice(5, 10)],
    ]);
    await tick(700); // T0 + 1000: the first timer fires, the remainder is younger
    expect(sent).toHaveLength(3);
    await tick(299);
    expect(sent).toHaveLength(3);
    await tick(1);
    expect(sent.map((s) => s.at - T0)).toEqual([100, 300, 300, 1300]);
    expect(sent[3]!.seqs).toEqual(more.slice(10));
    expect(j.pending).toBe(0);
    f.stop();
  });

  it('full by bytes: sent at once while the linger timer waits', async () => {
    const j = journal();
    const { sent, fetch } = instantIngest();
    const f = new Forwarder({ ...budget, maxBatchBytes: 1000 }, j, { fetch, now: () => Date.now() });
    const big = Buffer.alloc(400, 65);
    const a = put(j, big);
    f.notify();
    await tick(10);
    const b = put(j, big);
    f.notify();
    await settle();
    expect(sent).toHaveLength(0); // about 850 journal bytes: not full
    await tick(10);
    const c = put(j, big); // about 1275: full; the batch is what fits in 1000 bytes
    f.notify();
    await settle();
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([[20, [a, b]]]);
    await tick(999);
    expect(sent).toHaveLength(1);
    await tick(1);
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([
      [20, [a, b]],
      [1020, [c]],
    ]);
    f.stop();
  });

  it('a nearly full journal is sent at once: lingering never spills nor causes backpressure', async () => {
    // Half of maxMemoryMessages (the spill bound) is 5 messages.
    const j = journal({ maxMemoryMessages: 10 });
    const { sent, fetch } = instantIngest();
    const f = new Forwarder(budget, j, { fetch, now: () => Date.now() });
    const seqs: number[] = [];
    for (let i = 0; i < 4; i++) {
      seqs.push(put(j));
      f.notify();
      await tick(50);
    }
    expect(sent).toHaveLength(0);
    expect(j.nearlyFull).toBe(false);
    seqs.push(put(j));
    expect(j.nearlyFull).toBe(true);
    f.notify();
    await settle();
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([[200, seqs]]);
    expect(j.spilled).toBe(false);

    // Disk: half of maxBytes (appends are refused at maxBytes, and the bridge withholds PUBACKs).
    const d = journal({ segmentBytes: 16 * 1024, maxBytes: 64 * 1024 });
    const g = instantIngest();
    const h = new Forwarder(budget, d, { fetch: g.fetch, now: () => Date.now() });
    const payload = Buffer.alloc(1000, 66);
    while (!d.nearlyFull) {
      put(d, payload);
      h.notify();
    }
    await settle();
    const sentAt = Date.now();
    expect(g.sent.length).toBeGreaterThan(0);
    expect(g.sent.at(-1)!.at).toBe(sentAt); // the last one went without waiting
    expect(d.pending).toBe(0);
    f.stop();
    h.stop();
  });

  it('linger 0 sends every message at once', async () => {
    const j = journal();
    const { sent, fetch } = instantIngest();
    const f = new Forwarder({ ...budget, lingerMs: 0 }, j, { fetch, now: () => Date.now() });
    const seqs: number[] = [];
    for (let i = 0; i < 3; i++) {
      seqs.push(put(j));
      f.notify();
      await settle();
      await tick(7);
    }
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual(seqs.map((seq, i) => [i * 7, [seq]]));
    f.stop();
  });

  it('flush() sends at once while the linger timer waits', async () => {
    const j = journal();
    const { sent, fetch } = instantIngest();
    const f = new Forwarder(budget, j, { fetch, now: () => Date.now() });
    const seqs = [put(j), put(j)];
    f.notify();
    await tick(100);
    expect(sent).toHaveLength(0);
    await expect(f.flush(2000)).resolves.toBe(true);
    expect(sent.map((s) => [s.at - T0, s.seqs])).toEqual([[100, seqs]]);
    f.stop();
  });

  it('property: any arrival pattern: every record once, in seq order, none waits beyond the budget, a full batch leaves at once and only a full one early', async () => {
    const arrival = fc.record({
      gapMs: fc.integer({ min: 0, max: 1500 }),
      count: fc.integer({ min: 1, max: 8 }),
      payloadBytes: fc.integer({ min: 0, max: 300 }),
      /** Notified once per message, or once per group (the ack gate notifies per group commit). */
      notifyEach: fc.boolean(),
    });
    const scenario = fc.record({
      lingerMs: fc.integer({ min: 0, max: 2000 }),
      maxBatch: fc.integer({ min: 1, max: 20 }),
      maxBatchBytes: fc.integer({ min: 200, max: 3000 }),
      maxInflightBatches: fc.integer({ min: 1, max: 4 }),
      arrivals: fc.array(arrival, { minLength: 1, maxLength: 25 }),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async (sc) => {
        const j = journal();
        const { sent, fetch } = instantIngest();
        const { arrivals, ...limits } = sc;
        const f = new Forwarder({ ...OPTS, ...limits }, j, { fetch, now: () => Date.now() });
        const records = new Map<number, { receivedAt: number; bytes: number }>();
        const order: number[] = [];
        try {
          for (const a of arrivals) {
            await tick(a.gapMs);
            for (let i = 0; i < a.count; i++) {
              const before = j.bytes;
              const seq = put(j, Buffer.alloc(a.payloadBytes, 120));
              records.set(seq, { receivedAt: Date.now(), bytes: j.bytes - before });
              order.push(seq);
              if (a.notifyEach) f.notify();
            }
            if (!a.notifyEach) f.notify();
            await settle();
          }
          await tick(sc.lingerMs);
          // Every record exactly once, in seq order, committed.
          expect(sent.flatMap((s) => s.seqs)).toEqual(order);
          expect(j.pending).toBe(0);
          expect(j.cursor).toBe(order.at(-1));
          expect(f.counters.forwarded).toBe(order.length);
          let previousAt = Number.NEGATIVE_INFINITY;
          for (const s of sent) {
            const first = records.get(s.seqs[0]!)!;
            // A batch left as soon as it was full (maxBatch messages or maxBatchBytes arrived from its
            // first message on), or with the batch before it, if that left later.
            let count = 0;
            let bytes = 0;
            for (const seq of order.slice(order.indexOf(s.seqs[0]!))) {
              count++;
              bytes += records.get(seq)!.bytes;
              if (count >= sc.maxBatch || bytes >= sc.maxBatchBytes) {
                expect(s.at).toBeLessThanOrEqual(Math.max(records.get(seq)!.receivedAt, previousAt));
                break;
              }
            }
            previousAt = s.at;
            // No record waited longer than the budget.
            expect(s.at - first.receivedAt).toBeLessThanOrEqual(sc.lingerMs);
            expect(s.seqs.length).toBeLessThanOrEqual(sc.maxBatch);
            const batchBytes = s.seqs.reduce((sum, seq) => sum + records.get(seq)!.bytes, 0);
            if (s.seqs.length > 1) expect(batchBytes).toBeLessThanOrEqual(sc.maxBatchBytes);
            // Before the budget was used up, a batch left only when it was full: by then maxBatch
            // messages or maxBatchBytes had arrived from its first message on.
            if (s.at < first.receivedAt + sc.lingerMs) {
              const arrived = order.filter(
                (seq) => seq >= s.seqs[0]! && records.get(seq)!.receivedAt <= s.at,
              );
              const arrivedBytes = arrived.reduce((sum, seq) => sum + records.get(seq)!.bytes, 0);
              expect(arrived.length >= sc.maxBatch || arrivedBytes >= sc.maxBatchBytes).toBe(true);
            }
          }
        } finally {
          f.stop();
          await j.close();
        }
      }),
      { numRuns: 60 },
    );
  });
});
