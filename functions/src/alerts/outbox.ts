/**
 * Writing notifications: one notification_outbox row per channel per state change, inserted by the
 * caller inside the transaction that changed the alert, so a change and its notifications commit
 * (or roll back) together. deliver.ts sends them.
 */
import type pg from 'pg';
import { alertsTopic } from '../../../common/topics.js';
import type { AlertNotificationPayload, AlertRule } from './types.js';

export interface AlertChange {
  event: 'fired' | 'resolved';
  alertId: string;
  rule: AlertRule;
  deviceId: string;
  deviceKey: string;
  value: number | null;
  firedAt: Date;
  resolvedAt: Date | null;
}

export function notificationPayload(change: AlertChange): AlertNotificationPayload {
  const { rule } = change;
  return {
    event: change.event,
    alertId: change.alertId,
    tenant: { id: rule.tenantId, slug: rule.tenantSlug },
    rule: { id: rule.id, name: rule.name, severity: rule.severity },
    device: { id: change.deviceId, key: change.deviceKey },
    value: change.value,
    threshold: rule.kind === 'no_data' ? rule.noDataSeconds : rule.threshold,
    firedAt: change.firedAt.toISOString(),
    resolvedAt: change.resolvedAt ? change.resolvedAt.toISOString() : null,
  };
}

interface OutboxRow {
  tenant_id: string;
  alert_id: string;
  event: 'fired' | 'resolved';
  channel: 'webhook' | 'mqtt';
  target: string;
  payload: AlertNotificationPayload;
}

export function outboxRows(change: AlertChange): OutboxRow[] {
  const payload = notificationPayload(change);
  return change.rule.channels.map((channel) => ({
    tenant_id: change.rule.tenantId,
    alert_id: change.alertId,
    event: change.event,
    channel: channel.type,
    target: channel.type === 'webhook' ? channel.url : alertsTopic(change.rule.tenantSlug),
    payload,
  }));
}

/** Inserts the outbox rows of the changes, due at `now`. Returns how many rows were written. */
export async function enqueueNotifications(
  client: pg.ClientBase,
  changes: AlertChange[],
  now: Date,
): Promise<number> {
  const rows = changes.flatMap(outboxRows);
  if (rows.length === 0) return 0;
  await client.query(
    `insert into public.notification_outbox (tenant_id, alert_id, event, channel, target, payload, next_attempt_at, created_at)
     select (e->>'tenant_id')::uuid, (e->>'alert_id')::uuid, e->>'event', e->>'channel', e->>'target',
            (e->'payload')::jsonb, $2, $2
       from json_array_elements($1::json) with ordinality as x(e, n)
      order by n`,
    [JSON.stringify(rows), now],
  );
  return rows.length;
}
