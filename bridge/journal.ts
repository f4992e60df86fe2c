/**
 * The bridge's local append-only journal.
 *
 * Every message the bridge acknowledges to the broker is first appended here with a synchronous
 * write (it is in the OS page cache before the PUBACK leaves: a SIGKILL of the bridge loses
 * nothing). `sync()` fdatasyncs on a short interval: a machine power loss can lose at most the
 * messages acknowledged since the last completed sync.
 *
 * Layout of the journal directory:
 *   seg-<firstSeq, 16 digits>.log   segments, records appended in seq order
 *   cursor.json                     {"seq": N}: every seq <= N was accepted by ingest (temp + rename)
 *   journal.lock                    pid of the process that has the journal open (journal-lock.ts)
 *
 * Records are length-prefixed and checksummed so a torn tail is detected (journal-record.ts).
 *
 * Memory: unforwarded records stay in memory up to maxMemoryMessages / maxMemoryBytes; beyond that
 * the journal "spills": new records are only on disk and are read back in order when the
 * forwarder needs them. Disk: appends beyond maxBytes are refused ('full'); segments whose
 * records are all forwarded are deleted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { lockJournal, type JournalLock } from './journal-lock.js';
import {
  contentCrc,
  decodeRecord,
  encodeRecord,
  recordPayload,
  recordReceivedAt,
  stampRecord,
  type JournalRecord,
} from './journal-record.js';
import type { Logger } from './log.js';

export { JournalLockedError } from './journal-lock.js';
export type { JournalRecord } from './journal-record.js';

const SEGMENT_RE = /^seg-(\d{16})\.log$/;
const CURSOR_FILE = 'cursor.json';
const CURSOR_WRITE_INTERVAL_MS = 1_000;
const READ_CHUNK = 1024 * 1024;

export interface JournalOptions {
  dir: string;
  segmentBytes: number;
  maxBytes: number;
  maxMemoryMessages: number;
  maxMemoryBytes: number;
  logger?: Logger;
  now?: () => number;
  /** pwrite(2); injectable to test I/O failures (disk full). */
  write?: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;
}

export type AppendResult =
  | { kind: 'appended'; seq: number }
  /** A redelivery (DUP) of the last message journaled under this packet id: ack it, don't store twice. */
  | { kind: 'redelivery'; seq: number }
  /** The journal is at maxBytes: the caller must not acknowledge the message yet. */
  | { kind: 'full' };

interface StagedRecord {
  buf: Buffer;
  topic: string;
  seq: number;
  packetId: number;
}

interface Segment {
  firstSeq: number;
  file: string;
  /** Valid bytes (for the active segment: the write offset). */
  size: number;
}

export function segmentName(firstSeq: number): string {
  return `seg-${String(firstSeq).padStart(16, '0')}.log`;
}

/** A FIFO with O(1) shift. */
class Fifo<T> {
  private items: T[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(item: T): void {
    this.items.push(item);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head] = undefined as T;
    this.head++;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }
}

export class RecordTooLargeError extends Error {}

export class Journal {
  private readonly opts: JournalOptions;
  private readonly log: Logger | undefined;
  private segments: Segment[] = [];
  private fd = -1;
  private nextSeq = 1;
  private cursorSeq = 0;
  /** cursorSeq moved since cursor.json was last written. */
  private cursorDirty = false;
  private cursorWrittenAt = 0;
  /** Highest seq handed to the forwarder (or skipped as already forwarded). */
  private dispatchedSeq = 0;
  /** Highest seq held in memory or dispatched; records above it are only on disk. */
  private loadedSeq = 0;
  private totalBytes = 0;
  private readonly mem = new Fifo<JournalRecord>();
  private memBytes = 0;
  private spilling = false;
  private readPos = { firstSeq: 0, offset: 0 };
  private readFd = -1;
  private readFdSeq = -1;
  private readBuf: Buffer | undefined;
  private readBufSeq = -1;
  private readBufStart = 0;
  private readBufLen = 0;
  private spillHeadReceivedAt: number | undefined;
  private dirty = false;
  private dirDirty = false;
  private syncing: Promise<void> | undefined;
  private closed = false;
  private readonly pendingCloses = new Set<Promise<void>>();
  private lockFile: JournalLock | undefined;
  /** Between beginStaging() and flushStaged(): stamped records not yet written. */
  private staging = false;
  private staged: StagedRecord[] = [];
  private stagedBytes = 0;
  private readonly lastBySeqId = new Float64Array(65_536);
  private readonly lastByCrc = new Uint32Array(65_536);
  private readonly lastByLen = new Uint32Array(65_536);
  /** Bytes of unreadable data found (torn tails after a crash, corruption). */
  discardedBytes = 0;
  lastSyncAt = 0;

