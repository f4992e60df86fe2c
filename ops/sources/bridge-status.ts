/** The bridges' last backlog reports (ops.bridge_status), as mqtt_ingest recorded them. */
import type pg from 'pg';

export interface BridgeStatusRow {
  bridgeId: string;
  pending: number;
  oldestPendingAgeMs: number;
  /** On the bridge's clock. */
  sentAt: Date;
  /** On ingest's clock: the freshness of the report. */
  receivedAt: Date;
}

export interface BridgeStatusSource {
  read(): Promise<BridgeStatusRow[]>;
}

export function createBridgeStatusSource(pool: pg.Pool): BridgeStatusSource {
  return {
    async read() {
      const res = await pool.query<{
        bridge_id: string;
        pending: string;
        oldest_pending_age_ms: string;
        sent_at: Date;
        received_at: Date;
      }>(
        `select bridge_id, pending, oldest_pending_age_ms, sent_at, received_at
         from ops.bridge_status order by bridge_id`,
      );
      // bigint arrives as text; the values fit a double exactly (the header allows 15 digits).
      return res.rows.map((r) => ({
        bridgeId: r.bridge_id,
        pending: Number(r.pending),
        oldestPendingAgeMs: Number(r.oldest_pending_age_ms),
        sentAt: r.sent_at,
        receivedAt: r.received_at,
      }));
    },
  };
}
