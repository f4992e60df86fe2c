/**
 * The ack gate against a real journal and a stand-in for the MQTT connection (a PassThrough as the
 * socket: mqtt.js writes each PUBACK into it when the callback runs). The bridge with a real broker:
 * bridge.integration.test.ts, backpressure.test.ts.
 */
import fs from 'node:fs';
import { PassThrough, type Duplex } from 'node:stream';
import { jest } from '@jest/globals';
import type { IPublishPacket } from 'mqtt';
import { tempDir } from '../test/support/bridge-harness.js';
import { createAckGate, type AckGate } from './ack-gate.js';
import { Journal } from './journal.js';
import { createMemoryLogger, type MemoryLogger } from './log.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  jest.useRealTimers();
  for (const c of cleanups.splice(0).reverse()) await c();
});

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function packet(i: number, over: Partial<IPublishPacket> = {}): IPublishPacket {
  return {
    cmd: 'publish',
    topic: `t/a/d${i % 3}/telemetry`,
    payload: Buffer.from(`payload-${i}`),
    qos: 1,
    dup: false,
    retain: false,
    messageId: 1 + (i % 65_535),
    ...over,
  };
}

interface Setup {
  gate: AckGate;
  journal: Journal;
  conn: { connected: boolean; stream: Duplex };
  log: MemoryLogger;
  errors: string[];
  writes: () => number;
  failWrites: (fail: boolean) => void;
  notified: () => number;
}

