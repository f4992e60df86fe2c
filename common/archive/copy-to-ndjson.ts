/**
 * The archive's lines from PostgreSQL's COPY text output of (tenant_id, device_id, ts, msg_key,
 * metrics, received_at), printed with DateStyle ISO and TimeZone UTC (archive-object.ts's
 * EXPORT_SETUP): one JSON object per row, the format of common/telemetry-archive.ts. PostgreSQL only
 * reads and prints the rows, the cheapest export it can do on the database the platform shares with
 * ingest; the lines are written here, in the archive's process.
 *
 * ndjsonLine is the definition, on strings. CopyToNdjson gives the same bytes without making
 * strings, copying a line range by range (fastLine); the rare line it cannot (a quote or a control
 * character in msg_key) goes through ndjsonLine. The sibling test holds the two to the same output.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';

// COPY's text format escapes these (and backslash) in a field; nothing else.
const COPY_ESCAPES: Record<string, string> = { b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
const unescapeCopy = (field: string): string =>
  field.includes('\\') ? field.replace(/\\(.)/g, (_m, c: string) => COPY_ESCAPES[c] ?? c) : field;

const badTimestamp = (text: string) =>
  new Error(
    `unexpected timestamp ${JSON.stringify(text)} from COPY (DateStyle ISO and TimeZone UTC expected)`,
  );

/** `2026-10-21 08:00:00.25+00` (ISO style, UTC) as `2026-10-21T08:00:00.25Z`. */
function isoTimestamp(text: string): string {
  if (text.charCodeAt(10) !== 32 || !text.endsWith('+00') || text.length < 22 || text.length > 29)
    throw badTimestamp(text);
  return `${text.slice(0, 10)}T${text.slice(11, -3)}Z`;
}

/**
 * One COPY text line as the archive's JSON line (with its newline): uuids and timestamps as
 * strings, msg_key escaped by JSON.stringify, metrics as jsonb printed them (already JSON: only
 * COPY's escaping is undone), so a restore that parses it in PostgreSQL gets every value back.
 */
export function ndjsonLine(copyLine: string): string {
  const f = copyLine.split('\t');
  if (f.length !== 6)
    throw new Error(`COPY gave ${f.length} fields, not 6: have the telemetry columns changed?`);
  return (
    `{"tenant_id":"${f[0]}","device_id":"${f[1]}","ts":"${isoTimestamp(f[2]!)}",` +
    `"msg_key":${JSON.stringify(unescapeCopy(f[3]!))},"metrics":${unescapeCopy(f[4]!)},` +
    `"received_at":"${isoTimestamp(f[5]!)}"}\n`
  );
}

const TAB = 9;
const NL = 10;
const BACKSLASH = 92;
const QUOTE = 34;
const K_TENANT = Buffer.from('{"tenant_id":"');
const K_DEVICE = Buffer.from('","device_id":"');
const K_TS = Buffer.from('","ts":"');
const K_KEY = Buffer.from('Z","msg_key":"');
const K_METRICS = Buffer.from('","metrics":');
const K_RECEIVED = Buffer.from(',"received_at":"');
const K_END = Buffer.from('Z"}\n');
/** What the keys add to a line (the timestamps' `+00` becoming `Z` saves a little). */
const SLACK =
  K_TENANT.length +
  K_DEVICE.length +
  K_TS.length +
  K_KEY.length +
  K_METRICS.length +
  K_RECEIVED.length +
  K_END.length;

/** Where an archive line's ts starts: after `{"tenant_id":"<uuid>","device_id":"<uuid>","ts":"`. */
const TS_AT = K_TENANT.length + 36 + K_DEVICE.length + 36 + K_TS.length;
const Z = 90;

/**
 * Splits COPY text, in chunks cut anywhere, into lines: `line(data, start, nl)` for each complete
 * one, where data[start, nl) is the line without its newline. A line cut by a chunk's end is kept
 * (bounded by one row's length) and given whole with the next chunk.
 */
export class CopyLines {
  private carry: Buffer | null = null;

