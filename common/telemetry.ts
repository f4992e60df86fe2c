/**
 * The telemetry message contract: what a device publishes on its telemetry topic, and the one
 * validator every path uses. Documented for device authors in docs/telemetry-contract.md.
 *
 *   { "ts": 1767225600000 | "2026-01-01T00:00:00Z",   required: epoch milliseconds or ISO 8601
 *     "id": "optional-message-id",                    optional: 1-64 printable characters
 *     "metrics": { "temp": 21.5, "door": true, "fw": "1.2.0", "gps": { "lat": 1.2, "lon": 3.4 } } }
 *
 * The idempotency key of a message is (device, ts, key) where key is `id` when given, otherwise
 * a hash of the raw payload: a device that republishes the same bytes (QoS 1 redelivery) is stored
 * once, and two different readings in the same millisecond are both kept.
 */
import { createHash } from 'node:crypto';
import { hasLoneSurrogate, storableText } from './storable-text.js';

export type MetricValue = number | boolean | string | null | MetricObject;
export interface MetricObject {
  [key: string]: MetricValue;
}

export interface TelemetryMessage {
  ts: Date;
  key: string;
  metrics: MetricObject;
  size: MetricsSize;
}

/**
 * What the metrics limits measure, counted once, by the validator: a tenant's own caps
 * (functions/src/ingest/tenant-payload-limits.ts) compare these numbers, never count again.
 */
export interface MetricsSize {
  /** Values at any depth (a nested object is not a value; null is): what maxMetrics caps. */
  metrics: number;
  /** The longest string value in UTF-16 code units (`String.length`): what maxStringLength caps. */
  longestString: number;
  /** The key of that string ('' when the message has no string value). */
  longestStringKey: string;
}

export interface TelemetryLimits {
  maxPayloadBytes: number;
  maxMetrics: number;
  maxKeyLength: number;
  maxDepth: number;
  maxStringLength: number;
  maxAbsNumber: number;
  maxFutureSkewMs: number;
  maxBackfillMs: number;
}

export const DEFAULT_TELEMETRY_LIMITS: TelemetryLimits = {
  maxPayloadBytes: 16_384,
  maxMetrics: 64,
  maxKeyLength: 64,
  maxDepth: 3,
  maxStringLength: 256,
  maxAbsNumber: 1e15,
  maxFutureSkewMs: 5 * 60_000,
  maxBackfillMs: 7 * 24 * 3_600_000,
};

