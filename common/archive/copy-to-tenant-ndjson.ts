/**
 * One COPY of a day partition, several tenants' objects: the COPY text of (tenant_id, device_id,
 * ts, msg_key, metrics, received_at) in, each line routed by its tenant_id to that tenant's
 * NdjsonLines and on to the tenant's own stream (its gzip). One sequential scan of the partition
 * costs PostgreSQL far less than one index scan per tenant (docs/archive.md, "Cost and speed").
 *
 * Memory stays bounded: when a tenant's stream asks to wait (write() returned false), the next
 * chunk of the COPY is taken only after it drained. Lines of tenants not asked for (their rows are
 * kept, or already archived) are counted and skipped.
 */
import { Writable } from 'node:stream';
import { CopyLines, NdjsonLines } from './copy-to-ndjson.js';

export interface TenantTarget {
  tenantId: string;
  /** Where the tenant's NDJSON lines go: ended when the COPY is, destroyed when it fails. */
  stream: Writable;
}

/** A tenant's output waits until at least this much is written before it is handed on. */
const HAND_ON_BYTES = 64 * 1024;
const UUID_BYTES = 36;

export class CopyToTenantNdjson extends Writable {
  /** Lines of tenants not asked for. */
  skipped = 0;
  private readonly split = new CopyLines();
  private readonly ids: Buffer[];
  private readonly outputs: NdjsonLines[];
  private readonly waiting = new Set<Writable>();
  /** The tenant of the last line: rows of one tenant often come together. */
  private last = 0;
  /** Every target was ended with all its lines. */
  private ended = false;

  constructor(private readonly targets: TenantTarget[]) {
    super();
    if (targets.length === 0) throw new Error('no tenant to export');
    this.ids = targets.map((t) => Buffer.from(t.tenantId, 'latin1'));
    if (this.ids.some((id) => id.length !== UUID_BYTES)) throw new Error('tenant ids must be uuids');
    this.outputs = targets.map(
      ({ stream }) =>
        new NdjsonLines((bytes) => {
          if (!stream.write(bytes)) this.waiting.add(stream);
        }, 256 * 1024),
    );
  }

  /** The tenant's lines so far: rows, content hash, earliest and latest ts. */
  linesOf(index: number): NdjsonLines {
    return this.outputs[index]!;
  }

  private readonly line = (data: Buffer, start: number, nl: number): void => {
    const t = this.tenantOf(data, start, nl);
    if (t === -1) this.skipped += 1;
    else this.outputs[t]!.line(data, start, nl);
  };

  /** The index of the line's tenant, -1 for one not asked for. */
  private tenantOf(data: Buffer, start: number, nl: number): number {
    if (nl - start <= UUID_BYTES) return -1; // ndjsonLine names what is wrong when it is asked
    if (sameId(data, start, this.ids[this.last]!)) return this.last;
    for (let t = 0; t < this.ids.length; t++)
      if (t !== this.last && sameId(data, start, this.ids[t]!)) return (this.last = t);
    return -1;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    try {
      this.split.split(chunk, this.line);
      for (const out of this.outputs) if (out.held >= HAND_ON_BYTES) out.send();
    } catch (error) {
      return done(error as Error);
    }
    if (this.waiting.size === 0) return done();
    const streams = [...this.waiting];
    this.waiting.clear();
    Promise.all(streams.map(drained)).then(() => done(), done);
  }

  override _final(done: (error?: Error | null) => void): void {
    const cut = this.split.end();
    if (cut) return done(cut);
    for (const out of this.outputs) out.send();
    for (const { stream } of this.targets) stream.end();
    this.ended = true;
    done();
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    // A COPY that failed or stopped early must not end an object as if complete: its stream fails too.
    if (!this.ended) {
      const why = error ?? new Error('the COPY stopped before its end');
      for (const { stream } of this.targets) {
        // Its reader (the upload) may be gone already: the error must not go unheard.
        stream.once('error', () => undefined);
        stream.destroy(why);
      }
    }
    done(error);
  }
}

function sameId(data: Buffer, start: number, id: Buffer): boolean {
  if (data[start + UUID_BYTES] !== 9) return false; // the tab after tenant_id
  for (let k = 0; k < UUID_BYTES; k++) if (data[start + k] !== id[k]) return false;
  return true;
}

/** Resolves when the stream drained; rejects when it fails or closes first. */
function drained(stream: Writable): Promise<void> {
  if (!stream.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      stream.off('drain', onDrain);
      stream.off('error', onError);
      stream.off('close', onClose);
      if (error) reject(error);
      else resolve();
    };
    const onDrain = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => settle(new Error('the object stream closed before the COPY ended'));
    stream.on('drain', onDrain);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}