  /** The chunk's complete lines, in order; false when the chunk completed none (no newline). */
  split(chunk: Buffer, line: (data: Buffer, start: number, nl: number) => void): boolean {
    const end = chunk.lastIndexOf(NL) + 1;
    if (end === 0) {
      this.carry = this.carry ? Buffer.concat([this.carry, chunk]) : Buffer.from(chunk);
      return false;
    }
    let start = 0;
    if (this.carry) {
      // The row the last chunk ended in: only that row is copied together, not the chunk.
      const nl = chunk.indexOf(NL);
      const row = Buffer.concat([this.carry, chunk.subarray(0, nl + 1)]);
      line(row, 0, row.length - 1);
      start = nl + 1;
    }
    for (let nl = chunk.indexOf(NL, start); nl !== -1 && nl < end; nl = chunk.indexOf(NL, start)) {
      line(chunk, start, nl);
      start = nl + 1;
    }
    this.carry = end < chunk.length ? Buffer.from(chunk.subarray(end)) : null;
    return true;
  }

  /** What a line cut by the last chunk would hold (the caller sizes its output by it). */
  get carried(): number {
    return this.carry?.length ?? 0;
  }

  /** At the end of the COPY: an error when it ended inside a row. */
  end(): Error | null {
    return this.carry ? new Error('the COPY output ended inside a row') : null;
  }
}

/**
 * One object's NDJSON lines, written into buffers that are handed on (`emit`) and never written
 * again: counts and hashes the lines and keeps the earliest and latest ts. The COPY comes in no
 * particular order (sorting a day costs PostgreSQL more than printing it), so they are compared:
 * ISO timestamps of one format order as their bytes do.
 */
export class NdjsonLines {
  readonly hash = createHash('sha256');
  rows = 0;
  private min: Buffer | null = null;
  private max: Buffer | null = null;
  private out = Buffer.alloc(0);
  /** out[from, o) is written and not handed on yet; out[o, ) is free. */
  private from = 0;
  private o = 0;

  /** `slab`: the size of a new buffer when a line does not fit (at least the line's worst case). */
  constructor(
    private readonly emit: (bytes: Buffer) => void,
    private readonly slab = 64 * 1024,
  ) {}

  /** The earliest ts of the lines so far (`2026-10-21T08:00:00.25Z`), null before the first. */
  get minTs(): string | null {
    return this.min ? `${this.min.toString('latin1')}Z` : null;
  }
  get maxTs(): string | null {
    return this.max ? `${this.max.toString('latin1')}Z` : null;
  }
  /** Bytes written and not handed on yet. */
  get held(): number {
    return this.o - this.from;
  }

  /** Room for `bytes` more output in the current buffer: else what it holds is handed on and a new one begun. */
  reserve(bytes: number): void {
    if (this.o + bytes <= this.out.length) return;
    this.send();
    this.out = Buffer.allocUnsafe(Math.max(this.slab, bytes));
    this.from = this.o = 0;
  }

  /** Hands on (hashed) the lines written since the last time. */
  send(): void {
    if (this.o === this.from) return;
    const bytes = this.out.subarray(this.from, this.o);
    this.from = this.o;
    this.hash.update(bytes);
    this.emit(bytes);
  }

  /** Appends the archive line of the COPY line data[start, nl). */
  line(data: Buffer, start: number, nl: number): void {
    // Escaped at worst, a byte takes six (\u0001).
    this.reserve((nl - start) * 6 + SLACK);
    const lineStart = this.o;
    const written = fastLine(data, start, nl, this.out, this.o);
    this.o =
      written >= 0 ? written : this.o + this.out.write(ndjsonLine(data.toString('utf8', start, nl)), this.o);
    this.rows += 1;
    const from = lineStart + TS_AT;
    let to = from;
    while (this.out[to] !== Z) to++;
    if (!this.min || compareBytes(this.out, from, to, this.min) < 0)
      this.min = Buffer.from(this.out.subarray(from, to));
    if (!this.max || compareBytes(this.out, from, to, this.max) > 0)
      this.max = Buffer.from(this.out.subarray(from, to));
  }
}

/** COPY text in, one object's NDJSON out (NdjsonLines over a Transform): one output buffer per chunk. */
export class CopyToNdjson extends Transform {
  private readonly split = new CopyLines();
  private readonly lines = new NdjsonLines((bytes) => this.push(bytes));
  private readonly line = (data: Buffer, start: number, nl: number) => this.lines.line(data, start, nl);

  get hash() {
    return this.lines.hash;
  }
  get rows(): number {
    return this.lines.rows;
  }
  get minTs(): string | null {
    return this.lines.minTs;
  }
  get maxTs(): string | null {
    return this.lines.maxTs;
  }

