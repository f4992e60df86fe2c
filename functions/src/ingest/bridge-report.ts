/**
 * Stores the backlog reports bridges send with every request (common/ingest-protocol.ts,
 * BridgeReport) in ops.bridge_status, one row per bridge. The HTTP layer calls it before and
 * independently of the batch: it never throws and never holds the answer up for long.
 */
import type pg from 'pg';
import type { BridgeReport } from '../../../common/ingest-protocol.js';

export type RecordBridgeReport = (report: BridgeReport) => Promise<void>;

export interface BridgeReportRecorderOptions {
  /**
   * Per bridge and instance, at most one write in this period (default 5 s), except when the
   * backlog appears or clears: under load every batch carries a report, and the check needs
   * minutes, not milliseconds.
   */
  minIntervalMs?: number;
  /** The longest the request waits for the write (default 2 s); the write itself goes on. */
  waitMs?: number;
  /** Ingest's clock: received_at, and the throttle. */
  now?: () => number;
  onError?: (what: string, error: unknown) => void;
}

/** Bridges remembered by the throttle; a deployment has one or two. */
const MAX_TRACKED_BRIDGES = 1_000;
/** A report older on the bridge's clock is still taken this long after the stored one: a bridge
 * whose clock went back is not ignored for ever. */
const CLOCK_JUMP_GRACE = '1 minute';

export function createBridgeReportRecorder(
  pool: pg.Pool,
  options: BridgeReportRecorderOptions = {},
): RecordBridgeReport {
  const minIntervalMs = options.minIntervalMs ?? 5_000;
  const waitMs = options.waitMs ?? 2_000;
  const now = options.now ?? Date.now;
  const last = new Map<string, { at: number; backlog: boolean }>();

  return async (report) => {
    const at = now();
    const backlog = report.pending > 0;
    const prev = last.get(report.bridgeId);
    if (prev && prev.backlog === backlog && at - prev.at < minIntervalMs) return;
    if (!prev && last.size >= MAX_TRACKED_BRIDGES) last.clear();
    last.set(report.bridgeId, { at, backlog });

    // Concurrent requests of one bridge may arrive out of order: the newest report wins.
    const write = pool
      .query(
        `insert into ops.bridge_status as s (bridge_id, pending, oldest_pending_age_ms, sent_at, received_at)
         values ($1, $2, $3, $4, $5)
         on conflict (bridge_id) do update set pending = excluded.pending,
           oldest_pending_age_ms = excluded.oldest_pending_age_ms, sent_at = excluded.sent_at,
           received_at = excluded.received_at
         where s.sent_at <= excluded.sent_at
            or s.received_at < excluded.received_at - interval '${CLOCK_JUMP_GRACE}'`,
        [report.bridgeId, report.pending, report.oldestPendingAgeMs, new Date(report.sentAt), new Date(at)],
      )
      .then(
        () => undefined,
        (error: unknown) => {
          last.delete(report.bridgeId); // try again with the next report
          options.onError?.('bridge report', error);
        },
      );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([write, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  };
}
