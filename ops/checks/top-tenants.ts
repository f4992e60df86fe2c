/**
 * Weekly: top tenants by messages over the last 7 days, with bytes, active devices and growth
 * against the 7 days before; the tenants past the top N are summed into one line. A top tenant
 * whose traffic grew past `growthWarnPct` is a warning: the runbook's data-growth playbook applies
 * (small tenants are left out of that: +300% of a few messages is noise).
 *
 * The window is the 168 hourly rollup rows ending with the current hour. The rollup counts by hour
 * of receipt and is written in the same transaction as the messages, so the current hour's row is
 * already exact up to now: leaving it out (as an earlier version did, ending at the last whole
 * hour) reported "no traffic" right after a busy hour. The cost is that this week is short of the
 * week before by the rest of the current hour, at most 1/168 (0.6 %), far below any growth
 * threshold worth setting.
 */
import type { Check } from '../engine/check.js';
import { sumOf, topLines } from '../report/top-lines.js';
import type { PlatformDbSource, TenantUsage } from '../sources/platform-db.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const TOP_TENANTS_TITLE = 'Top tenants by usage, week over week';

const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * 24 * HOUR_MS;

export function topTenantsCheck(
  source: PlatformDbSource,
  options: { top?: number; growthWarnPct?: number } = {},
): Check {
  const top = options.top ?? 10;
  const growthWarn = options.growthWarnPct ?? 100;
  return {
    id: 'weekly.top-tenants',
    title: TOP_TENANTS_TITLE,
    severity: 'low',
    playbook: 'growth-spike',
    async run({ now }) {
      const at = now();
      // Bounds on the rollup's `hour`: through the current hour, which holds what arrived so far.
      const to = new Date(Math.floor(at / HOUR_MS) * HOUR_MS + HOUR_MS);
      const from = new Date(to.getTime() - WEEK_MS);
      const before = new Date(from.getTime() - WEEK_MS);
      const [thisWeek, lastWeek] = await Promise.all([
        source.tenantUsage(from, to),
        source.tenantUsage(before, from),
      ]);
      const previous = new Map(lastWeek.map((u) => [u.tenant, u.messages]));
      const ranked = thisWeek.map((u) => {
        const prev = previous.get(u.tenant) ?? 0;
        const growthPct = prev === 0 ? null : Math.round((100 * (u.messages - prev)) / prev);
        return { ...u, growthPct };
      });
      const rows = ranked.slice(0, top);
      const window = `in ${minute(from)} .. now (${minute(new Date(at))})`;
      const evidence = [
        `Accepted messages ${window}, the current hour so far included; ` +
          `compared with ${minute(before)} .. ${minute(from)}`,
        ...topLines(
          ranked,
          top,
          (r) =>
            `${usageText(r.tenant, r)}, ` +
            (r.growthPct === null
              ? 'new this week'
              : `${r.growthPct >= 0 ? '+' : ''}${r.growthPct}% week over week`),
          (rest) =>
            usageText(`${plural(rest.length, 'other tenant')}`, {
              messages: sumOf(rest, (u) => u.messages),
              bytes: sumOf(rest, (u) => u.bytes),
              devices: sumOf(rest, (u) => u.devices),
            }),
        ),
      ];
      const total = sumOf(thisWeek, (u) => u.messages);
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
          ? `${total} messages from ${plural(thisWeek.length, 'tenant')} ${window}; top: ${rows[0]!.tenant}`
          : `no accepted messages ${window}`,
        metrics,
        evidence,
      };
    },
  };
}

function usageText(who: string, u: Pick<TenantUsage, 'messages' | 'bytes' | 'devices'>): string {
  return `${who}: ${u.messages} messages, ${u.bytes} bytes, ${u.devices} devices`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** `2026-11-30T13:55Z`: the window's precision without seconds. */
function minute(d: Date): string {
  return `${d.toISOString().slice(0, 16)}Z`;
}
