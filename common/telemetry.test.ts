import { readFile } from 'node:fs/promises';
import { validateTelemetry, DEFAULT_TELEMETRY_LIMITS, REJECT_REASONS } from './telemetry.js';
import { hostileCases } from '../test/support/hostile-payloads.js';

const now = Date.UTC(2026, 10, 26, 12);
const enc = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v));

test('accepts the documented shapes and derives a stable key', () => {
  const a = validateTelemetry(
    enc({ ts: now, metrics: { t: 1.5, door: false, fw: '1.2', gps: { lat: 1, lon: 2 }, x: null } }),
    now,
  );
  expect(a.ok).toBe(true);
  const again = validateTelemetry(
    enc({ ts: now, metrics: { t: 1.5, door: false, fw: '1.2', gps: { lat: 1, lon: 2 }, x: null } }),
    now,
  );
  expect(a.ok && again.ok && a.message.key === again.message.key).toBe(true);
  const withId = validateTelemetry(
    enc({ ts: '2026-11-26T11:59:00.123Z', id: 'm-1', metrics: { t: 1 } }),
    now,
  );
  expect(withId.ok && withId.message.key).toBe('id:m-1');
  expect(withId.ok && withId.message.ts.toISOString()).toBe('2026-11-26T11:59:00.123Z');
  // SQL-looking text is just data when it is within limits.
  expect(validateTelemetry(enc({ ts: now, metrics: { note: "'; drop table telemetry; --" } }), now).ok).toBe(
    true,
  );
});

test('every hostile case is refused with its documented reason', () => {
  for (const c of hostileCases(now).filter((h) => h.device === 'a')) {
    const result = validateTelemetry(c.payload, now);
    expect({ name: c.name, reason: result.ok ? 'accepted' : result.reason }).toEqual({
      name: c.name,
      reason: c.reason,
    });
  }
});

test('limits are the edges: exactly at a limit passes, one past fails', () => {
  const L = DEFAULT_TELEMETRY_LIMITS;
  const metrics = Object.fromEntries(Array.from({ length: L.maxMetrics }, (_, i) => [`m${i}`, i]));
  expect(validateTelemetry(enc({ ts: now, metrics }), now).ok).toBe(true);
  expect(validateTelemetry(enc({ ts: now + L.maxFutureSkewMs, metrics: { t: 1 } }), now).ok).toBe(true);
  expect(validateTelemetry(enc({ ts: now + L.maxFutureSkewMs + 1, metrics: { t: 1 } }), now).ok).toBe(false);
  expect(validateTelemetry(enc({ ts: now - L.maxBackfillMs, metrics: { t: 1 } }), now).ok).toBe(true);
  expect(validateTelemetry(enc({ ts: now, metrics: { a: { b: { c: 1 } } } }), now).ok).toBe(true);
  expect(validateTelemetry(enc({ ts: now, metrics: { a: { b: { c: { d: 1 } } } } }), now).ok).toBe(false);
  expect(validateTelemetry(enc({ ts: now, metrics: { ['k'.repeat(L.maxKeyLength)]: 1 } }), now).ok).toBe(
    true,
  );
  expect(new Set(REJECT_REASONS).size).toBe(REJECT_REASONS.length);
});

test('measures what the metrics limits cap: values at any depth, the longest string in UTF-16 units', () => {
  const metrics = { t: 1, s: 'abc', gps: { lat: 1, lon: 2, name: '\u{1F600}\u{1F600}x' }, n: null, b: false };
  const r = validateTelemetry(enc({ ts: now, metrics }), now);
  // Seven values (the nested object is not one, null is); two emoji and a letter are 5 code units.
  expect(r.ok && r.message.size).toEqual({ metrics: 7, longestString: 5, longestStringKey: 'name' });
  const none = validateTelemetry(enc({ ts: now, metrics: { a: { b: 1 } } }), now);
  expect(none.ok && none.message.size).toEqual({ metrics: 1, longestString: 0, longestStringKey: '' });

  // The measured numbers are the validator's own edges: at the size passes, one below refuses.
  const at = (limits: Partial<typeof DEFAULT_TELEMETRY_LIMITS>) => {
    const v = validateTelemetry(enc({ ts: now, metrics }), now, { ...DEFAULT_TELEMETRY_LIMITS, ...limits });
    return v.ok ? 'ok' : v.reason;
  };
  expect([at({ maxMetrics: 7 }), at({ maxMetrics: 6 })]).toEqual(['ok', 'too_many_metrics']);
  expect([at({ maxStringLength: 5 }), at({ maxStringLength: 4 })]).toEqual(['ok', 'string_too_long']);
});

