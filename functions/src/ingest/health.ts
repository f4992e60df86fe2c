import type pg from 'pg';
import type { HealthReport } from '../../../common/ingest-protocol.js';
import { schemaVersion } from '../../../common/schema-version.js';

/** What the health endpoint and the ops checks read: database reachable and the schema version. */
export async function checkHealth(pool: pg.Pool, clock: () => number = Date.now): Promise<HealthReport> {
  const started = clock();
  try {
    const version = await schemaVersion(pool);
    return { status: 'ok', database: 'reachable', schemaVersion: version, latencyMs: clock() - started };
  } catch (error) {
    return {
      status: 'fail',
      database: 'unreachable',
      schemaVersion: null,
      error: (error as Error).message,
      latencyMs: clock() - started,
    };
  }
}
