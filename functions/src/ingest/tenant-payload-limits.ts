/**
 * A tenant's own payload caps (ops.tenant_payload_limits, set by the data-growth playbook): fewer
 * metrics per message, shorter strings, than the global limits allow. Ingest applies them after
 * validateTelemetry accepted the message, to the size it measured (MetricsSize), with the global
 * limits' semantics: a value at any depth is a metric, a string's length is in UTF-16 code units,
 * and a message at the cap passes. A tenant without a row is never affected.
 */
import type { MetricsSize } from '../../../common/telemetry.js';
import { storableText } from '../../../common/storable-text.js';

export interface TenantPayloadLimit {
  /** At most this many metrics per message, or no cap (null). */
  maxMetrics: number | null;
  /** At most this many characters in a string value, or no cap (null). */
  maxStringLength: number | null;
  /** Why the cap was set: quoted in every refusal, so the device's owner learns it. */
  reason: string;
}

export interface TenantPayloadRefusal {
  reason: 'tenant_payload_limit';
  detail: string;
}

/** Room left for the cap's reason in a refusal's detail (the whole detail is stored up to 512). */
const MAX_REASON_IN_DETAIL = 160;

/** The refusal when `size` is over one of `limit`'s caps, else null. */
export function checkTenantPayloadLimit(
  size: MetricsSize,
  limit: TenantPayloadLimit | undefined,
): TenantPayloadRefusal | null {
  if (!limit) return null;
  const why = storableText(limit.reason.trim(), MAX_REASON_IN_DETAIL);
  const because = why ? ` (reason: ${why})` : '';
  if (limit.maxMetrics !== null && size.metrics > limit.maxMetrics) {
    return {
      reason: 'tenant_payload_limit',
      detail: `tenant cap max_metrics ${limit.maxMetrics}: the message has ${size.metrics} values${because}`,
    };
  }
  if (limit.maxStringLength !== null && size.longestString > limit.maxStringLength) {
    return {
      reason: 'tenant_payload_limit',
      detail:
        `tenant cap max_string_length ${limit.maxStringLength}: ` +
        `${size.longestStringKey} has ${size.longestString} characters${because}`,
    };
  }
  return null;
}
