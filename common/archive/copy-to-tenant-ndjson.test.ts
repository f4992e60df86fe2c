import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ndjsonLine } from './copy-to-ndjson.js';
import { CopyToTenantNdjson } from './copy-to-tenant-ndjson.js';

const TENANTS = [
  '2d18e016-4d8a-4d56-b570-3112fc67318e',
  '2d18e016-4d8a-4d56-b570-3112fc67318f', // differs from the first in its last byte only
  '7f0c1f9e-2c57-4f6b-9d1e-5f1c0a6b2e11',
];
const OTHER = '9a9a9a9a-0000-4000-8000-000000000000';
const DEVICE = 'b1b1b1b1-1111-4111-8111-111111111111';
const copyLine = (tenant: string, key: string, second = 0) =>
  [
    tenant,
    DEVICE,
    `2026-10-21 08:00:${String(second % 60).padStart(2, '0')}+00`,
    key,
    `{"n": ${second}}`,
    '2026-10-21 08:00:01+00',
  ].join('\t');

/** A target that keeps what it gets, taking each chunk after `delayMs` (a slow upload). */
class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  /** The most bytes ever waiting in it: what backpressure bounds. */
  peakBuffered = 0;
  constructor(private readonly delayMs = 0) {
    super({ highWaterMark: 16 * 1024 });
  }
  override _write(chunk: Buffer, _e: BufferEncoding, done: () => void) {
    this.peakBuffered = Math.max(this.peakBuffered, this.writableLength);
    this.chunks.push(chunk);
    if (this.delayMs) setTimeout(done, this.delayMs);
    else setImmediate(done);
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

async function route(chunks: Buffer[], targets: Collector[]) {
  const router = new CopyToTenantNdjson(TENANTS.map((tenantId, i) => ({ tenantId, stream: targets[i]! })));
  await pipeline(Readable.from(chunks), router);
  await Promise.all(
    targets.map((t) => (t.writableFinished ? null : new Promise((r) => t.once('finish', r)))),
  );
  return router;
}

test("each tenant's lines reach its own stream as ndjsonLine writes them, in order, whatever the chunks; others are skipped", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.stringMatching(/^[a-z0-9-]{1,12}$/)), {
        minLength: 1,
        maxLength: 60,
      }),
      fc.integer({ min: 1, max: 300 }),
      async (rows, cut) => {
        const lines = rows.map(([t, key], i) => ({ t, line: copyLine([...TENANTS, OTHER][t]!, key, i) }));
        const input = Buffer.from(lines.map((l) => `${l.line}\n`).join(''));
        const chunks: Buffer[] = [];
        for (let i = 0; i < input.length; i += cut) chunks.push(input.subarray(i, i + cut));
        const targets = TENANTS.map(() => new Collector());
        const router = await route(chunks, targets);
        for (const [i, target] of targets.entries()) {
          const expected = lines
            .filter((l) => l.t === i)
            .map((l) => ndjsonLine(l.line))
            .join('');
          expect(target.text).toBe(expected);
          const out = router.linesOf(i);
          expect(out.rows).toBe(lines.filter((l) => l.t === i).length);
          expect(out.hash.digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
        }
        expect(router.skipped).toBe(lines.filter((l) => l.t === 3).length);
      },
    ),
    { numRuns: 150 },
  );
});

test('a slow stream holds the COPY back: what waits in it stays bounded while megabytes pass', async () => {
  // 20,000 rows, about 4 MB of JSON, most of them for the slow tenant; 64 kB COPY chunks.
  const input = Buffer.from(
    Array.from(
      { length: 20_000 },
      (_, i) => `${copyLine(TENANTS[i % 5 === 0 ? 1 : 0]!, `key-${i}`, i)}\n`,
    ).join(''),
  );
  const chunks: Buffer[] = [];
  for (let i = 0; i < input.length; i += 64 * 1024) chunks.push(input.subarray(i, i + 64 * 1024));
  const slow = new Collector(1);
  const targets = [slow, new Collector(), new Collector()];
  const router = await route(chunks, targets);
  expect(router.linesOf(0).rows).toBe(16_000);
  expect(slow.text.split('\n')).toHaveLength(16_001);
  // One COPY chunk's lines (64 kB grow to about 100 kB as JSON) beyond its high-water mark at most.
  expect(slow.peakBuffered).toBeLessThan(256 * 1024);
  expect(Buffer.concat(slow.chunks).length).toBeGreaterThan(3_000_000);
});

test("a COPY cut inside a row fails every tenant's stream instead of ending it", async () => {
  const targets = TENANTS.map(() => new Collector());
  const finished = targets.map((t) => new Promise<string>((r) => t.once('finish', () => r('finish'))));
  const failed = targets.map(
    (t) => new Promise<string>((r) => t.once('error', (e: Error) => r(`error: ${e.message}`))),
  );
  const input = `${copyLine(TENANTS[0]!, 'a')}\n${TENANTS[1]}\t${DEVICE}`;
  await expect(route([Buffer.from(input)], targets)).rejects.toThrow('the COPY output ended inside a row');
  for (const [i] of targets.entries())
    expect(await Promise.race([finished[i], failed[i]])).toBe('error: the COPY output ended inside a row');
});

test('a stream that fails stops the COPY with its error', async () => {
  const broken = new Writable({
    write: (_c, _e, done) => done(new Error('upload refused')),
  });
  broken.on('error', () => undefined);
  const router = new CopyToTenantNdjson([
    { tenantId: TENANTS[0]!, stream: broken },
    { tenantId: TENANTS[1]!, stream: new Collector() },
  ]);
  const many = Array.from({ length: 5000 }, (_, i) => `${copyLine(TENANTS[0]!, `k${i}`, i)}\n`).join('');
  await expect(pipeline(Readable.from([Buffer.from(many), Buffer.from(many)]), router)).rejects.toThrow(
    'upload refused',
  );
});

test('tenant ids are checked', () => {
  expect(() => new CopyToTenantNdjson([])).toThrow('no tenant to export');
  expect(() => new CopyToTenantNdjson([{ tenantId: 'tenant-1', stream: new Collector() }])).toThrow(
    'tenant ids must be uuids',
  );
});
