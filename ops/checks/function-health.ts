/**
 * Daily: function health. The Functions app answers its health endpoint, reaches the database,
 * and the database carries the newest migration of this repository (else a deploy is half done).
 */
import type { Check } from '../engine/check.js';
import type { FunctionHealthSource } from '../sources/function-health.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const FUNCTION_HEALTH_TITLE = 'Functions app health';

export interface FunctionHealthOptions {
  /** The newest migration version in the repository (supabase/migrate.ts latestMigrationVersion). */
  expectedSchemaVersion: string;
  /** Slower than this is a warning (a cold start of a Consumption plan takes a few seconds). */
  warnMs?: number;
}

export function functionHealthCheck(source: FunctionHealthSource, options: FunctionHealthOptions): Check {
  const warnMs = options.warnMs ?? 5_000;
  return {
    id: 'daily.function-health',
    title: FUNCTION_HEALTH_TITLE,
    severity: 'critical',
    playbook: null,
    async run({ signal }) {
      const r = await source.read(signal);
      const metrics = {
        latency_ms: r.latencyMs,
        ...(r.httpStatus === null ? {} : { http_status: r.httpStatus }),
      };
      if (r.httpStatus === null) {
        return {
          status: 'fail',
          summary: `health endpoint unreachable (${r.error ?? 'no answer'})`,
          metrics,
        };
      }
      if (r.httpStatus !== 200 || r.report?.status !== 'ok') {
        const why =
          r.report?.database === 'unreachable'
            ? 'the database is unreachable from the functions'
            : `HTTP ${r.httpStatus}`;
        return {
          status: 'fail',
          summary: `unhealthy: ${why}`,
          metrics,
          evidence: r.report?.error ? [`health: ${r.report.error}`] : [],
        };
      }
      if (r.report.schemaVersion !== options.expectedSchemaVersion) {
        return {
          status: 'warn',
          summary: `schema ${r.report.schemaVersion ?? 'none'}, the repository's newest migration is ${options.expectedSchemaVersion}: apply migrations`,
          metrics,
          fingerprint: 'daily.function-health:schema',
        };
      }
      if (r.latencyMs > warnMs) {
        return {
          status: 'warn',
          summary: `healthy but slow: ${r.latencyMs} ms (over ${warnMs} ms)`,
          metrics,
        };
      }
      return {
        status: 'ok',
        summary: `healthy in ${r.latencyMs} ms, schema ${r.report.schemaVersion}`,
        metrics,
      };
    },
  };
}