  private readonly write: NonNullable<JournalOptions['write']>;

  private constructor(opts: JournalOptions) {
    this.opts = opts;
    this.log = opts.logger;
    this.write = opts.write ?? ((fd, buf, off, len, pos) => fs.writeSync(fd, buf, off, len, pos));
  }

  /** Opens (or creates) the journal: takes the lock, truncates a torn tail, positions replay. */
  static open(opts: JournalOptions): Journal {
    const j = new Journal(opts);
    fs.mkdirSync(opts.dir, { recursive: true, mode: 0o700 }); // payloads are tenant data
    j.lockFile = lockJournal(opts.dir);
    try {
      j.load();
    } catch (err) {
      j.lockFile.release();
      throw err;
    }
    return j;
  }

  // ---- state -------------------------------------------------------------------------------

  get cursor(): number {
    return this.cursorSeq;
  }
  get lastSeq(): number {
    return this.nextSeq - 1;
  }
  /** Messages in the journal not yet accepted by ingest (including those in flight). */
  get pending(): number {
    return this.nextSeq - 1 - this.cursorSeq;
  }
  /** Messages not yet handed to the forwarder. */
  get undispatched(): number {
    return this.nextSeq - 1 - this.dispatchedSeq;
  }
  /**
   * Journal bytes of the records take() can hand out from memory: while not spilled, every record
   * not yet handed to the forwarder; while spilled, those read back so far (the forwarder does not
   * linger then anyway).
   */
  get undispatchedBytes(): number {
    return this.memBytes;
  }
  /**
   * Half of a bound is reached: the in-memory part (maxMemoryMessages / maxMemoryBytes, beyond
   * which the journal spills) or the disk (maxBytes, beyond which appends are refused and the
   * bridge withholds PUBACKs). The forwarder then sends without lingering, so waiting for a batch
   * to fill never spills nor causes backpressure on devices. Three comparisons: cheap per message.
   */
  get nearlyFull(): boolean {
    return (
      this.mem.length * 2 >= this.opts.maxMemoryMessages ||
      this.memBytes * 2 >= this.opts.maxMemoryBytes ||
      this.totalBytes * 2 >= this.opts.maxBytes
    );
  }
  get bytes(): number {
    return this.totalBytes;
  }
  get maxBytes(): number {
    return this.opts.maxBytes;
  }
  /** Highest seq handed to the forwarder. */
  get dispatchedThrough(): number {
    return this.dispatchedSeq;
  }
  /** Whether take() can return something now. */
  get hasDispatchable(): boolean {
    return this.mem.length > 0 || this.spilling;
  }
  get segmentCount(): number {
    return this.segments.length;
  }
  get memoryMessages(): number {
    return this.mem.length;
  }
  /** True while unforwarded records exist only on disk. */
  get spilled(): boolean {
    return this.spilling;
  }
  /** receivedAt of the oldest record not yet handed to the forwarder. */
  oldestUndispatchedAt(): number | undefined {
    if (this.undispatched === 0) return undefined;
    return this.mem.peek()?.receivedAt ?? this.spillHeadReceivedAt;
  }

  // ---- writing -----------------------------------------------------------------------------

