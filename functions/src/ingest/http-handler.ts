/**
 * The HTTP face of mqtt_ingest, independent of any host: the Azure Functions adapter and the local
 * host both translate to and from these plain shapes. The Functions host checks the function key
 * itself in Azure (authLevel 'function'); the local host calls `checkFunctionKey`.
 */
import { timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  BRIDGE_REPORT_HEADER,
  parseBridgeReport,
  type IngestBatch,
  type IngestEnvelope,
} from '../../../common/ingest-protocol.js';
import type { RecordBridgeReport } from './bridge-report.js';
import { MAX_BATCH_MESSAGES, type IngestService } from './ingest-service.js';

export interface PlainRequest {
  method: string;
  header(name: string): string | null;
  body: Uint8Array;
}

export interface PlainResponse {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** Compressed and decompressed size caps: a bad client cannot exhaust the instance's memory. */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
export const MAX_INFLATED_BYTES = 64 * 1024 * 1024;

export function checkFunctionKey(provided: string | null, expected: string): boolean {
  if (!provided) return false;
  const a = Buffer.from(provided);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface IngestHttpOptions {
  /** Stores the bridge's backlog report (bridge-report.ts); none: reports are ignored. */
  recordBridgeReport?: RecordBridgeReport;
}

export async function handleIngestRequest(
  service: Pick<IngestService, 'ingest'>,
  request: PlainRequest,
  options: IngestHttpOptions = {},
): Promise<PlainResponse> {
  if (request.method !== 'POST') return json(405, { error: 'use POST' }, { allow: 'POST' });
  // The backlog report is stored before and independently of the batch, so a batch that fails
  // for ever (503 every time) still shows the backlog growing. A malformed header is ignored.
  const report = parseBridgeReport(request.header(BRIDGE_REPORT_HEADER));
  const recorded =
    report && options.recordBridgeReport
      ? options.recordBridgeReport(report).catch(() => undefined)
      : undefined;
  try {
    return await handleBatch(service, request);
  } finally {
    await recorded;
  }
}

async function handleBatch(
  service: Pick<IngestService, 'ingest'>,
  request: PlainRequest,
): Promise<PlainResponse> {
  if (request.body.byteLength > MAX_BODY_BYTES) {
    return json(413, { error: `body over ${MAX_BODY_BYTES} bytes: send smaller batches` });
  }
  let raw: Uint8Array = request.body;
  if ((request.header('content-encoding') ?? '').toLowerCase() === 'gzip') {
    try {
      // Synchronous: a batch inflates in well under a millisecond, less than the thread-pool
      // hand-off of the asynchronous call costs.
      raw = gunzipSync(request.body, { maxOutputLength: MAX_INFLATED_BYTES });
    } catch (error) {
      return json(400, { error: `invalid gzip body: ${(error as Error).message}` });
    }
  }
  let batch: IngestBatch;
  try {
    batch = parseBatch(JSON.parse(Buffer.from(raw).toString('utf8')));
  } catch (error) {
    return json(400, { error: `invalid batch: ${(error as Error).message}` });
  }
  // An idle bridge's heartbeat: its report is all there is.
  if (batch.messages.length === 0) return json(200, { results: [] });
  try {
    const outcome = await service.ingest(batch);
    if (outcome.kind === 'maintenance') {
      return json(
        503,
        { error: 'maintenance', reason: outcome.reason },
        { 'retry-after': String(outcome.retryAfterSeconds) },
      );
    }
    return json(200, outcome.response);
  } catch (error) {
    // Nothing of the batch is durable: the bridge keeps it and retries.
    return json(503, { error: `ingest unavailable: ${(error as Error).message}` }, { 'retry-after': '5' });
  }
}

function parseBatch(doc: unknown): IngestBatch {
  if (typeof doc !== 'object' || doc === null || !Array.isArray((doc as IngestBatch).messages)) {
    throw new Error('expected {"messages": [...]}');
  }
  const messages = (doc as IngestBatch).messages;
  if (messages.length > MAX_BATCH_MESSAGES) throw new Error(`more than ${MAX_BATCH_MESSAGES} messages`);
  const seen = new Set<string>();
  messages.forEach((m: IngestEnvelope, i) => {
    if (typeof m !== 'object' || m === null) throw new Error(`messages[${i}] is not an object`);
    // Printable ASCII: an id is stored as the dead letter's key, so it must always be storable.
    if (typeof m.id !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(m.id))
      throw new Error(`messages[${i}].id must be 1-128 printable ASCII characters`);
    if (seen.has(m.id)) throw new Error(`messages[${i}].id ${m.id} repeated in the batch`);
    seen.add(m.id);
    if (typeof m.topic !== 'string' || m.topic.length > 65_535)
      throw new Error(`messages[${i}].topic invalid`);
    if (typeof m.payload !== 'string') throw new Error(`messages[${i}].payload must be base64 text`);
    if (typeof m.receivedAt !== 'number' || !Number.isFinite(m.receivedAt)) {
      throw new Error(`messages[${i}].receivedAt must be epoch milliseconds`);
    }
  });
  return { messages };
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): PlainResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}
