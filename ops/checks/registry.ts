/**
 * Every check the runbook YAML can name, by id, with how to build it for an environment. The
 * runbook-config test fails when an id is here and not in runbook/runbook.yaml, or the other way
 * round. A builder may return several checks (one per listener, endpoint...); their ids are the
 * registry id or start with it followed by a dot.
 */
import { latestMigrationVersion } from '../../supabase/migrate.js';
import { ingestHealthUrl, mqttTarget, required, type OpsTarget } from '../config/ops-target.js';
import type { Check } from '../engine/check.js';
import { createFunctionHealthSource } from '../sources/function-health.js';
import { createHttpProbeSource } from '../sources/http-probe.js';
import { createMqttRoundTripSource } from '../sources/mqtt-round-trip.js';
import { createTlsCertificateSource } from '../sources/tls-certificate.js';
import { aiSpendCheck } from './ai-spend.js';
import { brokerUptimeCheck } from './broker-uptime.js';
import { deadLettersCheck } from './dead-letters.js';
import { endpointCheck } from './endpoints.js';
import { functionHealthCheck } from './function-health.js';
import { ingestCanaryCheck, DEFAULT_INGEST_CANARY } from './ingest-canary.js';
import { pricingReviewCheck } from './pricing-review.js';
import type { SharedSources } from './shared-sources.js';
import { tlsExpiryCheck } from './tls-expiry.js';
import { topTenantsCheck } from './top-tenants.js';

export interface BuildContext {
  target: OpsTarget;
  /** runbook.yaml's thresholds for the check with the environment's overrides applied. */
  thresholds: Thresholds;
  shared: SharedSources;
}

export type CheckBuilder = (ctx: BuildContext) => Check[];

/** Threshold lookup with a default, so a YAML that leaves one out still builds. */
export class Thresholds {
  constructor(private readonly values: Record<string, number>) {}
  get(name: string, fallback: number): number {
    return this.values[name] ?? fallback;
  }
  /** The named thresholds that are set; for options objects whose fields are all optional. */
  pick<K extends string>(...names: K[]): Partial<Record<K, number>> {
    const out: Partial<Record<K, number>> = {};
    for (const n of names) if (this.values[n] !== undefined) out[n] = this.values[n];
    return out;
  }
}

export const CHECK_BUILDERS: Record<string, CheckBuilder> = {
  'daily.broker-uptime': ({ target, thresholds }) => {
    const mqtt = mqttTarget(target);
    return mqtt.listeners.map((l) =>
      brokerUptimeCheck(
        createMqttRoundTripSource({ url: l.url, ...mqtt.probe, protocolVersion: mqtt.protocolVersion }),
        { listener: l.name, endpoint: l.url, ...thresholds.pick('warnMs') },
      ),
    );
  },
  'daily.tls-expiry': ({ target, thresholds }) =>
    required(target, 'TLS endpoints', target.config.tls).map((t) =>
      tlsExpiryCheck(createTlsCertificateSource({ host: t.host, port: t.port }), {
        name: t.name,
        endpoint: `${t.host}:${t.port}`,
        ...thresholds.pick('warnDays', 'failDays'),
      }),
    ),
  'daily.endpoints': ({ target, thresholds }) => {
    const source = createHttpProbeSource();
    return required(target, 'HTTP endpoints', target.config.endpoints).map((e) =>
      endpointCheck(source, { ...e, ...thresholds.pick('warnMs') }),
    );
  },
  'daily.function-health': ({ target, thresholds }) => [
    functionHealthCheck(createFunctionHealthSource({ healthUrl: ingestHealthUrl(target) }), {
      expectedSchemaVersion: latestMigrationVersion(),
      ...thresholds.pick('warnMs'),
    }),
  ],
  'daily.ingest-canary': ({ shared, thresholds }) => [
    ingestCanaryCheck(shared.canary(), {
      warnMs: thresholds.get('warnMs', DEFAULT_INGEST_CANARY.warnMs),
      timeoutMs: thresholds.get('timeoutMs', DEFAULT_INGEST_CANARY.timeoutMs),
    }),
  ],
  'daily.dead-letters': ({ shared, thresholds }) => [
    deadLettersCheck(shared.db(), thresholds.pick('warnSharePct', 'failSharePct', 'top')),
  ],
  'weekly.top-tenants': ({ shared, thresholds }) => [
    topTenantsCheck(shared.db(), thresholds.pick('top', 'growthWarnPct')),
  ],
  'weekly.ai-spend': ({ shared, target }) => [
    aiSpendCheck(shared.db(), { monthlyBudgetUsd: target.config.budget.aiMonthlyUsd }),
  ],
  'monthly.pricing-review': ({ shared, thresholds }) => [
    pricingReviewCheck(shared.db(), thresholds.pick('nearPct')),
  ],
};