  /**
   * Appends a message synchronously (write(2) to the active segment). Throws on I/O errors; the
   * segment is then truncated back so it stays readable.
   */
  append(topic: string, payload: Buffer, receivedAt: number, packetId = 0, dup = false): AppendResult {
    if (this.closed) throw new Error('journal is closed');
    const buf = encodeRecord(topic, payload, receivedAt, packetId);
    if (buf.length > this.opts.maxBytes / 4) {
      // It could never be guaranteed room (space is freed a segment at a time): refuse loudly.
      throw new RecordTooLargeError(
        `message of ${payload.length} bytes exceeds the journal's per-message limit (${Math.floor(this.opts.maxBytes / 4)} bytes, a quarter of maxJournalBytes); limit message_size_limit on the broker`,
      );
    }
    if (packetId > 0) {
      const crc = contentCrc(buf);
      if (
        dup &&
        this.lastBySeqId[packetId] !== 0 &&
        this.lastByCrc[packetId] === crc &&
        this.lastByLen[packetId] === buf.length
      ) {
        return { kind: 'redelivery', seq: this.lastBySeqId[packetId] ?? 0 };
      }
      if (this.totalBytes + buf.length > this.opts.maxBytes) return { kind: 'full' };
      this.writeRecord(buf, topic, packetId);
      this.lastBySeqId[packetId] = this.nextSeq - 1;
      this.lastByCrc[packetId] = crc;
      this.lastByLen[packetId] = buf.length;
    } else {
      if (this.totalBytes + buf.length > this.opts.maxBytes) return { kind: 'full' };
      this.writeRecord(buf, topic, 0);
    }
    return { kind: 'appended', seq: this.nextSeq - 1 };
  }

  /** Whether a record of this size could be appended now. */
  hasRoomFor(bytes: number): boolean {
    return this.totalBytes + bytes <= this.opts.maxBytes;
  }

  private writeRecord(buf: Buffer, topic: string, packetId: number): void {
    if (this.staging) {
      stampRecord(buf, this.nextSeq);
      this.staged.push({ buf, topic, seq: this.nextSeq, packetId });
      this.stagedBytes += buf.length;
      this.nextSeq += 1;
      this.totalBytes += buf.length;
      return;
    }
    let active = this.activeSegment();
    if (active.size > 0 && active.size + buf.length > this.opts.segmentBytes) {
      this.rotate();
      active = this.activeSegment();
    }
    const seq = this.nextSeq;
    stampRecord(buf, seq);
    const offset = active.size;
    this.writeAt(buf, offset);
    this.nextSeq = seq + 1;
    this.totalBytes += buf.length;
    this.written(buf, topic, seq, active, offset);
  }

  /** Writes all of `buf` at `offset` of the active segment; on failure truncates back and throws. */
  private writeAt(buf: Buffer, offset: number): void {
    try {
      let written = 0;
      while (written < buf.length) {
        written += this.write(this.fd, buf, written, buf.length - written, offset + written);
      }
    } catch (err) {
      try {
        fs.ftruncateSync(this.fd, offset);
      } catch {
        // The reader stops at the first invalid record; the next start truncates the tail.
      }
      throw err;
    }
  }

  /**
   * From here until flushStaged(), appends are stamped and counted but kept in memory, and
   * flushStaged() writes them with one write(2) per segment. The caller must hold back every
   * acknowledgement of a staged message until flushStaged() has returned.
   */
  beginStaging(): void {
    this.staging = true;
  }

