/**
 * Per-instance state of the Functions app: one pg pool and the services over it, created on first
 * use from the database settings (./settings.ts).
 */
import pg from 'pg';
import { defaultRuleCache, evaluateAcceptedBatch } from './alerts/index.js';
import { createBridgeReportRecorder, type RecordBridgeReport } from './ingest/bridge-report.js';
import { IngestService } from './ingest/ingest-service.js';
import type { AcceptedRow } from './ingest/write-batch.js';
import type { DatabaseSettings } from './settings.js';

export interface AppContext {
  pool: pg.Pool;
  ingest: IngestService;
  /** Stores the bridges' backlog reports (ops.bridge_status). */
  recordBridgeReport: RecordBridgeReport;
}

let context: AppContext | null = null;

export function appContext(database: DatabaseSettings): AppContext {
  if (context) return context;
  const pool = new pg.Pool({ connectionString: database.url, max: database.poolMax });
  pool.on('error', (error) => logError('pg pool', error));
  context = {
    pool,
    ingest: createIngestWithAlerts(pool, { onError: logError }),
    recordBridgeReport: createBridgeReportRecorder(pool, { onError: logError }),
  };
  return context;
}

/**
 * mqtt_ingest as deployed: alert rules are evaluated on what each batch really inserted, after its
 * commit. `observe` sees the same rows first (the sandbox and benchmark measure latency with it).
 */
export function createIngestWithAlerts(
  pool: pg.Pool,
  options: { onError: (what: string, error: unknown) => void; observe?: (rows: AcceptedRow[]) => void },
): IngestService {
  const rules = defaultRuleCache(pool);
  return new IngestService({
    pool,
    onError: options.onError,
    onCommitted: async (rows) => {
      options.observe?.(rows);
      await evaluateAcceptedBatch(
        pool,
        rows.map((r) => ({
          tenantId: r.tenantId,
          deviceId: r.deviceId,
          ts: r.ts,
          metrics: r.metrics as Record<string, unknown>,
        })),
        new Date(),
        rules,
      );
    },
  });
}

function logError(what: string, error: unknown): void {
  console.error(JSON.stringify({ msg: `${what} failed`, error: (error as Error).message }));
}
