/**
 * Go-live: an alert rule fires and its notification is delivered. Trips the go-live rule on the
 * canary device, waits for the alert, then for its notification to be delivered (the alerts timer
 * sends it), then clears it again so the next run starts clean. Fails naming the stage that did not
 * happen in time.
 */
import type { Check } from '../engine/check.js';
import type { AlertDeliverySource } from '../sources/alert-delivery.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const ALERT_DELIVERY_TITLE = 'An alert fires and its notification is delivered';

export interface AlertDeliveryThresholds {
  /** Until the alert fires (the rule cache may need a few seconds to see a new rule). */
  fireTimeoutMs: number;
  /** Until the notification is delivered (the alerts timer runs every minute in Azure). */
  deliverTimeoutMs: number;
  resolveTimeoutMs: number;
  pollMs: number;
}

export const DEFAULT_ALERT_DELIVERY: AlertDeliveryThresholds = {
  fireTimeoutMs: 30_000,
  deliverTimeoutMs: 120_000,
  resolveTimeoutMs: 30_000,
  pollMs: 500,
};

export function alertDeliveryCheck(
  source: AlertDeliverySource,
  thresholds: AlertDeliveryThresholds = DEFAULT_ALERT_DELIVERY,
): Check {
  return {
    id: 'golive.alert-delivered',
    title: ALERT_DELIVERY_TITLE,
    severity: 'high',
    playbook: null,
    async run({ now, signal }) {
      const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
      const evidence: string[] = [];
      const rule = await source.ensureRule();
      evidence.push(`rule ${rule.ruleId} (${rule.created ? 'created' : 'reused'})`);
      // An alert left firing (an earlier run that stopped before clearing it, or its tripping
      // reading delivered late from the bridge's journal) would hide this run's: clear it first.
      const leftOver = await source.firingAlert(rule.ruleId, new Date(0));
      if (leftOver) {
        await source.publish(0);
        const clearStart = now();
        let cleared: Date | null = null;
        while (!cleared && now() - clearStart <= thresholds.resolveTimeoutMs && !signal.aborted) {
          await sleep(thresholds.pollMs);
          cleared = await source.resolvedAt(leftOver.alertId);
        }
        if (!cleared)
          return {
            status: 'fail',
            summary: `alert ${leftOver.alertId}, left firing by an earlier run, did not resolve within ${thresholds.resolveTimeoutMs / 1000} s of a clearing reading`,
            evidence,
          };
        evidence.push(
          `cleared alert ${leftOver.alertId}, left firing since ${leftOver.firedAt.toISOString()}`,
        );
      }
      const started = now();
      const since = new Date(started - 1_000);

      // Publish until the alert shows: a rule created just now may be invisible to a cached engine.
      let alert: Awaited<ReturnType<AlertDeliverySource['firingAlert']>> = null;
      let lastPublish = 0;
      while (!alert) {
        if (now() - started > thresholds.fireTimeoutMs || signal.aborted) {
          return {
            status: 'fail',
            summary: `no alert within ${thresholds.fireTimeoutMs / 1000} s of the tripping reading`,
            evidence,
          };
        }
        if (now() - lastPublish >= 5_000) lastPublish = await source.publish(1);
        await sleep(thresholds.pollMs);
        alert = await source.firingAlert(rule.ruleId, since);
      }
      const fireMs = alert.firedAt.getTime() - started;
      evidence.push(`alert ${alert.alertId} fired ${Math.max(0, fireMs)} ms after the first reading`);

      let delivered = null;
      const deliverStart = now();
      for (;;) {
        const rows = await source.deliveries(alert.alertId, 'fired');
        delivered = rows.find((d) => d.status === 'delivered') ?? null;
        if (delivered) break;
        const failed = rows.find((d) => d.status === 'failed');
        if (failed) {
          return {
            status: 'fail',
            summary: `the ${failed.channel} notification failed: ${failed.lastError ?? 'no error recorded'}`,
            evidence,
          };
        }
        if (now() - deliverStart > thresholds.deliverTimeoutMs || signal.aborted) {
          const pending = rows.map(
            (d) => `${d.channel}: ${d.status} after ${d.attempts} attempts ${d.lastError ?? ''}`,
          );
          return {
            status: 'fail',
            summary: `the alert fired but no notification was delivered within ${thresholds.deliverTimeoutMs / 1000} s`,
            evidence: [...evidence, ...(pending.length ? pending : ['no notification queued'])],
          };
        }
        await sleep(thresholds.pollMs);
      }
      const deliverMs = delivered.deliveredAt!.getTime() - alert.firedAt.getTime();
      evidence.push(`${delivered.channel} notification delivered ${deliverMs} ms after firing`);

      // Clear it, so the rule is ready for the next run.
      await source.publish(0);
      const resolveStart = now();
      let resolved: Date | null = null;
      while (!resolved && now() - resolveStart <= thresholds.resolveTimeoutMs && !signal.aborted) {
        await sleep(thresholds.pollMs);
        resolved = await source.resolvedAt(alert.alertId);
      }
      const metrics = { fire_ms: Math.max(0, fireMs), deliver_ms: deliverMs };
      if (!resolved) {
        return {
          status: 'warn',
          summary: 'delivered, but the alert did not resolve when the value cleared',
          metrics,
          evidence,
        };
      }
      evidence.push(`resolved at ${resolved.toISOString()}`);
      return {
        status: 'ok',
        summary: `fired in ${(Math.max(0, fireMs) / 1000).toFixed(1)} s, ${delivered.channel} notification delivered ${(deliverMs / 1000).toFixed(1)} s later, resolved`,
        metrics,
        evidence,
      };
    },
  };
}