  /**
   * Writes the staged records (rotating segments as needed) and ends staging. On an I/O error
   * nothing from the failed write on is journaled (the sequence and redelivery detection are
   * rolled back to before it) and the error is thrown: the caller must then not acknowledge any
   * message staged since beginStaging().
   */
  flushStaged(): void {
    this.staging = false;
    let records = this.staged;
    this.staged = [];
    this.stagedBytes = 0;
    while (records.length > 0) {
      let active = this.activeSegment();
      let n = 0;
      let bytes = 0;
      let start = 0;
      try {
        if (active.size > 0 && active.size + records[0]!.buf.length > this.opts.segmentBytes) {
          this.rotate(records[0]!.seq);
          active = this.activeSegment();
        }
        start = active.size;
        // The longest prefix that fits in the active segment (at least one record).
        while (
          n < records.length &&
          (n === 0 || active.size + bytes + records[n]!.buf.length <= this.opts.segmentBytes)
        ) {
          bytes += records[n]!.buf.length;
          n += 1;
        }
        this.writeAt(
          n === 1
            ? records[0]!.buf
            : Buffer.concat(
                records.slice(0, n).map((r) => r.buf),
                bytes,
              ),
          start,
        );
      } catch (err) {
        this.unstage(records);
        throw Object.assign(err as Error, { unstaged: records.length });
      }
      let at = start;
      for (const r of records.slice(0, n)) {
        this.written(r.buf, r.topic, r.seq, active, at);
        at += r.buf.length;
      }
      records = records.slice(n);
    }
  }

  /** Forgets staged records that were never written (the broker will deliver them again). */
  private unstage(records: StagedRecord[]): void {
    if (records.length === 0) return;
    this.nextSeq = records[0]!.seq;
    for (const r of records) {
      this.totalBytes -= r.buf.length;
      if (r.packetId > 0 && this.lastBySeqId[r.packetId] === r.seq) this.lastBySeqId[r.packetId] = 0;
    }
  }

  /** Bookkeeping for a record now in the active segment at `offset`. */
  private written(buf: Buffer, topic: string, seq: number, active: Segment, offset: number): void {
    active.size = offset + buf.length;
    this.dirty = true;

    if (
      !this.spilling &&
      this.mem.length < this.opts.maxMemoryMessages &&
      this.memBytes + buf.length <= this.opts.maxMemoryBytes
    ) {
      this.mem.push({
        seq,
        topic,
        payload: recordPayload(buf),
        receivedAt: recordReceivedAt(buf),
        bytes: buf.length,
      });
      this.memBytes += buf.length;
      this.loadedSeq = seq;
    } else if (!this.spilling) {
      this.spilling = true;
      this.readPos = { firstSeq: active.firstSeq, offset };
      this.spillHeadReceivedAt = recordReceivedAt(buf);
      this.log?.info('journal_spill_start', {
        seq,
        memoryMessages: this.mem.length,
        memoryBytes: this.memBytes,
        note: 'unforwarded messages beyond the memory bound are read back from the journal',
      });
    }
  }

  private activeSegment(): Segment {
    const seg = this.segments[this.segments.length - 1];
    if (!seg) throw new Error('journal has no active segment');
    return seg;
  }

  /** Starts a new active segment whose first record will be `firstSeq`. */
  private rotate(firstSeq = this.nextSeq): void {
    const oldFd = this.fd;
    const seg: Segment = {
      firstSeq,
      file: path.join(this.opts.dir, segmentName(firstSeq)),
      size: 0,
    };
    this.fd = fs.openSync(seg.file, 'wx', 0o600);
    this.segments.push(seg);
    this.dirDirty = true;
    // Wait for a sync that may still be running on the old descriptor before closing it.
    const closing = (this.syncing ?? Promise.resolve()).then(
      () =>
        new Promise<void>((resolve) => {
          fs.fdatasync(oldFd, () => fs.close(oldFd, () => resolve()));
        }),
    );
    this.pendingCloses.add(closing);
    void closing.then(() => this.pendingCloses.delete(closing));
  }