  override _transform(
    chunk: Buffer,
    _encoding: BufferEncoding,
    done: (e?: Error | null, c?: Buffer) => void,
  ) {
    try {
      // Room for the chunk's lines at the usual growth, so they go on as one buffer; a line that
      // needs more gets it (NdjsonLines.reserve).
      this.lines.reserve(Math.ceil(chunk.length * 1.6) + this.split.carried * 6 + 4 * SLACK);
      if (this.split.split(chunk, this.line)) this.lines.send();
      done();
    } catch (error) {
      done(error as Error);
    }
  }

  override _flush(done: (e?: Error | null) => void) {
    done(this.split.end());
  }
}

/**
 * The line of data[start, nl) written at `o`, or -1 when it needs ndjsonLine. One pass in plain
 * byte loops: a row's fields are short, and a call into Buffer.copy or indexOf for each costs more
 * than copying its bytes here. Two facts make most escaped rows fast too: in metrics (jsonb's JSON
 * text, which holds no control character) COPY only doubles backslashes, so halving them gives the
 * JSON back; in msg_key, COPY's escapes \\ \t \n \r \b \f are the very bytes JSON.stringify
 * writes for those characters.
 */
function fastLine(data: Buffer, start: number, nl: number, out: Buffer, o: number): number {
  let i = start;
  o = put(K_TENANT, out, o);
  // tenant_id, device_id: uuids, 36 bytes each then a tab.
  if (nl - start < 36 + 1 + 36 + 1 || data[start + 36] !== TAB || data[start + 73] !== TAB) return -1;
  for (const end = start + 36; i < end;) out[o++] = data[i++]!;
  o = put(K_DEVICE, out, o);
  i++;
  for (const end = start + 73; i < end;) out[o++] = data[i++]!;
  o = put(K_TS, out, o);
  i++;
  let tab = i;
  while (tab < nl && data[tab] !== TAB) tab++;
  if (tab >= nl) return -1;
  o = timestamp(data, i, tab, out, o);
  o = put(K_KEY, out, o);
  // msg_key: a quote, a raw control character or COPY's \v (JSON writes \u000b) take the slow path.
  for (i = tab + 1; i < nl; i++) {
    const b = data[i]!;
    if (b === TAB) break;
    if (b === QUOTE || b < 32) return -1;
    out[o++] = b;
    if (b === BACKSLASH) {
      const next = data[++i]!;
      if (next !== BACKSLASH && next !== 116 && next !== 110 && next !== 114 && next !== 98 && next !== 102)
        return -1;
      out[o++] = next;
    }
  }
  if (i >= nl) return -1;
  o = put(K_METRICS, out, o);
  // metrics: every backslash COPY wrote is one of a pair.
  for (i++; i < nl; i++) {
    const b = data[i]!;
    if (b === TAB) break;
    if (b === BACKSLASH) {
      if (data[++i] !== BACKSLASH) return -1;
    }
    out[o++] = b;
  }
  if (i >= nl) return -1;
  o = put(K_RECEIVED, out, o);
  for (tab = i + 1; tab < nl; tab++) if (data[tab] === TAB) return -1;
  o = timestamp(data, i + 1, nl, out, o);
  return put(K_END, out, o);
}

function put(key: Buffer, out: Buffer, o: number): number {
  for (let k = 0; k < key.length; k++) out[o++] = key[k]!;
  return o;
}

/** a[from, to) against b as bytes (a loop: the timestamps differ in their first 20 bytes). */
function compareBytes(a: Buffer, from: number, to: number, b: Buffer): number {
  const n = Math.min(to - from, b.length);
  for (let k = 0; k < n; k++) {
    const d = a[from + k]! - b[k]!;
    if (d !== 0) return d;
  }
  return to - from - b.length;
}

/** Copies `2026-10-21 08:00:00.25+00` as `2026-10-21T08:00:00.25` (the caller writes the Z). */
function timestamp(data: Buffer, from: number, to: number, out: Buffer, o: number): number {
  const length = to - from;
  if (
    length < 22 ||
    length > 29 ||
    data[from + 10] !== 32 ||
    data[to - 3] !== 43 || // +
    data[to - 2] !== 48 || // 0
    data[to - 1] !== 48
  )
    throw badTimestamp(data.toString('utf8', from, to));
  for (let i = from; i < from + 10; i++) out[o++] = data[i]!;
  out[o++] = 84; // T
  for (let i = from + 11; i < to - 3; i++) out[o++] = data[i]!;
  return o;
}
