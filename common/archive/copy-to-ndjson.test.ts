import fc from 'fast-check';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CopyToNdjson, ndjsonLine } from './copy-to-ndjson.js';

const A = '2d18e016-4d8a-4d56-b570-3112fc67318e';
const B = '7f0c1f9e-2c57-4f6b-9d1e-5f1c0a6b2e11';
/** A line as COPY prints it: fields escaped as its text format escapes them. */
const copyEscape = (s: string) =>
  s.replace(
    /[\\\b\f\n\r\t\v]/g,
    (c) => `\\${{ '\\': '\\', '\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't', '\v': 'v' }[c]}`,
  );
const copyLine = (key: string, metrics: string, ts = '2026-10-21 08:00:00.25+00') =>
  [A, B, ts, copyEscape(key), copyEscape(metrics), '2026-10-21 08:00:01+00'].join('\t');

async function convert(chunks: Buffer[]): Promise<{ text: string; tap: CopyToNdjson }> {
  const tap = new CopyToNdjson();
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), tap, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c);
  });
  return { text: Buffer.concat(out).toString('utf8'), tap };
}

test('a COPY line becomes the archive line: uuids, UTC timestamps with a T and a Z, msg_key and metrics as JSON', () => {
  expect(ndjsonLine(copyLine('m-1', '{"temp": 21.5, "ok": true}'))).toBe(
    `{"tenant_id":"${A}","device_id":"${B}","ts":"2026-10-21T08:00:00.25Z","msg_key":"m-1",` +
      '"metrics":{"temp": 21.5, "ok": true},"received_at":"2026-10-21T08:00:01Z"}\n',
  );
  // Escapes COPY made are undone, JSON's made: the values survive exactly.
  const line = ndjsonLine(copyLine('a\t"b"\\c\nd\u0001', '{"s": "q\\"uote \\\\ back\\nline ü"}'));
  const row = JSON.parse(line) as { msg_key: string; metrics: { s: string } };
  expect(row.msg_key).toBe('a\t"b"\\c\nd\u0001');
  expect(row.metrics.s).toBe('q"uote \\ back\nline ü');
  expect(() => ndjsonLine(copyLine('k', '{}', '2026-10-21 08:00:00+07'))).toThrow(/unexpected timestamp/);
  expect(() => ndjsonLine(`${A}\t${B}`)).toThrow(/COPY gave 2 fields, not 6/);
});

test('the stream gives ndjsonLine bytes whatever the chunks and the escaping, counting, hashing, earliest and latest ts', async () => {
  const keys = fc.oneof(
    fc.stringMatching(/^[a-z0-9-]{1,20}$/),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
  );
  const metrics = fc.oneof(
    fc.constant('{"temp": 20.5000000000000000}'),
    fc.string({ maxLength: 10 }).map((s) => JSON.stringify({ s })),
    fc.string({ unit: 'binary', maxLength: 6 }).map((s) => JSON.stringify({ s, n: 1 })),
  );
  // Timestamps as PostgreSQL prints them: no fraction, or one of 1 to 6 digits without trailing zeros.
  const timestamps = fc
    .tuple(fc.integer({ min: 0, max: 86_399 }), fc.integer({ min: 0, max: 999_999 }))
    .map(([s, us]) => {
      const hms = new Date(Date.UTC(2026, 9, 21) + s * 1000).toISOString().slice(11, 19);
      const frac = us ? `.${String(us).padStart(6, '0').replace(/0+$/, '')}` : '';
      return { copy: `2026-10-21 ${hms}${frac}+00`, ms: s * 1000 + us / 1000 };
    });
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(keys, metrics, timestamps), { minLength: 1, maxLength: 30 }),
      fc.integer({ min: 1, max: 97 }),
      async (rows, cut) => {
        const lines = rows.map(([k, m, ts]) => copyLine(k, m, ts.copy));
        const input = Buffer.from(lines.map((l) => `${l}\n`).join(''));
        const chunks: Buffer[] = [];
        for (let i = 0; i < input.length; i += cut) chunks.push(input.subarray(i, i + cut));
        const { text, tap } = await convert(chunks);
        const expected = lines.map(ndjsonLine).join('');
        expect(text).toBe(expected);
        expect(tap.rows).toBe(lines.length);
        // In no particular order: the earliest and the latest by time, not the first and last lines.
        const byTime = [...rows].sort((a, b) => a[2].ms - b[2].ms);
        const iso = (copy: string) => `${copy.slice(0, 10)}T${copy.slice(11, -3)}Z`;
        expect(tap.minTs).toBe(iso(byTime[0]![2].copy));
        expect(tap.maxTs).toBe(iso(byTime.at(-1)![2].copy));
        expect(tap.hash.digest('hex')).toBe(
          (await import('node:crypto')).createHash('sha256').update(expected).digest('hex'),
        );
      },
    ),
    { numRuns: 200 },
  );
});

test('every character COPY or JSON escapes, in msg_key and in metrics: the stream and ndjsonLine agree', async () => {
  const special = [
    '\\',
    '\b',
    '\f',
    '\n',
    '\r',
    '\t',
    '\v',
    '"',
    '\u0001',
    '\u001f',
    '\u007f',
    'ü',
    '€',
    '😀',
  ];
  const lines = special.flatMap((c) => [
    copyLine(`k${c}x`, '{}'),
    copyLine('k', JSON.stringify({ s: `a${c}b` })),
  ]);
  const { text, tap } = await convert([Buffer.from(lines.map((l) => `${l}\n`).join(''))]);
  expect(text).toBe(lines.map(ndjsonLine).join(''));
  expect(tap.rows).toBe(lines.length);
  for (const [i, c] of special.entries()) {
    const [keyRow, metricsRow] = text
      .split('\n')
      .slice(2 * i, 2 * i + 2)
      .map((l) => JSON.parse(l) as { msg_key: string; metrics: { s?: string } });
    expect(keyRow!.msg_key).toBe(`k${c}x`);
    expect(metricsRow!.metrics.s).toBe(`a${c}b`);
  }
});

test('output cut short inside a row is an error, not a shorter object', async () => {
  await expect(convert([Buffer.from(`${copyLine('k', '{}')}\n${A}\t${B}`)])).rejects.toThrow(
    /the COPY output ended inside a row/,
  );
});
