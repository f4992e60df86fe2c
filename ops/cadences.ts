/**
 * Which checks each cadence runs, built with their sources for an environment. Only the local
 * sandbox environment exists so far (`.ops/local/env.json`); the cloud environments come with the
 * runbook's YAML configuration (issue #3).
 */
import pg from 'pg';
import type { LocalEnv } from '../common/local-env.js';
import { latestMigrationVersion } from '../supabase/migrate.js';
import { aiSpendCheck } from './checks/ai-spend.js';
import { brokerUptimeCheck } from './checks/broker-uptime.js';
import { deadLettersCheck } from './checks/dead-letters.js';
import { functionHealthCheck } from './checks/function-health.js';
import { ingestCanaryCheck } from './checks/ingest-canary.js';
import { pricingReviewCheck } from './checks/pricing-review.js';
import { topTenantsCheck } from './checks/top-tenants.js';
import type { Check } from './engine/check.js';
import { createFunctionHealthSource } from './sources/function-health.js';
import { createIngestCanarySource } from './sources/ingest-canary.js';
import { createMqttRoundTripSource } from './sources/mqtt-round-trip.js';
import { createPlatformDbSource } from './sources/platform-db.js';

export const CADENCES = ['daily', 'weekly', 'monthly'] as const;
export type Cadence = (typeof CADENCES)[number];

export interface CadencePlan {
  checks: Check[];
  /** Releases what the sources hold (database pools). */
  close(): Promise<void>;
}

export function planLocalCadence(cadence: Cadence, env: LocalEnv): CadencePlan {
  const pool = new pg.Pool({ connectionString: env.db.url, max: 2 });
  pool.on('error', () => undefined); // a failing query fails its check, not the run
  const db = createPlatformDbSource(pool);
  const canary = createIngestCanarySource({
    mqttUrl: env.mqtt.url,
    probe: env.probe,
    databaseUrl: env.db.url,
    // The embedded broker speaks MQTT 3.1.1 only.
    protocolVersion: env.services.broker === 'embedded' ? 4 : 5,
  });
  const listeners = [
    ['mqtt', env.mqtt.url],
    ['websocket', env.mqtt.wsUrl],
    ['tls', env.mqtt.tlsUrl],
  ].filter((l): l is [string, string] => typeof l[1] === 'string');
  const checks: Record<Cadence, Check[]> = {
    daily: [
      ...listeners.map(([listener, url]) =>
        brokerUptimeCheck(
          createMqttRoundTripSource({
            url,
            ...env.uptimeProbe,
            protocolVersion: env.services.broker === 'embedded' ? 4 : 5,
          }),
          { listener, endpoint: url },
        ),
      ),
      functionHealthCheck(createFunctionHealthSource({ healthUrl: env.ingest.healthUrl }), {
        expectedSchemaVersion: latestMigrationVersion(),
      }),
      ingestCanaryCheck(canary),
      deadLettersCheck(db),
    ],
    weekly: [topTenantsCheck(db), aiSpendCheck(db)],
    monthly: [pricingReviewCheck(db)],
  };
  return {
    checks: checks[cadence],
    close: async () => {
      await canary.close();
      await pool.end();
    },
  };
}
