/**
 * Types of the alert engine. Rules live in public.alert_rules; see docs/alerts.md for their
 * semantics.
 */

export type Operator = '>' | '>=' | '<' | '<=' | '==' | '!=';
/** A tenant's alert rule severity (a column of alert_rules): not the ops engine's incident Severity. */
export type AlertSeverity = 'info' | 'warning' | 'critical';
export type RuleKind = 'threshold' | 'no_data';

export type Channel = { type: 'webhook'; url: string } | { type: 'mqtt' };

export interface AlertRule {
  id: string;
  tenantId: string;
  tenantSlug: string;
  name: string;
  /** null: every device of the tenant. */
  deviceId: string | null;
  kind: RuleKind;
  metric: string | null;
  operator: Operator | null;
  threshold: number | null;
  clearThreshold: number | null;
  forSeconds: number;
  cooldownSeconds: number;
  noDataSeconds: number | null;
  severity: AlertSeverity;
  /** Valid channels only (an entry that is not a known channel is dropped when the rule loads). */
  channels: Channel[];
}

/** A threshold rule: the fields the threshold evaluator needs are present. */
export interface ThresholdRule extends AlertRule {
  kind: 'threshold';
  metric: string;
  operator: Operator;
  threshold: number;
}

/** One reading ingest committed (inserted, not a duplicate). */
export interface AcceptedReading {
  tenantId: string;
  deviceId: string;
  ts: Date;
  metrics: Record<string, unknown>;
}

export interface AlertEvaluationSummary {
  /** Readings handed in. */
  readings: number;
  /** (rule, device) pairs evaluated against the database (0 when no rule applied). */
  pairs: number;
  /** Alerts opened. */
  fired: number;
  /** Alerts resolved (threshold cleared, or data arrived for a no_data alert). */
  resolved: number;
  /** Readings that would have fired but fell inside the cooldown after a resolution. */
  suppressed: number;
  /** Readings older than the newest reading already evaluated for their (rule, device): skipped. */
  stale: number;
  /** Outbox rows written (one per channel per state change). */
  enqueued: number;
}

/** The JSON body of every notification (webhook POST body and MQTT payload). */
export interface AlertNotificationPayload {
  event: 'fired' | 'resolved';
  alertId: string;
  tenant: { id: string; slug: string };
  rule: { id: string; name: string; severity: AlertSeverity };
  device: { id: string; key: string };
  /** Threshold: the reading's value. no_data: seconds without data when fired, null when resolved. */
  value: number | null;
  /** Threshold: the rule's threshold. no_data: no_data_seconds. */
  threshold: number | null;
  firedAt: string;
  resolvedAt: string | null;
}

/** Publishes one payload at QoS 1; resolves once the broker acknowledged it. */
export type PublishMqtt = (topic: string, payload: string) => Promise<void>;
