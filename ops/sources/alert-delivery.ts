/**
 * The go-live alert round trip's side effects and observations: a dedicated rule on the canary
 * device (created once, reused), a reading that trips it, and what the alert engine then records
 * (the alert, its notification's delivery, the resolution). Uses the service role (no RLS).
 */
import type pg from 'pg';
import type { IngestCanarySource } from './ingest-canary.js';

export const GOLIVE_RULE_NAME = 'ops: go-live alert check';
export const GOLIVE_METRIC = 'ops_golive';

export interface Delivery {
  channel: string;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  deliveredAt: Date | null;
  lastError: string | null;
}

export interface AlertDeliverySource {
  /** The rule on the canary device (`ops_golive > 0.5`, clears below, no cooldown, MQTT channel). */
  ensureRule(): Promise<{ ruleId: string; created: boolean }>;
  /** Publishes a canary reading with `ops_golive = value`; resolves with the publish time. */
  publish(value: number): Promise<number>;
  firingAlert(ruleId: string, since: Date): Promise<{ alertId: string; firedAt: Date } | null>;
  deliveries(alertId: string, event: 'fired' | 'resolved'): Promise<Delivery[]>;
  resolvedAt(alertId: string): Promise<Date | null>;
}

export function createAlertDeliverySource(options: {
  pool: pg.Pool;
  canary: IngestCanarySource;
  /** The canary device's key (devices.device_key). */
  deviceKey: string;
}): AlertDeliverySource {
  const { pool } = options;
  let n = 0;
  return {
    async ensureRule() {
      const device = await pool.query<{ id: string; tenant_id: string }>(
        `select id, tenant_id from public.devices where device_key = $1`,
        [options.deviceKey],
      );
      const d = device.rows[0];
      if (!d) throw new Error(`canary device ${options.deviceKey} is not registered`);
      const existing = await pool.query<{ id: string }>(
        `select id from public.alert_rules where device_id = $1 and name = $2`,
        [d.id, GOLIVE_RULE_NAME],
      );
      if (existing.rows[0]) {
        await pool.query(`update public.alert_rules set enabled = true where id = $1`, [existing.rows[0].id]);
        return { ruleId: existing.rows[0].id, created: false };
      }
      const created = await pool.query<{ id: string }>(
        `insert into public.alert_rules
           (tenant_id, name, device_id, kind, metric, operator, threshold, clear_threshold,
            for_seconds, cooldown_seconds, severity, channels)
         values ($1, $2, $3, 'threshold', $4, '>', 0.5, 0.5, 0, 0, 'info', '[{"type":"mqtt"}]')
         returning id`,
        [d.tenant_id, GOLIVE_RULE_NAME, d.id, GOLIVE_METRIC],
      );
      return { ruleId: created.rows[0]!.id, created: true };
    },
    publish: (value) => options.canary.publish(`golive-${Date.now()}-${n++}`, { [GOLIVE_METRIC]: value }),
    async firingAlert(ruleId, since) {
      const res = await pool.query<{ id: string; fired_at: Date }>(
        `select id, fired_at from public.alerts where rule_id = $1 and status = 'firing' and fired_at >= $2
          order by fired_at desc limit 1`,
        [ruleId, since],
      );
      const r = res.rows[0];
      return r ? { alertId: r.id, firedAt: r.fired_at } : null;
    },
    async deliveries(alertId, event) {
      const res = await pool.query<{
        channel: string;
        status: Delivery['status'];
        attempts: number;
        delivered_at: Date | null;
        last_error: string | null;
      }>(
        `select channel, status, attempts, delivered_at, last_error from public.notification_outbox
          where alert_id = $1 and event = $2 order by id`,
        [alertId, event],
      );
      return res.rows.map((r) => ({
        channel: r.channel,
        status: r.status,
        attempts: r.attempts,
        deliveredAt: r.delivered_at,
        lastError: r.last_error,
      }));
    },
    async resolvedAt(alertId) {
      const res = await pool.query<{ resolved_at: Date | null }>(
        `select resolved_at from public.alerts where id = $1`,
        [alertId],
      );
      return res.rows[0]?.resolved_at ?? null;
    },
  };
}