test('a timestamp naming a date or time that does not exist is invalid_ts, never rolled over', () => {
  const at = (ts: string) => {
    const r = validateTelemetry(enc({ ts, metrics: { t: 1 } }), now);
    return r.ok ? r.message.ts.toISOString() : r.reason;
  };
  for (const ts of [
    '2026-02-30T00:00:00Z',
    '2026-11-31T00:00:00Z',
    '2026-11-26T24:00:00Z',
    '2026-11-26T25:00:00Z',
    '2026-11-26T11:60:00Z',
    '2026-11-26T11:59:60Z',
    '2026-13-26T11:00:00Z',
    '2026-11-26T11:00:00+24:00',
    '2026-11-26T11:00:00+05:60',
  ]) {
    expect({ ts, result: at(ts) }).toEqual({ ts, result: 'invalid_ts' });
  }
  // The edges that do exist are accepted, offsets applied.
  expect(at('2026-11-26T23:59:59.999999Z')).toBe('ts_in_future');
  expect(at('2026-11-26T11:59:59Z')).toBe('2026-11-26T11:59:59.000Z');
  expect(at('2026-11-26T13:00:00+01:00')).toBe('2026-11-26T12:00:00.000Z');
  expect(at('2026-11-26T00:00:00-11:00')).toBe('2026-11-26T11:00:00.000Z');
  const leap = Date.UTC(2028, 1, 29, 12);
  const leapDay = validateTelemetry(enc({ ts: '2028-02-29T12:00:00Z', metrics: { t: 1 } }), leap);
  expect(leapDay.ok && leapDay.message.ts.getTime()).toBe(leap);
});

test('strings with unpaired surrogates are refused; paired ones (emoji) are data', () => {
  const r = validateTelemetry(Buffer.from(`{"ts":${now},"metrics":{"t":"a\\ud800"}}`), now);
  expect(!r.ok && [r.reason, r.detail]).toEqual([
    'invalid_unicode',
    't: unpaired UTF-16 surrogate in string',
  ]);
  const emoji = validateTelemetry(Buffer.from(`{"ts":${now},"metrics":{"t":"\\ud83d\\ude00 ok"}}`), now);
  expect(emoji.ok && emoji.message.metrics).toEqual({ t: '\u{1F600} ok' });
});

test('an invalid_json detail is storable text even when the parser quotes a NUL or half an emoji', () => {
  for (const raw of [`{"ts":${now},"metrics":{"t":\u0000}}`, `{"ts":${now},"metrics":{"t":\u{1F600}}}`]) {
    const r = validateTelemetry(Buffer.from(raw), now);
    expect(r.ok).toBe(false);
    if (r.ok) continue;
    expect(r.reason).toBe('invalid_json');
    expect(r.detail.includes('\u0000') || /\p{Cs}/u.test(r.detail)).toBe(false);
  }
});

test('docs/telemetry-contract.md lists every reason code, and no other', async () => {
  const doc = await readFile(new URL('../docs/telemetry-contract.md', import.meta.url), 'utf8');
  const section = /^## Reason codes\n([\s\S]*?)^## /m.exec(doc)?.[1] ?? '';
  const listed = [...section.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]);
  expect([...listed].sort()).toEqual([...REJECT_REASONS].sort());
});
