/**
 * Monthly: pricing plan review. Tenants at or near their plan's limits (devices now, busiest day
 * of the last 30) are candidates for an upgrade talk; over a limit, ingest is already refusing
 * their messages (quota_exceeded). Revenue against attributed cost comes with the cost sources.
 */
import type { Check } from '../engine/check.js';
import type { PlatformDbSource } from '../sources/platform-db.js';

const DAY_MS = 86_400_000;

export function pricingReviewCheck(source: PlatformDbSource, options: { nearPct?: number } = {}): Check {
  const near = options.nearPct ?? 80;
  return {
    id: 'monthly.pricing-review',
    title: 'Tenants against their plan limits',
    severity: 'low',
    playbook: null,
    async run({ now }) {
      const to = new Date(now());
      const rows = await source.planUse(new Date(to.getTime() - 30 * DAY_MS), to);
      const pct = (used: number, max: number) =>
        max === 0 ? (used > 0 ? Infinity : 0) : Math.round((100 * used) / max);
      const flagged = rows
        .map((r) => ({
          ...r,
          devicesPct: pct(r.devices, r.maxDevices),
          messagesPct: pct(r.peakMessagesPerDay, r.maxMessagesPerDay),
        }))
        .filter((r) => r.devicesPct >= near || r.messagesPct >= near);
      const evidence = flagged.map(
        (r) =>
          `${r.tenant} (${r.plan}, $${r.monthlyPriceCents / 100}/month): devices ${r.devices}/${r.maxDevices} (${r.devicesPct}%), ` +
          `busiest day ${r.peakMessagesPerDay}/${r.maxMessagesPerDay} messages (${r.messagesPct}%)`,
      );
      const revenue = rows.reduce((a, r) => a + r.monthlyPriceCents, 0) / 100;
      const metrics = { tenants: rows.length, near_or_over: flagged.length, monthly_revenue_usd: revenue };
      if (flagged.length === 0) {
        return {
          status: 'ok',
          summary: `${rows.length} tenants, none within ${100 - near}% of a plan limit`,
          metrics,
        };
      }
      const over = flagged.filter((r) => r.devicesPct >= 100 || r.messagesPct >= 100).map((r) => r.tenant);
      return {
        status: 'warn',
        summary:
          `${flagged.length} tenants near or at a plan limit: ${flagged.map((r) => r.tenant).join(', ')}` +
          (over.length ? ` (at or over: ${over.join(', ')})` : ''),
        metrics,
        evidence,
      };
    },
  };
}
