/** The alert engine: see docs/alerts.md. */
export { evaluateAcceptedBatch, defaultRuleCache } from './evaluate.js';
export { evaluateNoData, type NoDataSummary } from './no-data.js';
export {
  deliverOutbox,
  backoffMs,
  webhookTargetRefusal,
  type DeliverOptions,
  type DeliverResult,
} from './deliver.js';
export { acknowledgeAlert, type AcknowledgeResult, type AcknowledgeStatus } from './acknowledge.js';
export { RuleCache, loadRules, type RuleCacheOptions, type TenantRules } from './rules.js';
export { mqttPublisher, lazyMqttPublisher, type LazyMqttPublisher } from './mqtt.js';
export { notificationPayload } from './outbox.js';
export { runAlertsTick, type AlertsTickOptions, type AlertsTickResult } from './tick.js';
export type {
  AcceptedReading,
  AlertEvaluationSummary,
  AlertNotificationPayload,
  AlertRule,
  Channel,
  Operator,
  PublishMqtt,
  AlertSeverity,
} from './types.js';
