import { validateTelemetry, type MetricsSize } from '../../../common/telemetry.js';
import { checkTenantPayloadLimit, type TenantPayloadLimit } from './tenant-payload-limits.js';

const now = Date.UTC(2026, 11, 1, 12);
/** A message's size as the validator measures it: the check is fed nothing else. */
function sizeOf(metrics: Record<string, unknown>): MetricsSize {
  const r = validateTelemetry(Buffer.from(JSON.stringify({ ts: now, metrics })), now);
  if (!r.ok) throw new Error(`fixture refused: ${r.reason} ${r.detail}`);
  return r.message.size;
}
const cap = (limit: Partial<TenantPayloadLimit>): TenantPayloadLimit => ({
  maxMetrics: null,
  maxStringLength: null,
  reason: 'data growth spike',
  ...limit,
});

test('a tenant without caps is never refused', () => {
  expect(checkTenantPayloadLimit(sizeOf({ a: 1, b: 'x'.repeat(256) }), undefined)).toBeNull();
});

test('metrics: at the cap passes, one over is refused naming the cap, the count and the reason', () => {
  const three = sizeOf({ a: 1, nested: { b: true, c: null } });
  expect(checkTenantPayloadLimit(three, cap({ maxMetrics: 3 }))).toBeNull();
  expect(checkTenantPayloadLimit(three, cap({ maxMetrics: 2 }))).toEqual({
    reason: 'tenant_payload_limit',
    detail: 'tenant cap max_metrics 2: the message has 3 values (reason: data growth spike)',
  });
});

test('strings: at the cap passes, one over is refused naming the key and its length', () => {
  // An emoji is two UTF-16 code units, as the global maxStringLength counts.
  const size = sizeOf({ short: 'ab', fw: '1.2.\u{1F600}' });
  expect(size.longestString).toBe(6);
  expect(checkTenantPayloadLimit(size, cap({ maxStringLength: 6 }))).toBeNull();
  expect(checkTenantPayloadLimit(size, cap({ maxStringLength: 5 }))?.detail).toBe(
    'tenant cap max_string_length 5: fw has 6 characters (reason: data growth spike)',
  );
  // A cap of 0 refuses any non-empty string, not numbers, booleans or empty strings.
  expect(checkTenantPayloadLimit(sizeOf({ t: 1, ok: true, e: '' }), cap({ maxStringLength: 0 }))).toBeNull();
  expect(checkTenantPayloadLimit(sizeOf({ s: 'a' }), cap({ maxStringLength: 0 }))?.reason).toBe(
    'tenant_payload_limit',
  );
});

test('a cap left null does not apply; with both over, the metrics cap is named', () => {
  const size = sizeOf({ a: 'abcdef', b: 2, c: 3 });
  expect(checkTenantPayloadLimit(size, cap({ maxStringLength: 10 }))).toBeNull();
  expect(checkTenantPayloadLimit(size, cap({ maxMetrics: 10 }))).toBeNull();
  expect(checkTenantPayloadLimit(size, cap({ maxMetrics: 1, maxStringLength: 1 }))?.detail).toMatch(
    /^tenant cap max_metrics 1: the message has 3 values/,
  );
});

test('the reason is quoted storable and cut; a blank one is left out', () => {
  const long = checkTenantPayloadLimit(
    sizeOf({ a: 1, b: 2 }),
    cap({ maxMetrics: 1, reason: `  issue #42\u0000: ${'x'.repeat(400)}` }),
  )!.detail;
  expect(long).toMatch(
    /^tenant cap max_metrics 1: the message has 2 values \(reason: issue #42\\u0000: x+…\)$/,
  );
  expect(long.length).toBeLessThan(260);
  expect(checkTenantPayloadLimit(sizeOf({ a: 1, b: 2 }), cap({ maxMetrics: 1, reason: ' ' }))?.detail).toBe(
    'tenant cap max_metrics 1: the message has 2 values',
  );
});
