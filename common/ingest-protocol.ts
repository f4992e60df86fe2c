/**
 * The bridge -> mqtt_ingest wire protocol, shared by both ends.
 *
 * Request: POST, `Content-Encoding: gzip`, `Content-Type: application/json`, header
 * `x-functions-key` (the Azure Functions key). Body: IngestBatch. Payloads travel as base64 so
 * binary or invalid UTF-8 reaches ingest intact and is dead-lettered with its reason.
 *
 * Response 200: IngestResponse with one result per message, in order. Any other status means
 * nothing of the batch may be considered handled; the bridge retries the whole batch, which is safe
 * because every write is idempotent by message id. 503 carries Retry-After (maintenance mode).
 *
 * Every request also carries the bridge's backlog (`x-bridge-report`, see BridgeReport), and an
 * idle bridge sends an empty batch as a heartbeat: ingest records the report before and
 * independently of the batch, so the platform sees a stuck pipeline even while every batch fails.
 */

export interface IngestEnvelope {
  /** Unique per message across retries: `<bridgeId>:<journal sequence>`. */
  id: string;
  topic: string;
  /** Raw MQTT payload, base64. */
  payload: string;
  /** Epoch ms the bridge received the message from the broker. */
  receivedAt: number;
}

export interface IngestBatch {
  messages: IngestEnvelope[];
}

export type IngestStatus = 'inserted' | 'duplicate' | 'rejected';

export interface IngestResult {
  id: string;
  status: IngestStatus;
  reason?: string;
}

export interface IngestResponse {
  results: IngestResult[];
}

export const FUNCTION_KEY_HEADER = 'x-functions-key';
export const INGEST_ROUTE = '/api/mqtt_ingest';
export const HEALTH_ROUTE = '/api/health';

/**
 * GET HEALTH_ROUTE (anonymous): 200 with status 'ok', 503 with status 'fail'. It reveals only
 * whether the Functions app reaches its database, the schema version there and the commit it was
 * built from; the ops checks read it to catch an app that is up but cut off or behind on
 * migrations, the deploy to know the new package is the one answering.
 */
export interface HealthReport {
  status: 'ok' | 'fail';
  database: 'reachable' | 'unreachable';
  /** The newest applied migration; null when none is or the database could not be read. */
  schemaVersion: string | null;
  /**
   * The commit the running package was built from (functions/package-zip.ts): the deploy is done
   * when this is the new commit. null when the app runs from sources (sandbox, tests); absent
   * from an app deployed before packages carried it (the seed's).
   */
  version?: string | null;
  error?: string;
  latencyMs: number;
}

/**
 * What a bridge says about itself on every request: the journal's backlog when the request left.
 * Header `x-bridge-report: v1 id=<bridgeId> pending=<n> oldest-ms=<n> sent-at=<epoch ms>`, one
 * space between fields, in this order, integers without sign or leading zeros.
 */
export interface BridgeReport {
  bridgeId: string;
  /** Messages in the journal not yet accepted by ingest (in flight included). */
  pending: number;
  /** Age of the oldest of them (0 when none). */
  oldestPendingAgeMs: number;
  /** Epoch ms on the bridge's clock. */
  sentAt: number;
}

export const BRIDGE_REPORT_HEADER = 'x-bridge-report';
/** Longer values are not even matched: the header is a few dozen characters. */
export const MAX_BRIDGE_REPORT_CHARS = 200;

// Bridge ids as the bridge's options allow them; up to 15 digits stays a safe integer (and a bigint).
const BRIDGE_REPORT =
  /^v1 id=([A-Za-z0-9._-]{1,64}) pending=(0|[1-9][0-9]{0,14}) oldest-ms=(0|[1-9][0-9]{0,14}) sent-at=([1-9][0-9]{12})$/;

export function formatBridgeReport(r: BridgeReport): string {
  const int = (n: number) => Math.max(0, Math.round(n));
  return `v1 id=${r.bridgeId} pending=${int(r.pending)} oldest-ms=${int(r.oldestPendingAgeMs)} sent-at=${int(r.sentAt)}`;
}

/**
 * The report in a header value, or null for anything that is not exactly one well-formed report
 * (the header sent twice arrives joined with ", " and is refused too). Never throws.
 */
export function parseBridgeReport(value: string | null | undefined): BridgeReport | null {
  if (typeof value !== 'string' || value.length > MAX_BRIDGE_REPORT_CHARS) return null;
  const m = BRIDGE_REPORT.exec(value);
  if (!m) return null;
  const report = {
    bridgeId: m[1]!,
    pending: Number(m[2]),
    oldestPendingAgeMs: Number(m[3]),
    sentAt: Number(m[4]),
  };
  // Nothing pending has no age: a report saying otherwise is not from our bridge.
  if (report.pending === 0 && report.oldestPendingAgeMs !== 0) return null;
  return report;
}