  /** fdatasync of what was appended since the last call (and of the directory after a rotation). */
  sync(): Promise<void> {
    // The cursor at most once a second: a crash re-sends at most that much accepted work, which
    // ingest recognises as duplicates; a rename(2) every 50 ms was a visible share of the CPU.
    const now = (this.opts.now ?? Date.now)();
    if (this.cursorDirty && !this.closed && now - this.cursorWrittenAt >= CURSOR_WRITE_INTERVAL_MS) {
      this.cursorWrittenAt = now;
      this.writeCursor();
    }
    if (this.syncing) return this.syncing;
    if ((!this.dirty && !this.dirDirty) || this.closed) return Promise.resolve();
    const fd = this.fd;
    const syncDir = this.dirDirty;
    this.dirty = false;
    this.dirDirty = false;
    const started = Date.now();
    this.syncing = new Promise<void>((resolve) => {
      fs.fdatasync(fd, (err) => {
        if (err) {
          this.dirty = true;
          this.log?.error('journal_sync_failed', { error: err.message });
        } else {
          this.lastSyncAt = started;
        }
        if (!syncDir) return resolve();
        fs.open(this.opts.dir, 'r', (openErr, dfd) => {
          if (openErr) return resolve();
          fs.fsync(dfd, () => fs.close(dfd, () => resolve()));
        });
      });
    }).finally(() => {
      this.syncing = undefined;
    });
    return this.syncing;
  }

  // ---- reading (forwarder side) ------------------------------------------------------------

  /** Hands out the next records in seq order, at most maxCount / maxBytes (at least one). */
  take(maxCount: number, maxBytes: number): JournalRecord[] {
    const out: JournalRecord[] = [];
    let bytes = 0;
    while (out.length < maxCount) {
      if (this.mem.length === 0) {
        if (!this.spilling) break;
        this.loadFromDisk(Math.max(maxCount - out.length, 1));
        if (this.mem.length === 0) break;
      }
      const next = this.mem.peek() as JournalRecord;
      if (out.length > 0 && bytes + next.bytes > maxBytes) break;
      this.mem.shift();
      this.memBytes -= next.bytes;
      out.push(next);
      bytes += next.bytes;
      this.dispatchedSeq = next.seq;
    }
    // Past records that turned out unreadable, nothing is left to hand out.
    if (this.mem.length === 0 && !this.spilling) this.dispatchedSeq = this.loadedSeq;
    return out;
  }

  /** Reads spilled records back into memory, up to `count` records (and a byte budget). */
  private loadFromDisk(count: number): void {
    let loaded = 0;
    let loadedBytes = 0;
    const byteBudget = Math.max(this.opts.maxMemoryBytes / 4, READ_CHUNK);
    while (this.spilling && loaded < count && loadedBytes < byteBudget) {
      const idx = this.segments.findIndex((s) => s.firstSeq === this.readPos.firstSeq);
      const seg = this.segments[idx];
      if (!seg) {
        // Deleted under us (every record in it forwarded): continue with the next one.
        const next = this.segments.find((s) => s.firstSeq > this.readPos.firstSeq);
        if (!next) {
          this.endSpill();
          break;
        }
        this.readPos = { firstSeq: next.firstSeq, offset: 0 };
        continue;
      }
      const isActive = idx === this.segments.length - 1;
      // Records of one segment, through the read-ahead buffer.
      while (loaded < count && loadedBytes < byteBudget) {
        const end = seg.size;
        const offset = this.readPos.offset;
        if (offset >= end) break;
        let rel = offset - this.readBufStart;
        if (this.readBufSeq !== seg.firstSeq || !this.readBuf || rel < 0 || rel >= this.readBufLen) {
          this.fillReadBuf(seg, offset, Math.min(end - offset, READ_CHUNK));
          rel = 0;
        }
        const r = decodeRecord(this.readBuf as Buffer, rel, this.readBufLen);
        if (r.ok) {
          this.readPos.offset = this.readBufStart + r.next;
          if (r.record.seq > this.loadedSeq) {
            this.mem.push(r.record);
            this.memBytes += r.record.bytes;
            this.loadedSeq = r.record.seq;
            this.spillHeadReceivedAt = r.record.receivedAt; // a lower bound for the next one's age
            loaded++;
            loadedBytes += r.record.bytes;
          }
          continue;
        }
        if (r.reason === 'incomplete' && offset + r.need <= end && (rel > 0 || this.readBufLen < r.need)) {
          // The record continues past the buffer: read again from its start.
          this.fillReadBuf(seg, offset, Math.max(r.need, Math.min(end - offset, READ_CHUNK)));
          continue;
        }
        // Unreadable bytes: a torn tail (crash) or corruption. Skip the rest of this segment.
        this.discardedBytes += end - offset;
        this.log?.error('journal_unreadable_data', {
          segment: path.basename(seg.file),
          offset,
          bytes: end - offset,
        });
        this.readPos.offset = end;
      }
      if (this.readPos.offset < seg.size) continue; // budget reached
      if (isActive) {
        this.endSpill();
        break;
      }
      const next = this.segments[idx + 1] as Segment;
      this.readPos = { firstSeq: next.firstSeq, offset: 0 };
    }
  }

