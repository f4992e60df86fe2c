/** The platform's cloud cost of the last whole calendar month (UTC), from the Azure cost source. */
import type { PlatformCostSource } from '../checks/pricing-review.js';
import type { AzureCostSource } from './azure-cost.js';

export function lastMonthPlatformCost(
  cost: Pick<AzureCostSource, 'usage'>,
  now: () => number = Date.now,
): PlatformCostSource {
  return {
    async lastMonth(signal) {
      const at = new Date(now());
      const first = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() - 1, 1));
      const last = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 0));
      const usage = await cost.usage(
        first.toISOString().slice(0, 10),
        last.toISOString().slice(0, 10),
        signal,
      );
      if (usage.currency === null) return null;
      return { amount: usage.days.reduce((a, d) => a + d.cost, 0), currency: usage.currency };
    },
  };
}
