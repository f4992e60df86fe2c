/**
 * Sources several checks of one run share (one database pool, one canary connection), created on
 * first use and released once by close().
 */
import pg from 'pg';
import { databaseUrl, mqttTarget, type OpsTarget } from '../config/ops-target.js';
import { createIngestCanarySource, type IngestCanarySource } from '../sources/ingest-canary.js';
import { createPlatformDbSource, type PlatformDbSource } from '../sources/platform-db.js';

export class SharedSources {
  private pool?: pg.Pool;
  private platformDb?: PlatformDbSource;
  private canarySource?: IngestCanarySource;
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(readonly target: OpsTarget) {}

  /** A pool on the platform database as a role that bypasses RLS (the server side's view). */
  dbPool(): pg.Pool {
    if (!this.pool) {
      const pool = new pg.Pool({ connectionString: databaseUrl(this.target), max: 2 });
      pool.on('error', () => undefined); // a failing query fails its check, not the run
      this.pool = pool;
      this.closers.push(() => pool.end());
    }
    return this.pool;
  }

  db(): PlatformDbSource {
    this.platformDb ??= createPlatformDbSource(this.dbPool());
    return this.platformDb;
  }

  canary(): IngestCanarySource {
    if (!this.canarySource) {
      const mqtt = mqttTarget(this.target);
      const source = createIngestCanarySource({
        mqttUrl: mqtt.listeners[0]!.url,
        probe: mqtt.canary,
        databaseUrl: databaseUrl(this.target),
        protocolVersion: mqtt.protocolVersion,
      });
      this.canarySource = source;
      this.closers.push(() => source.close());
    }
    return this.canarySource;
  }

  /** Registers something a builder opened that must be released after the run. */
  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.closers.splice(0).map((c) => c()));
  }
}
