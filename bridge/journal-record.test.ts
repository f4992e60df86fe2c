import fc from 'fast-check';
import {
  MAX_RECORD_BYTES,
  RECORD_HEADER_BYTES,
  contentCrc,
  decodeRecord,
  encodeRecord,
  recordPayload,
  recordReceivedAt,
  stampRecord,
} from './journal-record.js';

interface Message {
  topic: string;
  payload: Buffer;
  receivedAt: number;
  packetId: number;
  seq: number;
}

// MQTT topics are UTF-8 (no lone surrogates); any bytes as payload; any double as receivedAt.
const messageArb: fc.Arbitrary<Message> = fc.record({
  topic: fc.string({ unit: 'binary', maxLength: 80 }),
  payload: fc.uint8Array({ maxLength: 2048 }).map((a) => Buffer.from(a)),
  receivedAt: fc.double(),
  packetId: fc.integer({ min: 0, max: 0xffff }),
  seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
});

function encode(m: Message): Buffer {
  const buf = encodeRecord(m.topic, m.payload, m.receivedAt, m.packetId);
  stampRecord(buf, m.seq);
  return buf;
}

function expectDecodesTo(buf: Buffer, offset: number, end: number, m: Message, length: number): void {
  const r = decodeRecord(buf, offset, end);
  if (!r.ok) throw new Error(`not decoded: ${JSON.stringify(r)}`);
  expect(r.record.seq).toBe(m.seq);
  expect(r.record.topic).toBe(m.topic);
  expect(r.record.payload.equals(m.payload)).toBe(true);
  expect(r.record.receivedAt).toEqual(m.receivedAt); // NaN and -0 included
  expect(r.record.bytes).toBe(length);
  expect(r.packetId).toBe(m.packetId);
  expect(r.next).toBe(offset + length);
}

