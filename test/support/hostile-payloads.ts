/**
 * Hostile inputs for ingest: each with the reason it must be dead-lettered with. `device` says
 * which fixture device publishes it ('a' = tenant A's active device, 'disabled', 'unknown',
 * 'other-tenant-topic' = A's device naming tenant B in the topic); `now` is the server time.
 */
import type { RejectReason } from '../../common/telemetry.js';

export interface HostileCase {
  name: string;
  device: 'a' | 'disabled' | 'unknown' | 'other-tenant-topic' | 'bad-topic';
  payload: Buffer;
  reason: RejectReason;
}

const j = (v: unknown) => Buffer.from(JSON.stringify(v));
const s = (v: string) => Buffer.from(v);

export function hostileCases(now: number): HostileCase[] {
  const ok = { ts: now, metrics: { t: 1 } };
  const deep = (n: number): Record<string, unknown> => (n === 0 ? { v: 1 } : { x: deep(n - 1) });
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`m${i}`, i]));
  return [
    { name: 'empty payload', device: 'a', payload: Buffer.alloc(0), reason: 'invalid_json' },
    { name: 'plain text', device: 'a', payload: s('hello'), reason: 'invalid_json' },
    {
      name: 'truncated json',
      device: 'a',
      payload: s('{"ts": 1, "metrics": {"t": '),
      reason: 'invalid_json',
    },
    { name: 'trailing garbage', device: 'a', payload: s(`${JSON.stringify(ok)}xyz`), reason: 'invalid_json' },
    {
      name: 'NaN literal',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":NaN}}`),
      reason: 'invalid_json',
    },
    {
      name: 'Infinity literal',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":Infinity}}`),
      reason: 'invalid_json',
    },
    {
      name: 'overflowing number',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":1e400}}`),
      reason: 'non_finite_number',
    },
    {
      name: 'huge number',
      device: 'a',
      payload: j({ ts: now, metrics: { t: 1e20 } }),
      reason: 'number_out_of_range',
    },
    {
      name: 'binary bytes',
      device: 'a',
      payload: Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x80]),
      reason: 'invalid_encoding',
    },
    {
      name: 'lone surrogate bytes',
      device: 'a',
      payload: Buffer.from([0xed, 0xa0, 0x80]),
      reason: 'invalid_encoding',
    },
    {
      name: 'NUL byte in json',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":"a\u0000b"}}`),
      reason: 'invalid_json',
    },
    {
      name: 'escaped NUL in string',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":"a\\u0000b"}}`),
      reason: 'invalid_value',
    },
    {
      name: 'control chars in string',
      device: 'a',
      payload: j({ ts: now, metrics: { t: 'a\u0007b' } }),
      reason: 'invalid_value',
    },
    {
      name: 'oversized payload',
      device: 'a',
      payload: j({ ts: now, metrics: { t: 'x'.repeat(20_000) } }),
      reason: 'payload_too_large',
    },
    {
      name: 'long string value',
      device: 'a',
      payload: j({ ts: now, metrics: { t: 'x'.repeat(300) } }),
      reason: 'string_too_long',
    },
    { name: 'json array', device: 'a', payload: j([ok]), reason: 'not_an_object' },
    { name: 'json number', device: 'a', payload: s('42'), reason: 'not_an_object' },
    { name: 'json null', device: 'a', payload: s('null'), reason: 'not_an_object' },
    { name: 'json string', device: 'a', payload: s('"hi"'), reason: 'not_an_object' },
    {
      name: 'unknown top-level field',
      device: 'a',
      payload: j({ ...ok, tenant: 'b' }),
      reason: 'unknown_field',
    },
    {
      name: 'tenant_id smuggled',
      device: 'a',
      payload: j({ ...ok, tenant_id: 'x' }),
      reason: 'unknown_field',
    },
    {
      name: 'proto pollution key',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":1},"__proto__":{"x":1}}`),
      reason: 'unknown_field',
    },
    { name: 'missing ts', device: 'a', payload: j({ metrics: { t: 1 } }), reason: 'missing_ts' },
    { name: 'ts as boolean', device: 'a', payload: j({ ts: true, metrics: { t: 1 } }), reason: 'invalid_ts' },
    {
      name: 'ts as garbage string',
      device: 'a',
      payload: j({ ts: 'yesterday', metrics: { t: 1 } }),
      reason: 'invalid_ts',
    },
    {
      name: 'ts without zone',
      device: 'a',
      payload: j({ ts: '2026-01-01T00:00:00', metrics: { t: 1 } }),
      reason: 'invalid_ts',
    },
    { name: 'negative ts', device: 'a', payload: j({ ts: -5, metrics: { t: 1 } }), reason: 'invalid_ts' },
    {
      name: 'ts beyond safe integer',
      device: 'a',
      payload: j({ ts: 1e300, metrics: { t: 1 } }),
      reason: 'invalid_ts',
    },
    {
      name: 'future timestamp',
      device: 'a',
      payload: j({ ts: now + 3_600_000, metrics: { t: 1 } }),
      reason: 'ts_in_future',
    },
    {
      name: 'ancient timestamp',
      device: 'a',
      payload: j({ ts: 0, metrics: { t: 1 } }),
      reason: 'ts_too_old',
    },
    {
      name: 'year 1970 iso',
      device: 'a',
      payload: j({ ts: '1970-01-02T00:00:00Z', metrics: { t: 1 } }),
      reason: 'ts_too_old',
    },
    {
      name: 'month-old backfill',
      device: 'a',
      payload: j({ ts: now - 30 * 86_400_000, metrics: { t: 1 } }),
      reason: 'ts_too_old',
    },
    { name: 'id too long', device: 'a', payload: j({ ...ok, id: 'x'.repeat(65) }), reason: 'invalid_id' },
    { name: 'id not a string', device: 'a', payload: j({ ...ok, id: 12 }), reason: 'invalid_id' },
    { name: 'id with spaces', device: 'a', payload: j({ ...ok, id: 'a b' }), reason: 'invalid_id' },
    { name: 'missing metrics', device: 'a', payload: j({ ts: now }), reason: 'missing_metrics' },
    {
      name: 'metrics array',
      device: 'a',
      payload: j({ ts: now, metrics: [1, 2] }),
      reason: 'metrics_not_object',
    },
    {
      name: 'metrics string',
      device: 'a',
      payload: j({ ts: now, metrics: 'hot' }),
      reason: 'metrics_not_object',
    },
    {
      name: 'metrics null',
      device: 'a',
      payload: j({ ts: now, metrics: null }),
      reason: 'metrics_not_object',
    },
    { name: 'empty metrics', device: 'a', payload: j({ ts: now, metrics: {} }), reason: 'empty_metrics' },
    {
      name: 'too many metrics',
      device: 'a',
      payload: j({ ts: now, metrics: many }),
      reason: 'too_many_metrics',
    },
    { name: 'deep nesting', device: 'a', payload: j({ ts: now, metrics: deep(10) }), reason: 'too_deep' },
    {
      name: 'very deep nesting',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":${'{"a":'.repeat(500)}1${'}'.repeat(500)}}`),
      reason: 'too_deep',
    },
    {
      name: 'long key',
      device: 'a',
      payload: j({ ts: now, metrics: { ['k'.repeat(100)]: 1 } }),
      reason: 'key_too_long',
    },
    {
      name: 'SQL-looking key',
      device: 'a',
      payload: j({ ts: now, metrics: { "t'; drop table telemetry;--": 1 } }),
      reason: 'invalid_key',
    },
    { name: 'empty key', device: 'a', payload: j({ ts: now, metrics: { '': 1 } }), reason: 'invalid_key' },
    {
      name: 'unicode key',
      device: 'a',
      payload: j({ ts: now, metrics: { tëmp: 1 } }),
      reason: 'invalid_key',
    },
    {
      name: 'key with slash',
      device: 'a',
      payload: j({ ts: now, metrics: { 'a/b': 1 } }),
      reason: 'invalid_key',
    },
    {
      name: 'array value',
      device: 'a',
      payload: j({ ts: now, metrics: { t: [1, 2] } }),
      reason: 'invalid_value',
    },
    {
      name: 'SQL-looking string value',
      device: 'a',
      payload: j({ ts: now, metrics: { t: '1); delete from devices; --'.repeat(20) } }),
      reason: 'string_too_long',
    },
    ...poisonCases(now),
    { name: 'unknown device', device: 'unknown', payload: j(ok), reason: 'unknown_device' },
    { name: 'disabled device', device: 'disabled', payload: j(ok), reason: 'device_disabled' },
    {
      name: 'topic naming another tenant',
      device: 'other-tenant-topic',
      payload: j(ok),
      reason: 'topic_tenant_mismatch',
    },
    { name: 'not a telemetry topic', device: 'bad-topic', payload: j(ok), reason: 'invalid_topic' },
  ];
}

