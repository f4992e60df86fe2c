import type pg from 'pg';
import type { HealthReport } from '../../../common/ingest-protocol.js';
import { schemaVersion } from '../../../common/schema-version.js';
import { BUILD_COMMIT } from '../build-info.js';

/**
 * What the health endpoint and the ops checks read: database reachable, the schema version, and
 * the commit the running code was built from (the deploy waits for the new one).
 */
export async function checkHealth(pool: pg.Pool, clock: () => number = Date.now): Promise<HealthReport> {
  const started = clock();
  try {
    const applied = await schemaVersion(pool);
    return {
      status: 'ok',
      database: 'reachable',
      schemaVersion: applied,
      version: BUILD_COMMIT,
      latencyMs: clock() - started,
    };
  } catch (error) {
    return {
      status: 'fail',
      database: 'unreachable',
      schemaVersion: null,
      version: BUILD_COMMIT,
      error: (error as Error).message,
      latencyMs: clock() - started,
    };
  }
}
