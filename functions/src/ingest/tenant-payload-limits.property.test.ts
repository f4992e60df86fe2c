/**
 * Property: a tenant's caps mean what the global limits mean. For any message the global limits
 * accept, the tenant check refuses it exactly when the validator itself, given the tenant's caps as
 * its limits, refuses it for too many metrics or too long a string; and a tenant without caps is
 * never affected. The oracle is validateTelemetry, not a second count.
 *
 * The seed is in the test's title; replay a failure with FC_SEED=<seed> (FC_RUNS changes its length).
 */
import fc from 'fast-check';
import { DEFAULT_TELEMETRY_LIMITS, validateTelemetry } from '../../../common/telemetry.js';
import { checkTenantPayloadLimit, type TenantPayloadLimit } from './tenant-payload-limits.js';

const SEED = Number(process.env.FC_SEED ?? (Date.now() ^ (Math.random() * 0x1_0000_0000)) | 0);
const RUNS = Number(process.env.FC_RUNS ?? 3_000);
const L = DEFAULT_TELEMETRY_LIMITS;
const now = Date.UTC(2026, 11, 1, 12);

// ---- generators -------------------------------------------------------------------------------

const key = fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,10}$/);
// Emoji and accents over-represented: the length is in UTF-16 code units, an emoji is two.
const text = fc.oneof(
  fc.string({ unit: fc.constantFrom('a', 'Z', ' ', '-', '\u00e9', '\u{1F600}', '"', '\\'), maxLength: 24 }),
  fc.string({ maxLength: 270 }),
);
const leaf = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e9, max: 1e9 }),
  fc.boolean(),
  fc.constant(null),
  text,
);
// At most three levels, as the global maxDepth allows.
const level3 = fc.dictionary(key, leaf, { maxKeys: 6 });
const level2 = fc.dictionary(key, fc.oneof(leaf, level3), { maxKeys: 6 });
const nested = fc.dictionary(key, fc.oneof({ arbitrary: leaf, weight: 3 }, level2), {
  minKeys: 1,
  maxKeys: 12,
});
/** Flat and wide: metric counts up to and past the global 64. */
const wide = fc
  .tuple(fc.integer({ min: 1, max: 70 }), fc.array(text, { maxLength: 3 }))
  .map(([n, strings]) => ({
    ...Object.fromEntries(Array.from({ length: n }, (_, i) => [`m${i}`, i])),
    ...Object.fromEntries(strings.map((s, i) => [`s${i}`, s])),
  }));
const metrics = fc.oneof(nested, wide);

/** Caps as the table allows them (at least one set, within the global limits), mostly small. */
const capValue = (min: number, max: number) =>
  fc.option(fc.oneof({ arbitrary: fc.integer({ min, max: 12 }), weight: 3 }, fc.integer({ min, max })), {
    freq: 3,
  });
const limit: fc.Arbitrary<TenantPayloadLimit | undefined> = fc.option(
  fc
    .record({
      maxMetrics: capValue(1, L.maxMetrics),
      maxStringLength: capValue(0, L.maxStringLength),
      reason: fc.string({ maxLength: 300 }),
    })
    .filter((c) => c.maxMetrics !== null || c.maxStringLength !== null),
  { nil: undefined, freq: 5 },
);

// ---- the property -----------------------------------------------------------------------------

const totals = { accepted: 0, refused: 0, uncapped: 0 };

test(`property: a tenant's caps refuse exactly what the global limits would refuse at those caps (seed ${SEED})`, () => {
  fc.assert(
    fc.property(metrics, limit, (m, cap) => {
      const payload = Buffer.from(JSON.stringify({ ts: now, metrics: m }));
      const global = validateTelemetry(payload, now);
      fc.pre(global.ok);
      if (!global.ok) return;
      const { size } = global.message;

      // A tenant without caps is never affected, whatever the message.
      expect(checkTenantPayloadLimit(size, undefined)).toBeNull();
      if (!cap) {
        totals.uncapped += 1;
        return;
      }

      const at = (caps: { maxMetrics?: number | null; maxStringLength?: number | null }) =>
        validateTelemetry(payload, now, {
          ...L,
          maxMetrics: caps.maxMetrics ?? L.maxMetrics,
          maxStringLength: caps.maxStringLength ?? L.maxStringLength,
        });
      const oracle = at(cap);
      const refusal = checkTenantPayloadLimit(size, cap);
      expect({ refused: refusal !== null }).toEqual({ refused: !oracle.ok });
      if (oracle.ok || !refusal) {
        totals.accepted += 1;
        return;
      }
      totals.refused += 1;
      // Lowering these two limits can only trip these two checks.
      expect(['too_many_metrics', 'string_too_long']).toContain(oracle.reason);
      expect(refusal.reason).toBe('tenant_payload_limit');
      // The cap the detail names is one the message is over on its own, with its value.
      const named = /^tenant cap (max_metrics|max_string_length) (\d+): /.exec(refusal.detail);
      expect(named).not.toBeNull();
      const value = Number(named![2]);
      const alone = named![1] === 'max_metrics' ? at({ maxMetrics: value }) : at({ maxStringLength: value });
      expect(alone.ok ? 'ok' : alone.reason).toBe(
        named![1] === 'max_metrics' ? 'too_many_metrics' : 'string_too_long',
      );
      expect(value).toBe(named![1] === 'max_metrics' ? cap.maxMetrics : cap.maxStringLength);
    }),
    { seed: SEED, numRuns: RUNS },
  );
  console.log(`tenant payload limits property (seed ${SEED}): ${JSON.stringify(totals)}`);
  // The generators reach every outcome (a property that never refuses proves little).
  expect(totals.refused).toBeGreaterThan(RUNS / 20);
  expect(totals.accepted).toBeGreaterThan(RUNS / 20);
  expect(totals.uncapped).toBeGreaterThan(0);
});