function setup(opts: { maxJournalBytes?: number; segmentBytes?: number } = {}): Setup {
  const dir = tempDir('ack-gate');
  const maxJournalBytes = opts.maxJournalBytes ?? 1024 * 1024;
  const segmentBytes = opts.segmentBytes ?? 64 * 1024;
  let writes = 0;
  let fail = false;
  const log = createMemoryLogger();
  const journal = Journal.open({
    dir,
    segmentBytes,
    maxBytes: maxJournalBytes,
    maxMemoryMessages: 10_000,
    maxMemoryBytes: 1024 * 1024,
    now: () => 1_000,
    write: (fd, buf, off, len, pos) => {
      writes++;
      if (fail) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      return fs.writeSync(fd, buf, off, len, pos);
    },
  });
  const conn = { connected: true, stream: new PassThrough() as Duplex };
  const errors: string[] = [];
  let notified = 0;
  const gate = createAckGate({
    connection: conn,
    journal,
    notify: () => notified++,
    maxJournalBytes,
    segmentBytes,
    log,
    now: () => 1_000,
    onError: (text) => errors.push(text),
  });
  cleanups.push(async () => {
    gate.stop();
    await journal.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return {
    gate,
    journal,
    conn,
    log,
    errors,
    writes: () => writes,
    failWrites: (f) => (fail = f),
    notified: () => notified,
  };
}

/** Like mqtt.js: on a callback without error, the PUBACK is written to the connection's socket. */
function deliver(s: Setup, p: IPublishPacket, outcome: Array<string | Error>): void {
  const stream = s.conn.stream;
  s.gate.handleMessage(p, (err) => {
    if (err) outcome.push(err);
    else {
      stream.write(`ack${p.messageId};`);
      outcome.push(`ack${p.messageId}`);
    }
  });
}

const sent = (stream: Duplex): string => String((stream.read() as Buffer | null) ?? '');

describe('ack gate', () => {
  it('group commit: the PUBACKs of one read wait in the corked socket for one journal write', async () => {
    const s = setup();
    const outcome: Array<string | Error> = [];
    for (let i = 0; i < 5; i++) deliver(s, packet(i), outcome);
    expect(outcome).toEqual(['ack1', 'ack2', 'ack3', 'ack4', 'ack5']);
    expect(s.conn.stream.writableCorked).toBe(1);
    expect(sent(s.conn.stream)).toBe(''); // nothing has left
    expect(s.writes()).toBe(0); // and nothing is journaled yet
    expect(s.journal.hasDispatchable).toBe(false);
    await tick();
    expect(s.writes()).toBe(1); // one write(2) for the five
    expect(s.conn.stream.writableCorked).toBe(0);
    expect(sent(s.conn.stream)).toBe('ack1;ack2;ack3;ack4;ack5;');
    expect(s.gate.received).toBe(5);
    expect(s.journal.take(100, 1 << 20).map((r) => r.payload.toString())).toEqual(
      [0, 1, 2, 3, 4].map((i) => `payload-${i}`),
    );
    expect(s.notified()).toBeGreaterThan(0);
  });

  it('acknowledges a DUP redelivery of a journaled message without storing it again', async () => {
    const s = setup();
    const outcome: Array<string | Error> = [];
    deliver(s, packet(7), outcome);
    await tick();
    deliver(s, packet(7, { dup: true }), outcome);
    await tick();
    expect(outcome).toEqual(['ack8', 'ack8']);
    expect(s.gate.received).toBe(1);
    expect(s.gate.redeliveries).toBe(1);
    expect(s.journal.lastSeq - s.journal.cursor).toBe(1);
  });

  it('withholds the PUBACK when the connection is gone, but keeps the message', async () => {
    const s = setup();
    s.conn.connected = false;
    const outcome: Array<string | Error> = [];
    deliver(s, packet(1), outcome);
    expect(outcome).toEqual([new Error('connection closed before the acknowledgement')]);
    expect(s.conn.stream.writableCorked).toBe(0);
    expect(s.gate.received).toBe(1); // journaled: a redelivery is recognised as one
    await tick();
    expect(s.journal.pending).toBe(1);
  });

  it('journal full: no PUBACK until forwarded segments free space, one journal_full per episode', async () => {
    const s = setup({ maxJournalBytes: 4096, segmentBytes: 1024 });
    const outcome: Array<string | Error> = [];
    let i = 0;
    while (!s.gate.full) deliver(s, packet(i++, { payload: Buffer.alloc(200, i) }), outcome);
    deliver(s, packet(i++), outcome); // behind the waiting one
    const acked = outcome.length;
    expect(acked).toBe(i - 2);
    expect(s.gate.fullEpisodes).toBe(1);
    expect(s.log.entries.filter((e) => e.msg === 'journal_full')).toHaveLength(1);
    await tick();
    expect(s.journal.bytes).toBeLessThanOrEqual(4096);
    s.gate.spaceFreed(); // nothing forwarded yet: still full
    expect(outcome).toHaveLength(acked);

    const taken = s.journal.take(1000, 1 << 30);
    s.journal.commit(taken[taken.length - 1]!.seq);
    s.gate.spaceFreed();
    expect(outcome).toHaveLength(acked + 2);
    expect(outcome.every((o) => typeof o === 'string')).toBe(true);
    expect(s.gate.full).toBe(false);
    await tick();
    expect(s.gate.received).toBe(i);
    expect(s.journal.take(1000, 1 << 30).map((r) => r.seq)).toEqual([
      taken[taken.length - 1]!.seq + 1,
      taken[taken.length - 1]!.seq + 2,
    ]);
  });

  it('a message waiting on a connection that closed gets no PUBACK (the broker redelivers it)', async () => {
    const s = setup({ maxJournalBytes: 4096, segmentBytes: 1024 });
    const outcome: Array<string | Error> = [];
    let i = 0;
    while (!s.gate.full) deliver(s, packet(i++, { payload: Buffer.alloc(200, i) }), outcome);
    await tick();
    s.conn.connected = false;
    s.gate.connectionClosed();
    expect(outcome[outcome.length - 1]).toEqual(
      new Error('connection closed while waiting for journal space'),
    );
    expect(s.gate.received).toBe(i - 1);
  });

  it('a failed journal write drops the connection with its PUBACKs, rolls back, and forces a reconnect', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const s = setup();
    const outcome: Array<string | Error> = [];
    deliver(s, packet(1), outcome);
    await tick();
    s.failWrites(true);
    const first = s.conn.stream;
    for (let i = 2; i <= 4; i++) deliver(s, packet(i), outcome);
    expect(outcome).toEqual(['ack2', 'ack3', 'ack4', 'ack5']); // written into the corked socket ...
    await tick();
    expect(first.destroyed).toBe(true); // ... which is destroyed: none of them leaves
    expect(s.gate.received).toBe(1);
    expect(s.journal.lastSeq - s.journal.cursor).toBe(1);
    expect(s.gate.writeFailing).toBe(true);
    expect(s.errors[0]).toMatch(/^journal write failed: .*ENOSPC/);
    expect(s.log.entries.filter((e) => e.msg === 'journal_write_failed')).toHaveLength(1);

    // mqtt.js reconnects; the forced reconnect (1 s after the failure) was for the failed
    // connection only, so the new one is left alone.
    s.conn.stream = new PassThrough();
    const second = s.conn.stream;
    jest.advanceTimersByTime(5_000);
    expect(second.destroyed).toBe(false);

    s.failWrites(false);
    s.conn.stream = new PassThrough();
    deliver(s, packet(2, { dup: true }), outcome); // the redelivery is stored: it never was
    await tick();
    expect(outcome[outcome.length - 1]).toBe('ack3');
    expect(s.gate.received).toBe(2);
    expect(s.gate.redeliveries).toBe(0);
    expect(s.gate.writeFailing).toBe(false);
    expect(s.log.entries.some((e) => e.msg === 'journal_write_recovered')).toBe(true);
  });

  it('refuses a message the journal can never hold as a local failure, without a PUBACK', async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const s = setup({ maxJournalBytes: 4096, segmentBytes: 1024 });
    const outcome: Array<string | Error> = [];
    deliver(s, packet(1, { payload: Buffer.alloc(2000) }), outcome);
    expect(outcome).toHaveLength(1);
    expect(outcome[0]).toBeInstanceOf(Error);
    expect(String(outcome[0])).toMatch(/per-message limit/);
    expect(s.gate.writeFailing).toBe(true);
    await tick();
    expect(s.gate.received).toBe(0);
    // The connection is still up, and the broker redelivers only on a new one: forced after 1 s.
    const still = s.conn.stream;
    jest.advanceTimersByTime(999);
    expect(still.destroyed).toBe(false);
    jest.advanceTimersByTime(1);
    expect(still.destroyed).toBe(true);
  });

  it('stop(): what is staged is journaled and its PUBACKs leave; waiting and later messages get none', async () => {
    const s = setup({ maxJournalBytes: 4096, segmentBytes: 1024 });
    const outcome: Array<string | Error> = [];
    let i = 0;
    while (!s.gate.full) deliver(s, packet(i++, { payload: Buffer.alloc(200, i) }), outcome);
    expect(s.writes()).toBe(0);
    s.gate.stop();
    expect(s.writes()).toBeGreaterThan(0);
    expect(s.conn.stream.writableCorked).toBe(0);
    expect(outcome[outcome.length - 1]).toEqual(new Error('bridge stopping'));
    expect(s.gate.full).toBe(false);
    deliver(s, packet(i++), outcome);
    expect(outcome[outcome.length - 1]).toEqual(new Error('bridge stopping'));
    expect(s.gate.received).toBe(i - 2);
  });
});