/**
 * Payloads that once stopped ingest for every tenant: each made the batch holding it fail in the
 * database (a NUL or a lone surrogate in a stored text), so the bridge retried that batch forever.
 */
export function poisonCases(now: number): HostileCase[] {
  const ok = { ts: now, metrics: { t: 1 } };
  const s = (v: string) => Buffer.from(v);
  // A string value whose 512-character excerpt ends between the two halves of an emoji.
  const head = `{"ts":${now},"metrics":{"t":"`;
  const straddling = s(`${head}${'x'.repeat(511 - head.length)}${'\u{1F600}'.repeat(100)}"}}`);
  const utf16le = Buffer.from(JSON.stringify(ok), 'utf16le');
  const utf16be = Buffer.from(utf16le).swap16();
  const impossible = (ts: string): HostileCase => ({
    name: `impossible time ${ts}`,
    device: 'a',
    payload: s(JSON.stringify({ ts, metrics: { t: 1 } })),
    reason: 'invalid_ts',
  });
  return [
    {
      name: 'raw NUL where a value belongs',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":\u0000}}`),
      reason: 'invalid_json',
    },
    {
      name: 'unquoted emoji value',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":\u{1F600}}}`),
      reason: 'invalid_json',
    },
    { name: 'UTF-16LE without BOM', device: 'a', payload: utf16le, reason: 'invalid_json' },
    { name: 'UTF-16BE without BOM', device: 'a', payload: utf16be, reason: 'invalid_json' },
    {
      name: 'excerpt cut inside a surrogate pair',
      device: 'a',
      payload: straddling,
      reason: 'string_too_long',
    },
    {
      name: 'escaped lone high surrogate',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":"\\ud800"}}`),
      reason: 'invalid_unicode',
    },
    {
      name: 'escaped lone low surrogate',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"g":{"t":"x\\udc00"}}}`),
      reason: 'invalid_unicode',
    },
    {
      name: 'escaped reversed surrogate pair',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":"\\ude00\\ud83d"}}`),
      reason: 'invalid_unicode',
    },
    {
      name: 'escaped lone surrogate in key',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"\\ud800":1}}`),
      reason: 'invalid_key',
    },
    {
      name: 'escaped NUL in key',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"a\\u0000":1}}`),
      reason: 'invalid_key',
    },
    {
      name: 'escaped lone surrogate as top-level field',
      device: 'a',
      payload: s(`{"ts":${now},"metrics":{"t":1},"\\udbff":1}`),
      reason: 'unknown_field',
    },
    {
      name: 'escaped lone surrogate in id',
      device: 'a',
      payload: s(`{"ts":${now},"id":"\\ud800","metrics":{"t":1}}`),
      reason: 'invalid_id',
    },
    impossible('2026-02-30T00:00:00Z'),
    impossible('2026-11-31T12:00:00Z'),
    impossible('2026-11-30T24:00:00Z'),
    impossible('2026-11-30T25:00:00Z'),
    impossible('2026-11-30T12:60:00Z'),
    impossible('2026-11-30T12:00:60Z'),
    impossible('2026-13-01T00:00:00Z'),
    impossible('2026-00-10T00:00:00Z'),
    impossible('2026-11-00T00:00:00Z'),
    impossible('2025-02-29T00:00:00Z'),
    impossible('2026-11-30T12:00:00+24:00'),
  ];
}