  private fillReadBuf(seg: Segment, offset: number, length: number): void {
    if (this.readFdSeq !== seg.firstSeq) {
      this.closeReadFd();
      this.readFd = fs.openSync(seg.file, 'r');
      this.readFdSeq = seg.firstSeq;
    }
    // A new buffer each time: records handed out keep referencing the previous one.
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const n = fs.readSync(this.readFd, buf, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    this.readBuf = buf;
    this.readBufSeq = seg.firstSeq;
    this.readBufStart = offset;
    this.readBufLen = got;
  }

  private endSpill(): void {
    if (this.loadedSeq < this.nextSeq - 1) {
      const lost = this.nextSeq - 1 - this.loadedSeq;
      this.log?.error('journal_records_unreadable', {
        fromSeq: this.loadedSeq + 1,
        toSeq: this.nextSeq - 1,
        count: lost,
      });
      this.loadedSeq = this.nextSeq - 1;
    }
    this.spilling = false;
    this.spillHeadReceivedAt = undefined;
    this.closeReadFd();
    this.log?.info('journal_spill_end', { seq: this.loadedSeq });
  }

  private closeReadFd(): void {
    if (this.readFd >= 0) fs.closeSync(this.readFd);
    this.readFd = -1;
    this.readFdSeq = -1;
    this.readBuf = undefined;
    this.readBufSeq = -1;
  }

  /**
   * Records that every seq <= `seq` was accepted by ingest and deletes segments that are wholly
   * forwarded (never the active one). The cursor file is written by the next sync() or close(),
   * not per batch: a crash before that only re-sends accepted messages, which ingest deduplicates.
   */
  commit(seq: number): void {
    if (seq <= this.cursorSeq) return;
    if (seq > this.nextSeq - 1) throw new Error(`commit beyond the journal (${seq} > ${this.nextSeq - 1})`);
    this.cursorSeq = seq;
    this.cursorDirty = true;
    while (this.segments.length > 1) {
      const [first, second] = this.segments as [Segment, Segment];
      if (second.firstSeq - 1 > this.cursorSeq) break;
      try {
        fs.unlinkSync(first.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.log?.warn('journal_segment_delete_failed', {
            file: first.file,
            error: (err as Error).message,
          });
          break;
        }
      }
      this.totalBytes -= first.size;
      this.segments.shift();
    }
  }

  private writeCursor(): void {
    this.cursorDirty = false;
    const file = path.join(this.opts.dir, CURSOR_FILE);
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify({ seq: this.cursorSeq, updatedAt: new Date().toISOString() }), {
      mode: 0o600,
    });
    fs.renameSync(tmp, file);
  }