/** Every reason a message can be refused for; stored in ingest_rejects.reason. */
export const REJECT_REASONS = [
  'payload_too_large',
  'invalid_encoding',
  'invalid_json',
  'not_an_object',
  'unknown_field',
  'missing_ts',
  'invalid_ts',
  'ts_in_future',
  'ts_too_old',
  'invalid_id',
  'missing_metrics',
  'metrics_not_object',
  'empty_metrics',
  'too_many_metrics',
  'invalid_key',
  'key_too_long',
  'too_deep',
  'invalid_value',
  'invalid_unicode',
  'non_finite_number',
  'number_out_of_range',
  'string_too_long',
  'invalid_topic',
  'unknown_device',
  'device_disabled',
  'tenant_suspended',
  'topic_tenant_mismatch',
  'rate_limited',
  'quota_exceeded',
  // Within the global limits but over the tenant's own caps (ops.tenant_payload_limits).
  'tenant_payload_limit',
  'invalid_envelope',
  // Passed validation but the database refused its content: kept whole (base64) in the dead letter.
  'unstorable',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

export type ValidationResult =
  { ok: true; message: TelemetryMessage } | { ok: false; reason: RejectReason; detail: string };

const KEY = /^[A-Za-z0-9_][A-Za-z0-9_.:-]*$/;
const ID = /^[\x21-\x7e]{1,64}$/;

function reject(reason: RejectReason, detail: string): ValidationResult {
  return { ok: false, reason, detail };
}

/** Validates a raw payload as received from the broker. `now` is injected for testability. */
export function validateTelemetry(
  payload: Uint8Array,
  now: number,
  limits: TelemetryLimits = DEFAULT_TELEMETRY_LIMITS,
): ValidationResult {
  if (payload.byteLength > limits.maxPayloadBytes) {
    return reject('payload_too_large', `${payload.byteLength} bytes > ${limits.maxPayloadBytes}`);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(payload);
  } catch {
    return reject('invalid_encoding', 'payload is not UTF-8 text');
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    // The parser quotes the offending input, which may be a NUL or half of a surrogate pair.
    return reject('invalid_json', storableText((error as Error).message, 120));
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return reject('not_an_object', `top level is ${Array.isArray(doc) ? 'an array' : typeof doc}`);
  }
  const record = doc as Record<string, unknown>;
  for (const field of Object.keys(record)) {
    if (field !== 'ts' && field !== 'id' && field !== 'metrics') {
      return reject('unknown_field', `unexpected top-level field ${JSON.stringify(field.slice(0, 64))}`);
    }
  }

  const ts = parseTimestamp(record.ts);
  if (!ts.ok) return ts.result;
  const tsMs = ts.value.getTime();
  if (tsMs - now > limits.maxFutureSkewMs) {
    return reject('ts_in_future', `${Math.round((tsMs - now) / 1000)} s ahead of server time`);
  }
  if (now - tsMs > limits.maxBackfillMs) {
    return reject('ts_too_old', `${Math.round((now - tsMs) / 1000)} s behind server time`);
  }

  let key: string;
  if (record.id === undefined) {
    key = createHash('sha256').update(payload).digest('base64url').slice(0, 22);
  } else if (typeof record.id === 'string' && ID.test(record.id)) {
    key = `id:${record.id}`;
  } else {
    return reject('invalid_id', 'id must be 1-64 printable ASCII characters');
  }

  if (record.metrics === undefined) return reject('missing_metrics', 'field "metrics" is required');
  const metrics = record.metrics;
  if (typeof metrics !== 'object' || metrics === null || Array.isArray(metrics)) {
    return reject('metrics_not_object', 'metrics must be a JSON object');
  }
  const size: MetricsSize = { metrics: 0, longestString: 0, longestStringKey: '' };
  const bad = checkObject(metrics as Record<string, unknown>, 1, limits, size);
  if (bad) return bad;
  if (size.metrics === 0) return reject('empty_metrics', 'metrics has no values');

  return { ok: true, message: { ts: ts.value, key, metrics: metrics as MetricObject, size } };
}

function checkObject(
  obj: Record<string, unknown>,
  depth: number,
  limits: TelemetryLimits,
  size: MetricsSize,
): ValidationResult | null {
  if (depth > limits.maxDepth) return reject('too_deep', `nesting deeper than ${limits.maxDepth}`);
  for (const [k, v] of Object.entries(obj)) {
    if (k.length > limits.maxKeyLength) return reject('key_too_long', `key of ${k.length} characters`);
    if (!KEY.test(k))
      return reject(
        'invalid_key',
        `key ${JSON.stringify(k.slice(0, 64))} has characters outside [A-Za-z0-9_.:-]`,
      );
    if (v !== null && typeof v === 'object') {
      if (Array.isArray(v)) return reject('invalid_value', `${k}: arrays are not accepted`);
      const nested = checkObject(v as Record<string, unknown>, depth + 1, limits, size);
      if (nested) return nested;
      continue;
    }
    size.metrics += 1;
    if (size.metrics > limits.maxMetrics)
      return reject('too_many_metrics', `more than ${limits.maxMetrics} values`);
    if (typeof v === 'number') {
      // JSON.parse turns 1e400 into Infinity; JSON has no NaN, but be explicit.
      if (!Number.isFinite(v)) return reject('non_finite_number', `${k} is not a finite number`);
      if (Math.abs(v) > limits.maxAbsNumber)
        return reject('number_out_of_range', `${k}: |value| > ${limits.maxAbsNumber}`);
    } else if (typeof v === 'string') {
      if (v.length > limits.maxStringLength) return reject('string_too_long', `${k}: ${v.length} characters`);
      if (v.length > size.longestString) {
        size.longestString = v.length;
        size.longestStringKey = k;
      }
      // Only reachable escaped ("\ud800"): raw surrogates are not UTF-8 and fail decoding. A lone
      // surrogate has no UTF-8 form, so PostgreSQL would refuse the whole jsonb value.
      if (hasLoneSurrogate(v)) return reject('invalid_unicode', `${k}: unpaired UTF-16 surrogate in string`);
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(v))
        return reject('invalid_value', `${k}: control characters in string`);
    } else if (typeof v !== 'boolean' && v !== null) {
      return reject('invalid_value', `${k}: unsupported type`);
    }
  }
  return null;
}

function parseTimestamp(value: unknown): { ok: true; value: Date } | { ok: false; result: ValidationResult } {
  if (value === undefined) return { ok: false, result: reject('missing_ts', 'field "ts" is required') };
  let ms: number;
  if (typeof value === 'number') {
    ms = value;
  } else if (typeof value === 'string' && ISO_TS.test(value)) {
    // Date.parse rolls impossible fields over (2026-02-30 is 2026-03-02): check each one first.
    if (!isoFieldsInRange(value)) {
      return {
        ok: false,
        result: reject('invalid_ts', `ts ${JSON.stringify(value)} names a date or time that does not exist`),
      };
    }
    ms = Date.parse(value);
  } else {
    return {
      ok: false,
      result: reject('invalid_ts', 'ts must be epoch milliseconds or an ISO 8601 time with zone'),
    };
  }
  if (!Number.isSafeInteger(Math.trunc(ms)) || !Number.isFinite(ms) || ms < 0) {
    return {
      ok: false,
      result: reject('invalid_ts', `ts ${String(value).slice(0, 40)} is not a valid time`),
    };
  }
  return { ok: true, value: new Date(Math.trunc(ms)) };
}

const ISO_TS = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?(Z|[+-](\d{2}):(\d{2}))$/;

/** Month 1-12, a day the month has (leap years included), hour 0-23, minute and second 0-59. */
function isoFieldsInRange(value: string): boolean {
  const m = ISO_TS.exec(value)!;
  const field = (i: number) => Number(m[i]);
  const [year, month, day, hour, minute, second] = [
    field(1),
    field(2),
    field(3),
    field(4),
    field(5),
    field(6),
  ];
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const daysInMonth = month === 2 ? (leap ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31;
  if (day > daysInMonth || hour > 23 || minute > 59 || second > 59) return false;
  if (m[9] !== undefined && (field(9) > 23 || field(10) > 59)) return false;
  return true;
}

/** Builds a valid example payload for documentation, the simulator and env.json. */
export function examplePayload(
  now: number,
  metrics: MetricObject = { temperature: 21.5, humidity: 48 },
): string {
  return JSON.stringify({ ts: now, metrics });
}
