/** Reads the Functions app's health endpoint (database reachable, schema version). */
import type { HealthReport } from '../../common/ingest-protocol.js';

export interface FunctionHealthReading {
  /** HTTP status, or null when nothing answered (connection refused, timeout). */
  httpStatus: number | null;
  report: HealthReport | null;
  latencyMs: number;
  error?: string;
}

export interface FunctionHealthSource {
  read(signal?: AbortSignal): Promise<FunctionHealthReading>;
}

export function createFunctionHealthSource(options: {
  healthUrl: string;
  timeoutMs?: number;
  now?: () => number;
}): FunctionHealthSource {
  const now = options.now ?? Date.now;
  return {
    async read(signal) {
      const started = now();
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
      try {
        const res = await fetch(options.healthUrl, {
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
        const text = await res.text();
        let report: HealthReport | null = null;
        try {
          report = JSON.parse(text) as HealthReport;
        } catch {
          // not JSON: the status alone has to do
        }
        return { httpStatus: res.status, report, latencyMs: now() - started };
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        return {
          httpStatus: null,
          report: null,
          latencyMs: now() - started,
          error: cause ?? (error as Error).message,
        };
      }
    },
  };
}
