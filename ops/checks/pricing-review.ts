/**
 * Monthly: pricing plan review. Tenants at or near their plan's limits (devices now, busiest day
 * of the last 30) are candidates for an upgrade talk; over a limit, ingest is already refusing
 * their messages (quota_exceeded). Revenue against cost: with the cost model (`model`), each
 * tenant's measured usage of the last 30 days is priced by the model (ops/cost/attribution.ts: its
 * share of each component's variable cost by messages and bytes, plus an even share of the fixed
 * part) plus its own AI spend from the ledger; a paying tenant whose modelled cost exceeds its plan
 * price is a warning. The platform's bill (Azure, last month) split by bytes is still shown where it
 * is known, and decides the losses only without the model.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import { type Attribution, attributeModelCost, fixedEstimate } from '../cost/attribution.js';
import { type ExpectationOptions, expectedMonthlyCost, modelInputs } from '../cost/environment.js';
import type { Check } from '../engine/check.js';
import type { MeasuredLoadSource } from '../sources/measured-load.js';
import type { PlatformDbSource } from '../sources/platform-db.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const PRICING_REVIEW_TITLE = 'Tenants against their plan limits, revenue against attributed cost';

const DAY_MS = 86_400_000;

/** The platform's cloud cost of a recent whole month (Azure), or null when it cannot be known. */
export interface PlatformCostSource {
  lastMonth(signal?: AbortSignal): Promise<{ amount: number; currency: string } | null>;
}

/** The modelled monthly cost shared among tenants by their usage in [from, to), or why not. */
export interface PricingModel {
  attribute(
    from: Date,
    to: Date,
    activeTenants: string[],
  ): Promise<{ attribution: Attribution; basis: string[] } | string>;
}

/** The environment's cost model at the load measured in the platform database. */
export function environmentPricingModel(
  config: EnvironmentConfig,
  measured: MeasuredLoadSource,
  o: ExpectationOptions = {},
): PricingModel {
  return {
    async attribute(from, to, activeTenants) {
      const inputs = modelInputs(config);
      if (typeof inputs === 'string') return inputs;
      const load = await measured.measuredLoad(from, to);
      const { estimate, basis } = expectedMonthlyCost(config, load, o);
      const fixed = fixedEstimate(estimate, inputs.prices, o.assumptions);
      return {
        attribution: attributeModelCost(estimate, fixed, load.tenants, activeTenants, o.assumptions),
        basis,
      };
    },
  };
}

export function pricingReviewCheck(
  source: PlatformDbSource,
  options: { nearPct?: number; platformCost?: PlatformCostSource; model?: PricingModel } = {},
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
      const bill = attribute(rows, usage, ai, cost);
      const modelled = options.model
        ? modelledCost(
            rows,
            ai,
            await options.model.attribute(
              from,
              to,
              rows.map((r) => r.tenant),
            ),
          )
        : null;
      // The model decides the losses where it priced the usage; the bill split otherwise.
      const attribution = modelled && modelled.priced ? modelled : bill;
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
        ...(modelled?.priced ? { modelled_cost_usd: round(modelled.totalUsd) } : {}),
        ...(cost && bill !== attribution ? { bill_attributed_usd: round(bill.totalUsd) } : {}),
      };
      if (modelled) evidence.push(modelled.basis, ...modelled.lines);
      if (!modelled?.priced || cost) evidence.push(bill.basis, ...bill.lines);
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
 * Per paying tenant: plan price against its modelled monthly cost plus its AI spend. `priced` is
 * false when the model could not price the usage (no prices, another currency): then only the
 * reason is shown.
 */
function modelledCost(
  plans: Awaited<ReturnType<PlatformDbSource['planUse']>>,
  ai: Awaited<ReturnType<PlatformDbSource['aiUsage']>>,
  result: { attribution: Attribution; basis: string[] } | string,
): { priced: boolean; basis: string; lines: string[]; losses: string[]; totalUsd: number } {
  if (typeof result === 'string')
    return {
      priced: false,
      basis: `modelled cost: not available (${result})`,
      lines: [],
      losses: [],
      totalUsd: 0,
    };
  const { attribution: m, basis } = result;
  if (m.currency.toUpperCase() !== 'USD')
    return {
      priced: false,
      basis: `modelled cost: in ${m.currency}, not the plans' USD: not compared`,
      lines: [],
      losses: [],
      totalUsd: 0,
    };
  const aiUsd = new Map<string, number>();
  for (const a of ai) aiUsd.set(a.tenant, (aiUsd.get(a.tenant) ?? 0) + a.costUsd);
  const byTenant = new Map(m.tenants.map((t) => [t.tenant, t]));
  const lines = [...basis.map((b) => `model ${b}`)];
  const losses: string[] = [];
  let totalUsd = 0;
  for (const p of plans) {
    const t = byTenant.get(p.tenant);
    const platform = t?.total ?? 0;
    const aiCost = aiUsd.get(p.tenant) ?? 0;
    const modelled = platform + aiCost;
    totalUsd += modelled;
    const price = p.monthlyPriceCents / 100;
    if (price <= 0) continue;
    const loss = modelled > price;
    if (loss) losses.push(p.tenant);
    lines.push(
      `${p.tenant} (${p.plan}): pays $${price}, modelled $${round(modelled)} (fixed $${round(t?.fixed ?? 0)} + usage $${round(t?.variable ?? 0)}` +
        ` for ${Math.round((t?.messageShare ?? 0) * 100)}% of messages${aiCost ? ` + AI $${round(aiCost)}` : ''})${loss ? ': costs more than it pays' : ''}`,
    );
  }
  return {
    priced: true,
    basis:
      `modelled cost: the platform at the measured load, $${round(m.total)} a month: fixed $${round(m.fixed)} split evenly ` +
      `over the active tenants, the rest by each tenant's messages and bytes; plus each tenant's AI spend`,
    lines,
    losses,
    totalUsd,
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
