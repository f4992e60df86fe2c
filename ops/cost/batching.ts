/**
 * How the bridge's batches become mqtt_ingest executions, from its linger (BRIDGE_LINGER_MS) and
 * its size cap (BRIDGE_MAX_BATCH): a batch opens with its first message and closes `linger` later,
 * or as soon as it holds maxBatch messages. At an aggregate rate r (messages a second) the batch
 * collects its first message plus whatever arrives during the linger, r x linger on average:
 *
 *   messages per execution = min(maxBatch, 1 + r x linger_s)
 *
 * Measured through the real pipeline (issue 13, `npm run bench:cost`) at 100 devices x 1 msg/10 s
 * (10 msg/s): a 20 ms linger gave 1,000,000 executions per million messages (1 message each, the
 * formula says 1.2: at 10 msg/s most batches close before a second message arrives), and a 1,000 ms
 * linger 95,000 per million (10.5 each; the formula says 11: a batch also waits for the request in
 * flight, and arrivals are not perfectly even). The formula is the model's; the bench checks it.
 * The values below mirror the bridge's defaults (bridge/options.ts), which ops/ may not import.
 */

/** The bridge's batch size cap (BRIDGE_MAX_BATCH). */
export const BRIDGE_MAX_BATCH = 500;
/** The bridge's latency budget at light traffic (BRIDGE_LINGER_MS), the default since issue 13. */
export const BRIDGE_LINGER_MS = 1000;
/** The linger before issue 13: nearly every message its own execution at MVP rates. */
export const BRIDGE_LINGER_BEFORE_MS = 20;

/** Average messages per execution at `messagesPerSecond` (all devices together). */
export function messagesPerExecution(
  messagesPerSecond: number,
  lingerMs: number = BRIDGE_LINGER_MS,
  maxBatch: number = BRIDGE_MAX_BATCH,
): number {
  for (const [name, v] of [
    ['messagesPerSecond', messagesPerSecond],
    ['lingerMs', lingerMs],
  ] as const)
    if (!Number.isFinite(v) || v < 0)
      throw new Error(`cost model: batching ${name} must be a non-negative number (got ${String(v)})`);
  if (!Number.isInteger(maxBatch) || maxBatch < 1)
    throw new Error(
      `cost model: batching maxBatch must be a whole number of at least 1 (got ${String(maxBatch)})`,
    );
  return Math.min(maxBatch, 1 + (messagesPerSecond * lingerMs) / 1000);
}

/** The load's `batching` for devices sending at a rate, with the bridge's linger and cap. */
export function batchingFor(
  load: { devices: number; messagesPerDevicePerMinute: number },
  executionMs: number,
  lingerMs: number = BRIDGE_LINGER_MS,
  maxBatch: number = BRIDGE_MAX_BATCH,
): { messagesPerExecution: number; executionMs: number } {
  const rate = (load.devices * load.messagesPerDevicePerMinute) / 60;
  return { messagesPerExecution: messagesPerExecution(rate, lingerMs, maxBatch), executionMs };
}
