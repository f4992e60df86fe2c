import fs from 'node:fs';
import { gunzipSync } from 'node:zlib';
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
import { Journal, type JournalRecord } from './journal.js';
import { createMemoryLogger } from './log.js';
import { tempDir, waitFor } from '../test/support/bridge-harness.js';

const dirs: string[] = [];
const journals: Journal[] = [];
afterAll(async () => {
  for (const j of journals) await j.close().catch(() => undefined);
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function journal(): Journal {
  const dir = tempDir('fwd');
  dirs.push(dir);
  const j = Journal.open({
    dir,
    segmentBytes: 1 << 16,
    maxBytes: 1 << 22,
    maxMemoryMessages: 10_000,
    maxMemoryBytes: 1 << 22,
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
  it('batches by size at once and sends the remainder after the linger', async () => {
    const j = journal();
    const calls: Array<{ at: number; call: Call }> = [];
    const fetch: FetchLike = async (_url, init) => {
      const call = decode(init);
      calls.push({ at: Date.now(), call });
      return ok(call.batch);
    };
    const f = new Forwarder({ ...OPTS, maxInflightBatches: 4 }, j, { fetch });
    const t0 = Date.now();
    add(j, 7);
    f.notify();
    await waitFor(() => calls.length === 3 && j.pending === 0, 2000, 'three batches');
    expect(calls.map((c) => c.call.batch.messages.length)).toEqual([3, 3, 1]);
    expect(calls[2]!.at - t0).toBeGreaterThanOrEqual(OPTS.lingerMs - 5);
    expect(calls[0]!.call.headers[FUNCTION_KEY_HEADER]).toBe('k');
    expect(calls[0]!.call.headers['content-encoding']).toBe('gzip');
    const ids = calls.flatMap((c) => c.call.batch.messages.map((m) => m.id));
    expect(new Set(ids).size).toBe(7);
    expect(f.counters).toMatchObject({ forwarded: 7, inserted: 7, batches: 3, retries: 0 });
    expect(j.cursor).toBe(j.lastSeq);
    f.stop();
  });

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
