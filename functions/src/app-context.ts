/**
 * Per-instance state of the Functions app: one pg pool and the services over it, created on first
 * use from the environment. Settings:
 *   DATABASE_URL          Postgres (Supabase pooler in production; session mode, or transaction
 *                         mode on 6543 — we use no named prepared statements)
 *   DATABASE_POOL_MAX     pool size per instance (default 4)
 */
import pg from 'pg';
import { IngestService } from './ingest/ingest-service.js';

export interface AppContext {
  pool: pg.Pool;
  ingest: IngestService;
}

let context: AppContext | null = null;

export function appContext(env: NodeJS.ProcessEnv = process.env): AppContext {
  if (context) return context;
  const url = env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set: configure it in the Function App settings');
  const pool = new pg.Pool({ connectionString: url, max: Number(env.DATABASE_POOL_MAX ?? 4) });
  pool.on('error', (error) => console.error(JSON.stringify({ msg: 'pg pool error', error: error.message })));
  context = { pool, ingest: new IngestService({ pool, onError: logError }) };
  return context;
}

function logError(what: string, error: unknown): void {
  console.error(JSON.stringify({ msg: `${what} failed`, error: (error as Error).message }));
}