  /** Final fdatasync, cursor write and lock release. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (this.staged.length > 0) this.flushStaged();
    if (this.syncing) await this.syncing;
    this.closed = true;
    await Promise.all([...this.pendingCloses]);
    try {
      fs.fdatasyncSync(this.fd);
      const dfd = fs.openSync(this.opts.dir, 'r');
      fs.fsyncSync(dfd);
      fs.closeSync(dfd);
    } finally {
      fs.closeSync(this.fd);
      this.fd = -1;
      this.closeReadFd();
      if (this.cursorSeq > 0) this.writeCursor();
      this.lockFile?.release();
    }
  }

  // ---- open --------------------------------------------------------------------------------

  private load(): void {
    const dir = this.opts.dir;
    for (const name of fs.readdirSync(dir)) {
      if (name.endsWith('.tmp')) fs.rmSync(path.join(dir, name), { force: true });
    }
    const segments: Segment[] = fs
      .readdirSync(dir)
      .map((name) => SEGMENT_RE.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => {
        const file = path.join(dir, m[0]);
        return { firstSeq: Number(m[1]), file, size: fs.statSync(file).size };
      })
      .sort((a, b) => a.firstSeq - b.firstSeq);

    let cursor = this.readCursor();
    let lastSeq = 0;
    const last = segments[segments.length - 1];
    if (last) {
      // Scan the last segment: its last valid record, the packet-id map, and a torn tail to cut.
      const data = fs.readFileSync(last.file);
      let pos = 0;
      for (;;) {
        const r = decodeRecord(data, pos, data.length);
        if (!r.ok) break;
        lastSeq = r.record.seq;
        if (r.packetId > 0) {
          this.lastBySeqId[r.packetId] = r.record.seq;
          this.lastByCrc[r.packetId] = r.contentCrc;
          this.lastByLen[r.packetId] = r.record.bytes;
        }
        pos = r.next;
      }
      if (pos < data.length) {
        this.discardedBytes += data.length - pos;
        this.log?.warn('journal_torn_tail_truncated', {
          segment: path.basename(last.file),
          validBytes: pos,
          discardedBytes: data.length - pos,
          note: 'an incomplete last record from a crash; it was never acknowledged to the broker',
        });
        fs.truncateSync(last.file, pos);
      }
      last.size = pos;
      if (lastSeq === 0) lastSeq = last.firstSeq - 1;
      const first = segments[0] as Segment;
      if (cursor === undefined || cursor < first.firstSeq - 1) cursor = first.firstSeq - 1;
    }
    const fresh = segments.length === 0;
    const now = this.opts.now ?? Date.now;
    const startSeq = Math.max(lastSeq + 1, (cursor ?? 0) + 1, fresh ? Math.floor(now()) * 1000 : 0);
    this.cursorSeq = Math.min(cursor ?? startSeq - 1, startSeq - 1);
    this.nextSeq = startSeq;
    if (fresh || (last && last.firstSeq > startSeq)) {
      const seg: Segment = { firstSeq: startSeq, file: path.join(dir, segmentName(startSeq)), size: 0 };
      segments.push(seg);
      this.dirDirty = true;
    }
    this.segments = segments;
    const active = this.activeSegment();
    this.fd = fs.openSync(active.file, fs.existsSync(active.file) ? 'r+' : 'wx', 0o600);
    this.totalBytes = segments.reduce((sum, s) => sum + s.size, 0);
    this.dispatchedSeq = this.cursorSeq;
    this.loadedSeq = this.cursorSeq;
    if (this.pending > 0) {
      // Replay: read everything after the cursor back from disk.
      const from = [...segments].reverse().find((s) => s.firstSeq <= this.cursorSeq + 1) ?? segments[0];
      this.spilling = true;
      this.readPos = { firstSeq: (from as Segment).firstSeq, offset: 0 };
    }
    // Segments already wholly forwarded (a crash between commit and delete).
    if (this.cursorSeq > 0) this.commitDeleteOnly();
    this.log?.info('journal_opened', {
      dir,
      segments: this.segments.length,
      bytes: this.totalBytes,
      cursor: this.cursorSeq,
      lastSeq: this.lastSeq,
      replay: this.pending,
    });
  }

  private commitDeleteOnly(): void {
    const seq = this.cursorSeq;
    this.cursorSeq = seq - 1;
    this.commit(seq);
  }

  private readCursor(): number | undefined {
    const file = path.join(this.opts.dir, CURSOR_FILE);
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const seq = (JSON.parse(text) as { seq?: unknown }).seq;
      if (typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0) return seq;
    } catch {
      // fall through
    }
    this.log?.warn('journal_cursor_unreadable', {
      file,
      note: 'replaying every segment; ingest treats the repeated ids as duplicates',
    });
    return undefined;
  }
}
