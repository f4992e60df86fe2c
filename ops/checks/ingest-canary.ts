/**
 * Daily: ingest canary. A unique reading published as the probe device must be committed to
 * Postgres within `timeoutMs` (fail otherwise), and within `warnMs` to be `ok`. It exercises the
 * whole pipeline: broker, bridge, mqtt_ingest, database.
 */
import { randomBytes } from 'node:crypto';
import type { Check } from '../engine/check.js';
import type { IngestCanarySource } from '../sources/ingest-canary.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const INGEST_CANARY_TITLE = 'Ingest canary: publish -> commit';

export interface IngestCanaryThresholds {
  warnMs: number;
  timeoutMs: number;
}

export const DEFAULT_INGEST_CANARY: IngestCanaryThresholds = { warnMs: 5_000, timeoutMs: 60_000 };

export function ingestCanaryCheck(
  source: IngestCanarySource,
  thresholds: IngestCanaryThresholds = DEFAULT_INGEST_CANARY,
): Check {
  return {
    id: 'daily.ingest-canary',
    title: INGEST_CANARY_TITLE,
    severity: 'critical',
    playbook: 'broker-down',
    async run({ now, signal }) {
      const id = `canary-${now()}-${randomBytes(4).toString('hex')}`;
      const publishedAt = await source.publish(id);
      const committedAt = await source.waitCommitted(id, publishedAt + thresholds.timeoutMs, signal);
      if (committedAt === null) {
        return {
          status: 'fail',
          summary: `reading ${id} not committed within ${thresholds.timeoutMs / 1000} s of its PUBACK`,
          evidence: [
            `published ${new Date(publishedAt).toISOString()}, acknowledged by the broker, never committed`,
          ],
        };
      }
      const latency = committedAt - publishedAt;
      const slow = latency > thresholds.warnMs;
      return {
        status: slow ? 'warn' : 'ok',
        summary: `committed ${latency} ms after publish${slow ? ` (over ${thresholds.warnMs} ms)` : ''}`,
        metrics: { latency_ms: latency },
        evidence: [
          `reading ${id}: published ${new Date(publishedAt).toISOString()}, committed ${latency} ms later`,
        ],
      };
    },
  };
}
