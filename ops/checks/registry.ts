/**
 * Every check the runbook YAML can name, by id, with its title and how to build it for an
 * environment. The runbook-config test fails when an id is here and not in runbook/runbook.yaml,
 * or the other way round. A builder may return several checks (one per listener, endpoint...);
 * their ids are the registry id or start with it followed by a dot. Severity, component and
 * playbook are the runbook's (runbook.yaml), applied by the cadence plan.
 */
import { latestMigrationVersion } from '../../supabase/migrate.js';
import { ingestHealthUrl, mqttTarget, required, type OpsTarget } from '../config/ops-target.js';
import type { Check } from '../engine/check.js';
import { createAlertDeliverySource } from '../sources/alert-delivery.js';
import { createBridgeStatusSource } from '../sources/bridge-status.js';
import { createFunctionHealthSource } from '../sources/function-health.js';
import { createHttpProbeSource } from '../sources/http-probe.js';
import { lastMonthPlatformCost } from '../sources/platform-cost.js';
import { createProbeStateSource } from '../sources/probe-state.js';
import { createMqttRoundTripSource } from '../sources/mqtt-round-trip.js';
import { createTlsCertificateSource } from '../sources/tls-certificate.js';
import { AI_SPEND_TITLE, aiSpendCheck } from './ai-spend.js';
import { ARCHIVE_HEALTH_TITLE, archiveHealthCheck, databaseLimitOf } from './archive-health.js';
import { ARCHIVE_STATUS_TITLE, archiveStatusCheck } from './archive-status.js';
import {
  BUDGET_ALERTS_TITLE,
  budgetAlertsCheck,
  PLANNED_LOAD_THRESHOLDS,
  plannedCostOf,
} from './budget-alerts.js';
import { ALERT_DELIVERY_TITLE, alertDeliveryCheck, DEFAULT_ALERT_DELIVERY } from './alert-delivery.js';
import { BRIDGE_BACKLOG_TITLE, bridgeBacklogCheck } from './bridge-backlog.js';
import { BROKER_UPTIME_TITLE, brokerUptimeCheck } from './broker-uptime.js';
import { DEAD_LETTERS_TITLE, deadLettersCheck } from './dead-letters.js';
import { DASHBOARD_LIVE_TITLE, dashboardLiveCheck, dashboardLiveTarget } from './dashboard-live.js';
import { ENDPOINTS_TITLE, endpointCheck } from './endpoints.js';
import { FUNCTION_HEALTH_TITLE, functionHealthCheck } from './function-health.js';
import { DEFAULT_INGEST_CANARY, INGEST_CANARY_TITLE, ingestCanaryCheck } from './ingest-canary.js';
import { environmentPricingModel, PRICING_REVIEW_TITLE, pricingReviewCheck } from './pricing-review.js';
import { PROBE_HEARTBEAT_TITLE, probeHeartbeatCheck } from './probe-heartbeat.js';
import { createAzureCostSource } from '../sources/azure-cost.js';
import { createFunctionLogsSource } from '../sources/azure-logs.js';
import { createVmMetricsSource } from '../sources/azure-metrics.js';
import { createBrokerSysSource } from '../sources/broker-sys.js';
import { createGitHubWorkflowRunsSource } from '../sources/github-workflow-runs.js';
import { COST_BURN_TITLE, costBurnCheck, environmentBurnModel } from './cost-burn.js';
import { FAILED_WORKFLOWS_TITLE, failedWorkflowsCheck } from './failed-workflows.js';
import { FUNCTION_ERRORS_TITLE, functionErrorsCheck } from './function-errors.js';
import {
  environmentVmModel,
  VM_CAPACITY_THRESHOLDS,
  VM_CAPACITY_TITLE,
  vmCapacityCheck,
} from './vm-capacity.js';
import { createMeasuredLoadSource, type MeasuredLoadSource } from '../sources/measured-load.js';
import { VM_JOURNAL_ERRORS_TITLE, vmJournalErrorsCheck } from './vm-journal-errors.js';
import { restoreAdminUrl, type SharedSources } from './shared-sources.js';
import { createRestoreTestSource } from '../backup/restore.js';
import { BACKUP_FRESHNESS_TITLE, backupFreshnessCheck } from './backup-freshness.js';
import { RESTORE_TEST_TITLE, restoreTestCheck } from './restore-test.js';
import { TLS_EXPIRY_TITLE, tlsExpiryCheck } from './tls-expiry.js';
import { TOP_TENANTS_TITLE, topTenantsCheck } from './top-tenants.js';

