/**
 * Monthly: pricing plan review. Tenants at or near their plan's limits (devices now, busiest day
 * of the last 30) are candidates for an upgrade talk; over a limit, ingest is already refusing
 * their messages (quota_exceeded). Revenue against attributed cost: each tenant's plan price
 * against its share of the platform's cost (by bytes ingested in the last 30 days) plus its own AI
 * spend from the ledger; a paying tenant that costs more than it pays is a warning.
 */
import type { Check } from '../engine/check.js';
import type { PlatformDbSource } from '../sources/platform-db.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const PRICING_REVIEW_TITLE = 'Tenants against their plan limits, revenue against attributed cost';

const DAY_MS = 86_400_000;

/** The platform's cloud cost of a recent whole month (Azure), or null when it cannot be known. */
export interface PlatformCostSource {
  lastMonth(signal?: AbortSignal): Promise<{ amount: number; currency: string } | null>;
}

export function pricingReviewCheck(
  source: PlatformDbSource,
  options: { nearPct?: number; platformCost?: PlatformCostSource } = {},
): Check {
  const near = options.nearPct ?? 80;
  return {
    id: 'monthly.pricing-review',
    title: PRICING_REVIEW_TITLE,
    severity: 'low',
    playbook: null,
    async run({ now, signal }) {
      const to = new Date(now());
      const from = new Date(to.getTime() - 30 * DAY_MS);
      const [rows, usage, ai, cost] = await Promise.all([
        source.planUse(from, to),
        source.tenantUsage(from, to),
        source.aiUsage(from, to),
        options.platformCost ? options.platformCost.lastMonth(signal) : Promise.resolve(null),
      ]);
      const attribution = attribute(rows, usage, ai, cost);
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
      const metrics = {
        tenants: rows.length,
        near_or_over: flagged.length,
        monthly_revenue_usd: revenue,
        attributed_cost_usd: round(attribution.totalUsd),
        loss_making: attribution.losses.length,
      };
      evidence.push(attribution.basis, ...attribution.lines);
      const problems: string[] = [];
      if (flagged.length > 0) {
        const over = flagged.filter((r) => r.devicesPct >= 100 || r.messagesPct >= 100).map((r) => r.tenant);
        problems.push(
          `${flagged.length} tenants near or at a plan limit: ${flagged.map((r) => r.tenant).join(', ')}` +
            (over.length ? ` (at or over: ${over.join(', ')})` : ''),
        );
      }
      if (attribution.losses.length > 0) {
        problems.push(`costing more than they pay: ${attribution.losses.join(', ')}`);
      }
      if (problems.length === 0) {
        return {
          status: 'ok',
          summary: `${rows.length} tenants, none within ${100 - near}% of a plan limit; revenue $${revenue}/month against $${round(attribution.totalUsd)} attributed`,
          metrics,
          evidence,
        };
      }
      return { status: 'warn', summary: problems.join('; '), metrics, evidence };
    },
  };
}

/**
 * Per paying tenant: plan price against (platform cost x its share of bytes) + its AI spend. The
 * platform cost counts only when it is in USD, the plans' currency.
 */
function attribute(
  plans: Awaited<ReturnType<PlatformDbSource['planUse']>>,
  usage: Awaited<ReturnType<PlatformDbSource['tenantUsage']>>,
  ai: Awaited<ReturnType<PlatformDbSource['aiUsage']>>,
  cost: { amount: number; currency: string } | null,
): { basis: string; lines: string[]; losses: string[]; totalUsd: number } {
  const platformUsd = cost && cost.currency.toUpperCase() === 'USD' ? cost.amount : 0;
  const basis = !cost
    ? 'attributed cost: AI spend only (no platform cost source for this environment)'
    : platformUsd === 0 && cost.amount > 0
      ? `attributed cost: AI spend only (platform cost ${cost.amount} ${cost.currency} is not in the plans' USD)`
      : `attributed cost: platform $${round(platformUsd)} last month shared by bytes ingested, plus each tenant's AI spend`;
  const totalBytes = usage.reduce((a, u) => a + u.bytes, 0);
  const bytes = new Map(usage.map((u) => [u.tenant, u.bytes]));
  const aiUsd = new Map<string, number>();
  for (const a of ai) aiUsd.set(a.tenant, (aiUsd.get(a.tenant) ?? 0) + a.costUsd);
  const lines: string[] = [];
  const losses: string[] = [];
  let totalUsd = 0;
  for (const p of plans) {
    const share = totalBytes > 0 ? (bytes.get(p.tenant) ?? 0) / totalBytes : 0;
    const attributed = platformUsd * share + (aiUsd.get(p.tenant) ?? 0);
    totalUsd += attributed;
    const price = p.monthlyPriceCents / 100;
    if (price > 0 && attributed > price) {
      losses.push(p.tenant);
      lines.push(
        `${p.tenant} (${p.plan}): pays $${price}, costs $${round(attributed)} (${Math.round(share * 100)}% of bytes)`,
      );
    }
  }
  return { basis, lines, losses, totalUsd };
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
