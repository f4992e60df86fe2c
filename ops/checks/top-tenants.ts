/**
 * Weekly: top tenants by messages over the last 7 days, with bytes, active devices and growth
 * against the 7 days before. A tenant whose traffic grew past `growthWarnPct` is a warning: the
 * runbook's data-growth playbook applies.
 */
import type { Check } from '../engine/check.js';
import type { PlatformDbSource } from '../sources/platform-db.js';

const WEEK_MS = 7 * 86_400_000;

export function topTenantsCheck(
  source: PlatformDbSource,
  options: { top?: number; growthWarnPct?: number } = {},
): Check {
  const top = options.top ?? 10;
  const growthWarn = options.growthWarnPct ?? 100;
  return {
    id: 'weekly.top-tenants',
    title: 'Top tenants by usage, week over week',
    severity: 'low',
    playbook: 'growth-spike',
    async run({ now }) {
      // Whole hours: the rollup's rows are hourly.
      const to = new Date(Math.floor(now() / 3_600_000) * 3_600_000);
      const from = new Date(to.getTime() - WEEK_MS);
      const before = new Date(from.getTime() - WEEK_MS);
      const [thisWeek, lastWeek] = await Promise.all([
        source.tenantUsage(from, to),
        source.tenantUsage(before, from),
      ]);
      const previous = new Map(lastWeek.map((u) => [u.tenant, u.messages]));
      const rows = thisWeek.slice(0, top).map((u) => {
        const prev = previous.get(u.tenant) ?? 0;
        const growthPct = prev === 0 ? null : Math.round((100 * (u.messages - prev)) / prev);
        return { ...u, growthPct };
      });
      const evidence = rows.map(
        (r) =>
          `${r.tenant}: ${r.messages} messages, ${r.bytes} bytes, ${r.devices} devices, ` +
          (r.growthPct === null
            ? 'new this week'
            : `${r.growthPct >= 0 ? '+' : ''}${r.growthPct}% week over week`),
      );
      const total = thisWeek.reduce((a, u) => a + u.messages, 0);
      const metrics = { tenants: thisWeek.length, messages: total };
      const spikes = rows.filter((r) => r.growthPct !== null && r.growthPct > growthWarn);
      if (spikes.length > 0) {
        return {
          status: 'warn',
          summary: `traffic grew over +${growthWarn}% week over week for ${spikes.map((s) => s.tenant).join(', ')}`,
          metrics,
          evidence,
          fingerprint: `weekly.top-tenants:${spikes.map((s) => s.tenant).join(',')}`,
        };
      }
      return {
        status: 'ok',
        summary: rows.length
          ? `${total} messages from ${thisWeek.length} tenants; top: ${rows[0]!.tenant}`
          : 'no traffic this week',
        metrics,
        evidence,
      };
    },
  };
}