export interface BuildContext {
  target: OpsTarget;
  /** runbook.yaml's thresholds for the check with the environment's overrides applied. */
  thresholds: Thresholds;
  shared: SharedSources;
}

export type CheckBuilder = (ctx: BuildContext) => Check[];

export interface RegisteredCheck {
  /** What the report calls it when it cannot be built (skipped, a secret missing): its module's title. */
  title: string;
  build: CheckBuilder;
}

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

/**
 * The load measured in the platform database, for the cost model's comparisons. The pool is taken
 * at the first read, so an environment without a database still builds the check: the comparison
 * says why it was not made, and the rest of the check stands.
 */
export function sharedMeasuredLoad(shared: Pick<SharedSources, 'dbPool'>): MeasuredLoadSource {
  let source: MeasuredLoadSource | undefined;
  return {
    // async: a missing database is a rejected read, never a throw at the caller.
    measuredLoad: async (from, to) => {
      source ??= createMeasuredLoadSource(shared.dbPool());
      return source.measuredLoad(from, to);
    },
  };
}

export const CHECK_REGISTRY: Record<string, RegisteredCheck> = {
  'daily.broker-uptime': {
    title: BROKER_UPTIME_TITLE,
    build: ({ target, thresholds }) => {
      const mqtt = mqttTarget(target);
      const probe = mqtt.probe();
      return mqtt.listeners.map((l) =>
        brokerUptimeCheck(
          createMqttRoundTripSource({ url: l.url, ...probe, protocolVersion: mqtt.protocolVersion }),
          { listener: l.name, endpoint: l.url, ...thresholds.pick('warnMs') },
        ),
      );
    },
  },
  'daily.tls-expiry': {
    title: TLS_EXPIRY_TITLE,
    build: ({ target, thresholds }) =>
      required(target, 'TLS endpoints', target.config.tls).map((t) =>
        tlsExpiryCheck(createTlsCertificateSource({ host: t.host, port: t.port }), {
          name: t.name,
          endpoint: `${t.host}:${t.port}`,
          ...thresholds.pick('warnDays', 'failDays'),
        }),
      ),
  },
  'daily.endpoints': {
    title: ENDPOINTS_TITLE,
    build: ({ target, thresholds }) => {
      const source = createHttpProbeSource();
      return required(target, 'HTTP endpoints', target.config.endpoints).map((e) =>
        endpointCheck(source, { ...e, ...thresholds.pick('warnMs') }),
      );
    },
  },
  'daily.function-health': {
    title: FUNCTION_HEALTH_TITLE,
    build: ({ target, thresholds }) => [
      functionHealthCheck(createFunctionHealthSource({ healthUrl: ingestHealthUrl(target) }), {
        expectedSchemaVersion: latestMigrationVersion(),
        ...thresholds.pick('warnMs'),
      }),
    ],
  },
  'daily.ingest-canary': {
    title: INGEST_CANARY_TITLE,
    build: ({ shared, thresholds }) => [
      ingestCanaryCheck(shared.canary(), {
        warnMs: thresholds.get('warnMs', DEFAULT_INGEST_CANARY.warnMs),
        timeoutMs: thresholds.get('timeoutMs', DEFAULT_INGEST_CANARY.timeoutMs),
      }),
    ],
  },
  'daily.bridge-backlog': {
    title: BRIDGE_BACKLOG_TITLE,
    build: ({ shared, thresholds }) => [
      bridgeBacklogCheck(
        createBridgeStatusSource(shared.dbPool()),
        thresholds.pick('warnAgeSeconds', 'failAgeSeconds', 'staleReportSeconds'),
      ),
    ],
  },
  'daily.dead-letters': {
    title: DEAD_LETTERS_TITLE,
    build: ({ shared, thresholds }) => [
      deadLettersCheck(shared.db(), thresholds.pick('warnSharePct', 'failSharePct', 'top')),
    ],
  },
  'daily.function-errors': {
    title: FUNCTION_ERRORS_TITLE,
    build: ({ shared, thresholds }) => {
      const azure = shared.azure();
      return [
        functionErrorsCheck(
          createFunctionLogsSource(azure.logs, {
            workspaceId: azure.config.logAnalyticsWorkspaceId,
            functionApp: azure.config.functionApp,
          }),
          thresholds.pick(
            'windowHours',
            'warnFailures',
            'failFailures',
            'failRatePercent',
            'rateMinInvocations',
            'topMessages',
          ),
        ),
      ];
    },
  },
  'daily.vm-errors': {
    title: VM_JOURNAL_ERRORS_TITLE,
    build: ({ shared, thresholds }) => [
      vmJournalErrorsCheck(
        shared.sshHost(),
        thresholds.pick(
          'windowHours',
          'warnErrors',
          'failErrors',
          'failCritical',
          'warnWarnings',
          'topMessages',
        ),
      ),
    ],
  },
  'daily.failed-workflows': {
    title: FAILED_WORKFLOWS_TITLE,
    build: ({ shared, thresholds }) => {
      const gh = shared.github();
      return [
        failedWorkflowsCheck(
          createGitHubWorkflowRunsSource({ octokit: gh.client, owner: gh.env.owner, repo: gh.env.repo }),
          thresholds.pick('windowHours', 'failAtCount'),
        ),
      ];
    },
  },
  'daily.cost-burn': {
    title: COST_BURN_TITLE,
    build: ({ shared, target, thresholds }) => {
      const azure = shared.azure();
      return [
        costBurnCheck(
          createAzureCostSource(azure.consumption, {
            scope: `subscriptions/${azure.config.subscriptionId}`,
            budgetName: azure.config.budgetName,
          }),
          {
            ...thresholds.pick(
              'warnPercent',
              'failPercent',
              'lagHours',
              'averageDays',
              'spikeFactor',
              'topServices',
              'modelDivergePercent',
              'modelDivergeMin',
            ),
            fallbackBudget: target.config.budget.monthlyUsd,
            model: environmentBurnModel(target.config, sharedMeasuredLoad(shared)),
          },
        ),
      ];
    },
  },
  'monthly.vm-capacity': {
    title: VM_CAPACITY_TITLE,
    build: ({ shared, target, thresholds }) => {
      const azure = shared.azure();
      const c = azure.config;
      // Disk over SSH and broker stats from $SYS are optional: the check says when they are missing.
      const disk = target.config.ssh
        ? { disk: (signal: AbortSignal) => shared.sshHost().diskUsage(signal) }
        : undefined;
      let broker;
      if (target.config.mqtt || target.local) {
        const mqtt = mqttTarget(target);
        try {
          const probe = mqtt.probe();
          broker = createBrokerSysSource({
            url: mqtt.listeners[0]!.url,
            username: probe.username,
            password: probe.password,
            protocolVersion: mqtt.protocolVersion,
          });
        } catch (error) {
          // Without the probe's credentials the rest of the capacity review still stands; the
          // check names what is missing in its evidence.
          broker = { broker: () => Promise.reject(error as Error) };
        }
      }
      return [
        vmCapacityCheck(
          {
            metrics: createVmMetricsSource(azure, {
              subscriptionId: c.subscriptionId,
              resourceGroup: c.resourceGroup,
              vmName: c.vmName,
            }),
            disk,
            broker,
          },
          {
            ...thresholds.pick(...VM_CAPACITY_THRESHOLDS),
            env: target.name,
            model: environmentVmModel(target.config, sharedMeasuredLoad(shared)),
          },
        ),
      ];
    },
  },
  'daily.backup-freshness': {
    title: BACKUP_FRESHNESS_TITLE,
    build: ({ shared, thresholds }) => [
      backupFreshnessCheck(
        shared.backupStore(),
        thresholds.pick('warnAgeHours', 'failAgeHours', 'maxSizeDropPercent', 'chartBackups'),
      ),
    ],
  },
  'daily.archive': {
    title: ARCHIVE_HEALTH_TITLE,
    build: ({ shared, target, thresholds }) => [
      archiveHealthCheck(shared.archiveFacts(), {
        environment: target.name,
        archive: target.config.archive,
        limit: databaseLimitOf(target.config),
        ...thresholds.pick(
          'warnAgeHours',
          'failAgeHours',
          'stuckHours',
          'graceDays',
          'projectionDays',
          'warnDaysToFull',
          'failDaysToFull',
        ),
      }),
    ],
  },
  'weekly.restore-test': {
    title: RESTORE_TEST_TITLE,
    build: ({ shared, target, thresholds }) => [
      {
        ...restoreTestCheck(
          createRestoreTestSource({ store: shared.backupStore(), adminUrl: restoreAdminUrl(target) }),
          {
            expectedSchemaVersion: latestMigrationVersion(),
            ...thresholds.pick('warnTotalMs'),
          },
        ),
        // Download, restore and verify a whole database: far beyond the default per-check budget.
        timeoutMs: thresholds.get('timeoutMs', 30 * 60_000),
      },
    ],
  },
  'weekly.top-tenants': {
    title: TOP_TENANTS_TITLE,
    build: ({ shared, thresholds }) => [
      topTenantsCheck(shared.db(), thresholds.pick('top', 'growthWarnPct')),
    ],
  },
  'weekly.ai-spend': {
    title: AI_SPEND_TITLE,
    build: ({ shared, target }) => [
      aiSpendCheck(shared.db(), { monthlyBudgetUsd: target.config.budget.aiMonthlyUsd }),
    ],
  },
  'golive.alert-delivered': {
    title: ALERT_DELIVERY_TITLE,
    build: ({ target, shared, thresholds }) => [
      alertDeliveryCheck(
        createAlertDeliverySource({
          pool: shared.dbPool(),
          canary: shared.canary(),
          deviceKey: mqttTarget(target).canary().deviceId,
        }),
        {
          fireTimeoutMs: thresholds.get('fireTimeoutMs', DEFAULT_ALERT_DELIVERY.fireTimeoutMs),
          deliverTimeoutMs: thresholds.get('deliverTimeoutMs', DEFAULT_ALERT_DELIVERY.deliverTimeoutMs),
          resolveTimeoutMs: thresholds.get('resolveTimeoutMs', DEFAULT_ALERT_DELIVERY.resolveTimeoutMs),
          pollMs: DEFAULT_ALERT_DELIVERY.pollMs,
        },
      ),
    ],
  },
  'golive.dashboard-live': {
    title: DASHBOARD_LIVE_TITLE,
    build: ({ target, shared, thresholds }) => {
      const t = dashboardLiveTarget(target);
      return [
        dashboardLiveCheck(t.browser, () => shared.canary(), {
          deviceKey: mqttTarget(target).canary().deviceId,
          url: t.url,
          noBrowser: t.noBrowser,
          ...thresholds.pick('signInTimeoutMs', 'timeoutMs', 'warnMs'),
        }),
      ];
    },
  },
  'golive.archive': {
    title: ARCHIVE_STATUS_TITLE,
    build: ({ shared, target, thresholds }) => [
      archiveStatusCheck({
        environment: target.name,
        archive: target.config.archive,
        facts: () => shared.archiveFacts(),
        ...thresholds.pick('maxAgeHours'),
      }),
    ],
  },
  'golive.budget': {
    title: BUDGET_ALERTS_TITLE,
    build: ({ shared, target, thresholds }) => {
      const azure = shared.azure();
      return [
        budgetAlertsCheck(
          createAzureCostSource(azure.consumption, {
            scope: `subscriptions/${azure.config.subscriptionId}`,
            budgetName: azure.config.budgetName,
          }),
          {
            configuredMonthly: target.config.budget.monthlyUsd,
            ...thresholds.pick('earlyWarnPct'),
            planned: plannedCostOf(target.config, thresholds.pick(...PLANNED_LOAD_THRESHOLDS)),
          },
        ),
      ];
    },
  },
  'golive.probe-heartbeat': {
    title: PROBE_HEARTBEAT_TITLE,
    build: ({ shared, thresholds }) => [
      probeHeartbeatCheck(createProbeStateSource(shared.dbPool()), thresholds.pick('staleMinutes')),
    ],
  },
  'monthly.pricing-review': {
    title: PRICING_REVIEW_TITLE,
    build: ({ shared, target, thresholds }) => {
      // The platform's cost comes from Azure where the environment has it; AI spend always counts.
      let platformCost;
      if (target.config.azure) {
        const azure = shared.azure();
        platformCost = lastMonthPlatformCost(
          createAzureCostSource(azure.consumption, {
            scope: `subscriptions/${azure.config.subscriptionId}`,
            budgetName: azure.config.budgetName,
          }),
        );
      }
      return [
        pricingReviewCheck(shared.db(), {
          ...thresholds.pick('nearPct'),
          platformCost,
          model: environmentPricingModel(target.config, sharedMeasuredLoad(shared)),
        }),
      ];
    },
  },
};
