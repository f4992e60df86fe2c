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
