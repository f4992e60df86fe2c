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
