/**
 * The journal's record codec: one message as it is stored in a segment (bridge/journal.ts).
 *
 * Record (little endian), length-prefixed and checksummed so a torn tail is detected:
 *   0  u32  total record length (header + topic + payload)
 *   4  u32  crc32 of bytes 8..end
 *   8  f64  seq (an integer; a new journal starts at the current epoch microseconds, so ids never
 *           repeat even if the directory is lost)
 *   16 f64  receivedAt (epoch ms)
 *   24 u16  MQTT packet id (0 for QoS 0)
 *   26 u16  topic length in bytes
 *   28      topic (UTF-8), then payload (raw bytes)
 *
 * A record is encoded before its seq is known (`encodeRecord`), and stamped with its seq and
 * checksum when the journal takes it (`stampRecord`). `decodeRecord` reads one back: a record cut
 * short is 'incomplete', any other damage is 'invalid' (the CRC covers everything after itself).
 */
import { crc32 } from 'node:zlib';

export const RECORD_HEADER_BYTES = 28;
/** Largest record accepted when reading (MQTT's own limit is 256 MiB; keep corrupt lengths out). */
export const MAX_RECORD_BYTES = 256 * 1024 * 1024 + 65_536 + RECORD_HEADER_BYTES;

export interface JournalRecord {
  seq: number;
  topic: string;
  payload: Buffer;
  receivedAt: number;
  /** Size of the record in the journal. */
  bytes: number;
}

/** Encodes a record with seq 0; `stampRecord` fills seq and the checksum. */
export function encodeRecord(topic: string, payload: Buffer, receivedAt: number, packetId: number): Buffer {
  const topicBytes = Buffer.byteLength(topic, 'utf8');
  if (topicBytes > 0xffff) throw new Error(`topic too long (${topicBytes} bytes)`);
  const len = RECORD_HEADER_BYTES + topicBytes + payload.length;
  const buf = Buffer.allocUnsafe(len);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt32LE(0, 4);
  buf.writeDoubleLE(0, 8);
  buf.writeDoubleLE(receivedAt, 16);
  buf.writeUInt16LE(packetId & 0xffff, 24);
  buf.writeUInt16LE(topicBytes, 26);
  buf.write(topic, RECORD_HEADER_BYTES, topicBytes, 'utf8');
  payload.copy(buf, RECORD_HEADER_BYTES + topicBytes);
  return buf;
}

export function stampRecord(buf: Buffer, seq: number): void {
  buf.writeDoubleLE(seq, 8);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
}

/** Checksum of what identifies a delivery: packet id, topic and payload. */
export function contentCrc(buf: Buffer): number {
  return crc32(buf.subarray(24));
}

/** receivedAt of an encoded record. */
export function recordReceivedAt(buf: Buffer): number {
  return buf.readDoubleLE(16);
}

/** The payload of an encoded record (a view of `buf`, not a copy). */
export function recordPayload(buf: Buffer): Buffer {
  return buf.subarray(RECORD_HEADER_BYTES + buf.readUInt16LE(26));
}

export type DecodeResult =
  | { ok: true; record: JournalRecord; packetId: number; contentCrc: number; next: number }
  /** Fewer bytes than the record needs: `need` is its full length when known. */
  | { ok: false; reason: 'incomplete'; need: number }
  | { ok: false; reason: 'invalid' };

export function decodeRecord(buf: Buffer, offset: number, end: number): DecodeResult {
  const avail = end - offset;
  if (avail < 8) return { ok: false, reason: 'incomplete', need: RECORD_HEADER_BYTES };
  const len = buf.readUInt32LE(offset);
  if (len < RECORD_HEADER_BYTES || len > MAX_RECORD_BYTES) return { ok: false, reason: 'invalid' };
  if (avail < len) return { ok: false, reason: 'incomplete', need: len };
  const body = buf.subarray(offset + 8, offset + len);
  if (crc32(body) !== buf.readUInt32LE(offset + 4)) return { ok: false, reason: 'invalid' };
  const seq = buf.readDoubleLE(offset + 8);
  const receivedAt = buf.readDoubleLE(offset + 16);
  const topicLen = buf.readUInt16LE(offset + 26);
  if (!Number.isSafeInteger(seq) || seq <= 0 || RECORD_HEADER_BYTES + topicLen > len) {
    return { ok: false, reason: 'invalid' };
  }
  const topicStart = offset + RECORD_HEADER_BYTES;
  const record: JournalRecord = {
    seq,
    topic: buf.toString('utf8', topicStart, topicStart + topicLen),
    payload: buf.subarray(topicStart + topicLen, offset + len),
    receivedAt,
    bytes: len,
  };
  return {
    ok: true,
    record,
    packetId: buf.readUInt16LE(offset + 24),
    contentCrc: crc32(buf.subarray(offset + 24, offset + len)),
    next: offset + len,
  };
}
