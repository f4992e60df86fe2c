import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from '../test/support/bridge-harness.js';
import { Journal, JournalLockedError, RecordTooLargeError, type JournalRecord } from './journal.js';
import { encodeRecord, stampRecord } from './journal-record.js';
import { createMemoryLogger } from './log.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

function newDir(): string {
  const d = tempDir('journal');
  dirs.push(d);
  return d;
}

function open(dir: string, over: Partial<Parameters<typeof Journal.open>[0]> = {}): Journal {
  return Journal.open({
    dir,
    segmentBytes: 4096,
    maxBytes: 1024 * 1024,
    maxMemoryMessages: 1000,
    maxMemoryBytes: 1024 * 1024,
    now: () => 1_000,
    ...over,
  });
}

function appendN(j: Journal, from: number, to: number, packetIdBase = 0): number[] {
  const seqs: number[] = [];
  for (let i = from; i < to; i++) {
    const r = j.append(
      `t/a/d${i % 3}/telemetry`,
      Buffer.from(`payload-${i}`),
      1_000 + i,
      packetIdBase ? packetIdBase + i : 0,
    );
    if (r.kind !== 'appended') throw new Error(`unexpected ${r.kind}`);
    seqs.push(r.seq);
  }
  return seqs;
}

function takeAll(j: Journal): JournalRecord[] {
  const out: JournalRecord[] = [];
  for (;;) {
    const batch = j.take(7, 1 << 20);
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

const text = (r: JournalRecord): string => r.payload.toString('utf8');

describe('Journal', () => {
  it('starts a new journal at epoch microseconds and hands records out in order', async () => {
    const j = open(newDir());
    const seqs = appendN(j, 0, 20);
    expect(seqs[0]).toBe(1_000_000);
    expect(seqs[19]).toBe(1_000_019);
    expect(j.pending).toBe(20);
    const got = takeAll(j);
    expect(got.map((r) => r.seq)).toEqual(seqs);
    expect(got.map(text)).toEqual(seqs.map((_, i) => `payload-${i}`));
    expect(got[5]?.topic).toBe('t/a/d2/telemetry');
    expect(j.undispatched).toBe(0);
    expect(j.pending).toBe(20);
    await j.close();
  });

  it('replays everything after the cursor on reopen, then continues the sequence', async () => {
    const dir = newDir();
    const j = open(dir);
    const seqs = appendN(j, 0, 100);
    takeAll(j);
    j.commit(seqs[39] as number);
    await j.close();

    const j2 = open(dir);
    expect(j2.cursor).toBe(seqs[39]);
    expect(j2.pending).toBe(60);
    const replay = takeAll(j2);
    expect(replay.map((r) => r.seq)).toEqual(seqs.slice(40));
    expect(replay.map(text)).toEqual(seqs.slice(40).map((_, i) => `payload-${i + 40}`));
    const next = appendN(j2, 100, 101);
    expect(next[0]).toBe((seqs[99] as number) + 1);
    await j2.close();
  });

  it('replays from an unclean stop (no close, lock of a dead process)', async () => {
    const dir = newDir();
    const j = open(dir);
    const seqs = appendN(j, 0, 30);
    j.commit(seqs[9] as number);
    await j.sync(); // the periodic sync writes the cursor
    j.commit(seqs[19] as number); // committed after the last sync: replayed again (ingest dedups)
    // Simulate a SIGKILL: no close(); the lock names a pid that no longer exists.
    fs.writeFileSync(path.join(dir, 'journal.lock'), '999999');
    (j as unknown as { fd: number }).fd = -1;
    const j2 = open(dir);
    expect(takeAll(j2).map((r) => r.seq)).toEqual(seqs.slice(10));
    await j2.close();
  });

  it('is opened by one owner at a time (journal-lock.ts): a second open fails until close()', async () => {
    const dir = newDir();
    const j = open(dir);
    expect(() => open(dir)).toThrow(JournalLockedError);
    await j.close();
    expect(fs.existsSync(path.join(dir, 'journal.lock'))).toBe(false);
    const j2 = open(dir);
    await j2.close();
  });

  it('detects and truncates a torn last record, without losing earlier ones', async () => {
    const dir = newDir();
    const log = createMemoryLogger();
    const j = open(dir);
    const seqs = appendN(j, 0, 10);
    await j.close();
    const seg = fs.readdirSync(dir).find((f) => f.startsWith('seg-')) as string;
    const file = path.join(dir, seg);
    const whole = fs.statSync(file).size;
    // A crash in the middle of the 11th write: half a record at the end.
    const partial = encodeRecord('t/a/b/telemetry', Buffer.from('never acknowledged'), 1, 0);
    stampRecord(partial, (seqs[9] as number) + 1);
    fs.appendFileSync(file, partial.subarray(0, 20));

    const j2 = open(dir, { logger: log });
    expect(fs.statSync(file).size).toBe(whole);
    expect(log.entries.find((e) => e.msg === 'journal_torn_tail_truncated')?.fields).toMatchObject({
      discardedBytes: 20,
    });
    expect(takeAll(j2).map(text)).toEqual(seqs.map((_, i) => `payload-${i}`));
    // The torn record's seq is reused: it was never acknowledged, so no id was ever sent for it.
    expect(appendN(j2, 10, 11)[0]).toBe((seqs[9] as number) + 1);
    await j2.close();
  });

  it('rotates segments and deletes only wholly forwarded ones', async () => {
    const dir = newDir();
    const j = open(dir, { segmentBytes: 4096 });
    const seqs = appendN(j, 0, 300); // ~ 55 bytes each -> several segments
    const segs = () =>
      fs
        .readdirSync(dir)
        .filter((f) => f.startsWith('seg-'))
        .sort();
    const before = segs();
    expect(before.length).toBeGreaterThan(3);
    const bytesBefore = j.bytes;
    takeAll(j);
    // Commit up to just before the start of the 3rd segment: the first two go.
    const third = Number(/seg-(\d+)/.exec(before[2] as string)?.[1]);
    j.commit(third - 1);
    expect(segs()).toEqual(before.slice(2));
    expect(j.bytes).toBeLessThan(bytesBefore);
    // Commit one short of the end of the 3rd: it stays.
    const fourth = Number(/seg-(\d+)/.exec(before[3] as string)?.[1]);
    j.commit(fourth - 2);
    expect(segs()).toEqual(before.slice(2));
    // Everything forwarded: only the active segment remains.
    j.commit(seqs[299] as number);
    expect(segs()).toEqual(before.slice(-1));
    expect(j.pending).toBe(0);
    await j.close();
    const j2 = open(dir);
    expect(j2.pending).toBe(0);
    expect(appendN(j2, 300, 301)[0]).toBe((seqs[299] as number) + 1);
    await j2.close();
  });

  it('skips (and reports) corrupt data inside an older segment and continues with the next one', async () => {
    const dir = newDir();
    const j = open(dir, { segmentBytes: 1024 });
    const seqs = appendN(j, 0, 60);
    await j.close();
    const segs = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith('seg-'))
      .sort();
    expect(segs.length).toBeGreaterThan(2);
    const firstFile = path.join(dir, segs[0] as string);
    const fd = fs.openSync(firstFile, 'r+');
    fs.writeSync(fd, Buffer.alloc(8, 0xee), 0, 8, 200); // inside the 4th record or so
    fs.closeSync(fd);
    const log = createMemoryLogger();
    const j2 = open(dir, { logger: log });
    const got = takeAll(j2).map((r) => r.seq);
    const secondFirst = Number(/seg-(\d+)/.exec(segs[1] as string)?.[1]);
    // Everything before the damage and everything from the second segment on.
    expect(got.filter((s) => s >= secondFirst)).toEqual(seqs.filter((s) => s >= secondFirst));
    expect(got.filter((s) => s < secondFirst).length).toBeGreaterThan(0);
    expect(got.filter((s) => s < secondFirst).length).toBeLessThan(
      seqs.filter((s) => s < secondFirst).length,
    );
    expect(log.entries.some((e) => e.msg === 'journal_unreadable_data')).toBe(true);
    expect(j2.discardedBytes).toBeGreaterThan(0);
    await j2.close();
  });

  it('survives a lost or corrupt cursor by replaying (same seqs, so the same ids)', async () => {
    const dir = newDir();
    const j = open(dir);
    const seqs = appendN(j, 0, 5);
    j.commit(seqs[4] as number);
    await j.close();
    fs.writeFileSync(path.join(dir, 'cursor.json'), '');
    const log = createMemoryLogger();
    const j2 = open(dir, { logger: log });
    expect(log.entries.some((e) => e.msg === 'journal_cursor_unreadable')).toBe(true);
    expect(takeAll(j2).map((r) => r.seq)).toEqual(seqs);
    await j2.close();
  });

  it('keeps at most the memory bound in memory and reads the rest back from disk in order', async () => {
    const dir = newDir();
    const j = open(dir, { maxMemoryMessages: 10, segmentBytes: 2048 });
    const seqs = appendN(j, 0, 200);
    expect(j.memoryMessages).toBe(10);
    expect(j.spilled).toBe(true);
    const first = j.take(5, 1 << 20);
    expect(first.map((r) => r.seq)).toEqual(seqs.slice(0, 5));
    // Appends while spilled go to disk only.
    const more = appendN(j, 200, 210);
    const rest = takeAll(j);
    expect(rest.map((r) => r.seq)).toEqual([...seqs.slice(5), ...more]);
    expect(rest.map(text)).toEqual([...Array(205).keys()].map((i) => `payload-${i + 5}`));
    expect(j.spilled).toBe(false);
    // Back to memory mode.
    appendN(j, 210, 212);
    expect(j.memoryMessages).toBe(2);
    await j.close();
  });

  it('refuses appends beyond maxBytes ("full") until forwarded segments are deleted', async () => {
    const dir = newDir();
    const j = open(dir, { segmentBytes: 4096, maxBytes: 16384 });
    let n = 0;
    for (;;) {
      const r = j.append('t/a/b/telemetry', Buffer.alloc(100, 1), 1, 0);
      if (r.kind === 'full') break;
      n++;
    }
    expect(j.bytes).toBeLessThanOrEqual(16384);
    expect(j.bytes + 128).toBeGreaterThan(16384);
    expect(() => j.append('t/a/b/telemetry', Buffer.alloc(4100), 1, 0)).toThrow(RecordTooLargeError);
    const all = takeAll(j);
    expect(all).toHaveLength(n);
    j.commit(all[all.length - 1]?.seq as number);
    expect(j.bytes).toBeLessThanOrEqual(4096);
    expect(j.append('t/a/b/telemetry', Buffer.alloc(100, 1), 1, 0).kind).toBe('appended');
    await j.close();
  });

  it('undispatchedBytes counts the journal bytes take() hands out next', async () => {
    const j = open(newDir());
    expect(j.undispatchedBytes).toBe(0);
    appendN(j, 0, 10);
    const first = j.take(4, 1 << 20);
    const rest = j.take(100, 1 << 20);
    const bytesOf = (rs: JournalRecord[]) => rs.reduce((sum, r) => sum + r.bytes, 0);
    expect(bytesOf(rest)).toBeGreaterThan(0);
    // Appended again: the same 10 records' sizes, handed out in two steps.
    appendN(j, 0, 10);
    expect(j.undispatchedBytes).toBe(bytesOf(first) + bytesOf(rest));
    j.take(4, 1 << 20);
    expect(j.undispatchedBytes).toBe(bytesOf(rest));
    j.take(100, 1 << 20);
    expect(j.undispatchedBytes).toBe(0);
    await j.close();
  });

  it('is nearly full at half of a bound: memory messages, memory bytes, or disk', async () => {
    const record = encodeRecord('t/a/b/telemetry', Buffer.alloc(100, 1), 1, 0).length;
    const fill = (j: Journal, n: number) => {
      for (let i = 0; i < n; i++) j.append('t/a/b/telemetry', Buffer.alloc(100, 1), 1, 0);
    };
    // Messages in memory: 5 of 10 (before the journal spills at 10).
    const byCount = open(newDir(), { maxMemoryMessages: 10 });
    fill(byCount, 4);
    expect(byCount.nearlyFull).toBe(false);
    fill(byCount, 1);
    expect(byCount.nearlyFull).toBe(true);
    byCount.take(1, 1 << 20);
    expect(byCount.nearlyFull).toBe(false); // handed to the forwarder: memory freed
    await byCount.close();
    // Bytes in memory.
    const byBytes = open(newDir(), { maxMemoryBytes: 20 * record });
    fill(byBytes, 9);
    expect(byBytes.nearlyFull).toBe(false);
    fill(byBytes, 1);
    expect(byBytes.nearlyFull).toBe(true);
    await byBytes.close();
    // Disk: half of maxBytes (appends are refused at maxBytes); handing out does not free it.
    const byDisk = open(newDir(), { segmentBytes: 4096, maxBytes: 16384 });
    fill(byDisk, Math.floor(8192 / record));
    expect(byDisk.nearlyFull).toBe(false);
    fill(byDisk, 1);
    expect(byDisk.bytes * 2).toBeGreaterThanOrEqual(16384);
    takeAll(byDisk);
    expect(byDisk.nearlyFull).toBe(true);
    await byDisk.close();
  });

  it('recognises a DUP redelivery of the last message journaled under a packet id, also after a restart', async () => {
    const dir = newDir();
    const j = open(dir);
    const a = j.append('t/a/b/telemetry', Buffer.from('A'), 1, 7, false);
    expect(a.kind).toBe('appended');
    // Same packet id, same content, DUP set: the broker did not get our PUBACK.
    expect(j.append('t/a/b/telemetry', Buffer.from('A'), 2, 7, true)).toEqual({
      kind: 'redelivery',
      seq: (a as { seq: number }).seq,
    });
    // Without DUP it is a new message that reuses the id.
    expect(j.append('t/a/b/telemetry', Buffer.from('A'), 3, 7, false).kind).toBe('appended');
    // DUP with different content is a different message.
    expect(j.append('t/a/b/telemetry', Buffer.from('B'), 4, 7, true).kind).toBe('appended');
    await j.close();
    const j2 = open(dir);
    expect(j2.append('t/a/b/telemetry', Buffer.from('B'), 5, 7, true).kind).toBe('redelivery');
    expect(j2.append('t/a/b/telemetry', Buffer.from('A'), 6, 8, true).kind).toBe('appended');
    expect(j2.pending).toBe(4);
    await j2.close();
  });

  it('fsyncs on sync() and reports it', async () => {
    const j = open(newDir());
    appendN(j, 0, 3);
    expect(j.lastSyncAt).toBe(0);
    await j.sync();
    expect(j.lastSyncAt).toBeGreaterThan(0);
    await j.close();
  });

  it('staged appends are written together, across a segment boundary, and only then forwardable', async () => {
    const dir = newDir();
    let writes = 0;
    const j = open(dir, {
      write: (fd, buf, off, len, pos) => {
        writes++;
        return fs.writeSync(fd, buf, off, len, pos);
      },
    });
    j.beginStaging();
    const seqs = appendN(j, 0, 200, 1); // ~60 bytes each: crosses the 4 KiB segment size
    expect(writes).toBe(0);
    expect(j.hasDispatchable).toBe(false); // not forwardable before it is written
    j.flushStaged();
    expect(writes).toBe(j.segmentCount); // one write(2) per segment touched
    expect(j.segmentCount).toBeGreaterThan(1);
    expect(takeAll(j).map((r) => r.seq)).toEqual(seqs);
    await j.close();
    const j2 = open(dir); // what is on disk replays in order, under the same seqs
    expect(takeAll(j2).map((r) => r.seq)).toEqual(seqs);
    await j2.close();
  });

  it('a failed staged write journals nothing of it and forgets it for redelivery detection', async () => {
    const dir = newDir();
    let fail = false;
    const j = open(dir, {
      write: (fd, buf, off, len, pos) => {
        if (fail) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
        return fs.writeSync(fd, buf, off, len, pos);
      },
    });
    const before = appendN(j, 0, 5, 100);
    j.beginStaging();
    appendN(j, 5, 10, 100);
    fail = true;
    expect(() => j.flushStaged()).toThrow(expect.objectContaining({ unstaged: 5 }));
    fail = false;
    expect(j.lastSeq).toBe(before[4]); // the sequence is rolled back
    // The broker redelivers them (DUP): stored now, not mistaken for redeliveries of stored ones.
    const again = j.append('t/a/d2/telemetry', Buffer.from('payload-5'), 1_005, 105, true);
    expect(again).toEqual({ kind: 'appended', seq: (before[4] as number) + 1 });
    expect(takeAll(j).map((r) => r.seq)).toEqual([...before, (before[4] as number) + 1]);
    await j.close();
  });
});