describe('journal record codec', () => {
  it('round-trips and rejects corruption', () => {
    const buf = encodeRecord('t/x/y/telemetry', Buffer.from([0, 1, 2, 255]), 1234.5, 42);
    stampRecord(buf, 77);
    const r = decodeRecord(buf, 0, buf.length);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.record).toMatchObject({
      seq: 77,
      topic: 't/x/y/telemetry',
      receivedAt: 1234.5,
      bytes: buf.length,
    });
    expect([...r.record.payload]).toEqual([0, 1, 2, 255]);
    expect(r.packetId).toBe(42);
    expect(decodeRecord(buf, 0, buf.length - 1)).toEqual({
      ok: false,
      reason: 'incomplete',
      need: buf.length,
    });
    const bad = Buffer.from(buf);
    bad[bad.length - 1] = (bad[bad.length - 1] as number) ^ 1;
    expect(decodeRecord(bad, 0, bad.length)).toEqual({ ok: false, reason: 'invalid' });
    expect(decodeRecord(Buffer.alloc(64), 0, 64)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('decode(encode(x)) == x, at any offset of a buffer, with the accessors agreeing', () => {
    fc.assert(
      fc.property(messageArb, fc.uint8Array({ maxLength: 64 }), (m, before) => {
        const rec = encode(m);
        expect(rec.length).toBe(RECORD_HEADER_BYTES + Buffer.byteLength(m.topic) + m.payload.length);
        expect(recordPayload(rec).equals(m.payload)).toBe(true);
        expect(recordReceivedAt(rec)).toEqual(m.receivedAt);
        const buf = Buffer.concat([Buffer.from(before), rec]);
        expectDecodesTo(buf, before.length, buf.length, m, rec.length);
        const r = decodeRecord(buf, before.length, buf.length);
        expect(r.ok && r.contentCrc).toBe(contentCrc(rec));
      }),
    );
  });

  it('decodes a run of records one after the other (`next` is the next record)', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 8 }), (ms) => {
        const recs = ms.map(encode);
        const buf = Buffer.concat(recs);
        let offset = 0;
        ms.forEach((m, i) => {
          expectDecodesTo(buf, offset, buf.length, m, recs[i]!.length);
          offset += recs[i]!.length;
        });
        expect(offset).toBe(buf.length);
      }),
    );
  });

  it('reports any truncation as incomplete, never as a record', () => {
    fc.assert(
      fc.property(messageArb, fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (m, at) => {
        const rec = encode(m);
        const cut = Math.floor(at * rec.length); // 0 .. length - 1 bytes left
        const expected = {
          ok: false,
          reason: 'incomplete',
          need: cut < 8 ? RECORD_HEADER_BYTES : rec.length,
        };
        expect(decodeRecord(rec, 0, cut)).toEqual(expected); // a torn tail: the file ends there
        expect(decodeRecord(Buffer.from(rec.subarray(0, cut)), 0, cut)).toEqual(expected);
      }),
    );
  });

  // Every byte after the length is covered by the CRC (or is the CRC), and CRC32 detects every
  // error burst of up to 32 bits: one damaged byte there is always detected. A damaged length is
  // out of bounds, runs past the data (incomplete), or makes the CRC span other bytes (a chance of
  // 2^-32 to match), as does wider damage.
  it('detects any damaged byte, also with more records behind it, and never mis-decodes it', () => {
    fc.assert(
      fc.property(
        messageArb,
        messageArb,
        fc.nat(),
        fc.integer({ min: 1, max: 255 }),
        (m, behind, pos, flip) => {
          const rec = encode(m);
          const buf = Buffer.concat([rec, encode(behind)]);
          const at = pos % rec.length;
          buf[at] = (buf[at] as number) ^ flip;
          expect(decodeRecord(buf, 0, buf.length).ok).toBe(false);
          expect(decodeRecord(buf, 0, rec.length).ok).toBe(false);
        },
      ),
    );
  });

  it('detects damage to several bytes', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 2, maxLength: 16 }),
        (m, damage) => {
          const rec = encode(m);
          const bad = Buffer.from(rec);
          for (const [pos, flip] of damage) bad[pos % bad.length] = (bad[pos % bad.length] as number) ^ flip;
          fc.pre(!bad.equals(rec)); // two flips of one byte can cancel out
          expect(decodeRecord(bad, 0, bad.length).ok).toBe(false);
        },
      ),
    );
  });

  it('refuses a checksummed record whose seq is not a positive safe integer', () => {
    fc.assert(
      fc.property(
        messageArb,
        fc.oneof(
          fc.constant(0),
          fc.integer({ max: -1 }),
          fc.double({ noInteger: true }),
          fc.constant(Number.MAX_SAFE_INTEGER + 1),
          fc.constant(Infinity),
        ),
        (m, seq) => {
          const buf = encodeRecord(m.topic, m.payload, m.receivedAt, m.packetId);
          stampRecord(buf, seq);
          expect(decodeRecord(buf, 0, buf.length)).toEqual({ ok: false, reason: 'invalid' });
        },
      ),
    );
  });

  it('refuses a checksummed record whose topic length runs past its end, and impossible lengths', () => {
    const buf = encodeRecord('t/a/b/telemetry', Buffer.from('x'), 1, 0);
    buf.writeUInt16LE(1000, 26);
    stampRecord(buf, 1);
    expect(decodeRecord(buf, 0, buf.length)).toEqual({ ok: false, reason: 'invalid' });
    const short = Buffer.alloc(64);
    short.writeUInt32LE(RECORD_HEADER_BYTES - 1, 0);
    expect(decodeRecord(short, 0, 64)).toEqual({ ok: false, reason: 'invalid' });
    short.writeUInt32LE(MAX_RECORD_BYTES + 1, 0);
    expect(decodeRecord(short, 0, 64)).toEqual({ ok: false, reason: 'invalid' });
  });

  it('refuses a topic longer than its u16 length field, and keeps packet ids to 16 bits', () => {
    expect(() => encodeRecord('x'.repeat(0x10000), Buffer.alloc(0), 1, 0)).toThrow(/topic too long/);
    const buf = encodeRecord('é'.repeat(0x7fff), Buffer.alloc(0), 1, 0x1_2345); // 65534 bytes: fits
    stampRecord(buf, 1);
    const r = decodeRecord(buf, 0, buf.length);
    expect(r.ok && r.packetId).toBe(0x2345);
    expect(r.ok && r.record.topic).toBe('é'.repeat(0x7fff));
  });

  it('identifies a delivery by packet id, topic and payload, not by seq or receive time', () => {
    const a = encodeRecord('t/a/b/telemetry', Buffer.from('A'), 1, 7);
    const b = encodeRecord('t/a/b/telemetry', Buffer.from('A'), 2, 7);
    stampRecord(a, 10);
    stampRecord(b, 11);
    expect(contentCrc(a)).toBe(contentCrc(b));
    expect(contentCrc(a)).not.toBe(contentCrc(encodeRecord('t/a/b/telemetry', Buffer.from('B'), 1, 7)));
    expect(contentCrc(a)).not.toBe(contentCrc(encodeRecord('t/a/b/telemetry', Buffer.from('A'), 1, 8)));
  });
});
