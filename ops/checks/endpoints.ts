/**
 * Daily (and go-live, uptime): an HTTP endpoint the product depends on answers (the dashboard, the
 * Supabase API). Fail when nothing answers or the status is not an expected one; warn when slow.
 */
import type { Check } from '../engine/check.js';
import type { HttpProbeSource } from '../sources/http-probe.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const ENDPOINTS_TITLE = 'HTTP endpoints answer';

export function endpointCheck(
  source: HttpProbeSource,
  options: { name: string; url: string; expectStatus: number[]; warnMs?: number },
): Check {
  const warnMs = options.warnMs ?? 3_000;
  return {
    id: `daily.endpoints.${options.name}`,
    title: `${options.name} answers (${options.url})`,
    severity: 'high',
    playbook: null,
    async run({ signal }) {
      const r = await source.get(options.url, signal);
      const metrics = { latency_ms: r.latencyMs };
      if (r.status === null) {
        return {
          status: 'fail',
          summary: `no answer: ${r.error ?? 'unknown error'}`,
          metrics,
          evidence: [`GET ${options.url}: ${r.error}`],
        };
      }
      const evidence = [
        `GET ${options.url}: HTTP ${r.status} in ${r.latencyMs} ms (expected ${options.expectStatus.join(' or ')})`,
      ];
      if (!options.expectStatus.includes(r.status)) {
        return {
          status: 'fail',
          summary: `HTTP ${r.status}, expected ${options.expectStatus.join(' or ')}`,
          metrics,
          evidence,
        };
      }
      if (r.latencyMs > warnMs)
        return { status: 'warn', summary: `slow: ${r.latencyMs} ms (over ${warnMs} ms)`, metrics, evidence };
      return { status: 'ok', summary: `HTTP ${r.status} in ${r.latencyMs} ms`, metrics, evidence };
    },
  };
}
