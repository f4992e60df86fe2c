/**
 * Azure cost as the cost-burn check reads it, through @azure/arm-consumption: usage details over a
 * UTC date range summed per day and per service, in the billing currency; and the budget (amount,
 * spend so far, notification thresholds).
 *
 * Usage rows are filtered by `properties/usageStart ge '<from>' and properties/usageEnd le '<to>'`
 * (dates, inclusive) at the subscription scope; the SDK follows `nextLink` pages. A row's service is
 * its meter category when the row carries one (modern rows; legacy rows with expanded meter
 * details), else its consumed service (`Microsoft.Compute`, `Microsoft.Web`, ...): the legacy
 * listing is not expanded, which keeps each page small.
 */
import type {
  ConsumptionManagementClient,
  LegacyUsageDetail,
  ModernUsageDetail,
  UsageDetailUnion,
} from '@azure/arm-consumption';

export interface CostDay {
  /** UTC date, YYYY-MM-DD. */
  date: string;
  cost: number;
}

export interface CostByService {
  service: string;
  cost: number;
}

export interface CostUsage {
  /** ISO 4217 code of the billing currency; null when there were no rows. */
  currency: string | null;
  /** Days that have at least one row, ascending. */
  days: CostDay[];
  /** Each service's cost per day, to total over any sub-range. */
  services: { date: string; service: string; cost: number }[];
  rows: number;
}

export interface BudgetNotification {
  name: string;
  enabled: boolean;
  operator: string;
  /** Percent of the budget amount. */
  threshold: number;
  /** `Actual` or `Forecasted`. */
  thresholdType: string;
}

export interface CostBudget {
  name: string;
  amount: number;
  timeGrain: string;
  /** Spend so far as Azure tracks it (its own lag applies), with its currency. */
  currentSpend: { amount: number; currency: string } | null;
  notifications: BudgetNotification[];
}

export interface AzureCostSource {
  /** Usage with a date in [from, to] (UTC dates, inclusive). */
  usage(from: string, to: string, signal?: AbortSignal): Promise<CostUsage>;
  budget(signal?: AbortSignal): Promise<CostBudget>;
}

export interface AzureCostSourceOptions {
  /** e.g. `subscriptions/<id>` or `subscriptions/<id>/resourceGroups/<rg>`. */
  scope: string;
  budgetName: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export function createAzureCostSource(
  client: ConsumptionManagementClient,
  options: AzureCostSourceOptions,
): AzureCostSource {
  const scope = options.scope.replace(/^\/+|\/+$/g, '');
  if (!/^subscriptions\/[0-9a-f-]{36}(\/resourceGroups\/[\w.()-]+)?$/i.test(scope))
    throw new Error(`azure cost: scope must be subscriptions/<guid>[/resourceGroups/<name>], got '${scope}'`);
  if (!/^[\w.-]{1,63}$/.test(options.budgetName))
    throw new Error('azure cost: budgetName must be 1-63 letters, digits, _ . -');
  return {
    async usage(from, to, signal) {
      if (!DATE.test(from) || !DATE.test(to) || from > to)
        throw new Error(`azure cost: bad date range ${from}..${to}`);
      const filter = `properties/usageStart ge '${from}' and properties/usageEnd le '${to}'`;
      const days = new Map<string, number>();
      const services = new Map<string, number>();
      const currencies = new Set<string>();
      let rows = 0;
      for await (const row of client.usageDetails.list(scope, { filter, abortSignal: signal })) {
        const { date, cost, currency, service } = readRow(row);
        if (!date) continue;
        const day = date.toISOString().slice(0, 10);
        // The filter is the service's; keep the range exact even if it is applied loosely.
        if (day < from || day > to) continue;
        rows++;
        if (currency) currencies.add(currency.toUpperCase());
        days.set(day, (days.get(day) ?? 0) + cost);
        const key = `${day}\n${service}`;
        services.set(key, (services.get(key) ?? 0) + cost);
      }
      if (currencies.size > 1)
        throw new Error(
          `azure cost: usage in several currencies (${[...currencies].join(', ')}) cannot be summed`,
        );
      return {
        currency: [...currencies][0] ?? null,
        days: [...days].sort(([a], [b]) => a.localeCompare(b)).map(([date, cost]) => ({ date, cost })),
        services: [...services].map(([key, cost]) => {
          const [date = '', service = ''] = key.split('\n');
          return { date, service, cost };
        }),
        rows,
      };
    },
    async budget(signal) {
      const b = await client.budgets.get(scope, options.budgetName, { abortSignal: signal });
      if (typeof b.amount !== 'number')
        throw new Error(`azure cost: budget ${options.budgetName} has no amount`);
      return {
        name: b.name ?? options.budgetName,
        amount: b.amount,
        timeGrain: b.timeGrain ?? 'Monthly',
        currentSpend:
          typeof b.currentSpend?.amount === 'number'
            ? { amount: b.currentSpend.amount, currency: (b.currentSpend.unit ?? '').toUpperCase() }
            : null,
        notifications: Object.entries(b.notifications ?? {}).map(([name, n]) => ({
          name,
          enabled: n.enabled,
          operator: n.operator,
          threshold: n.threshold,
          thresholdType: n.thresholdType ?? 'Actual',
        })),
      };
    },
  };
}

function readRow(row: UsageDetailUnion): { date?: Date; cost: number; currency?: string; service: string } {
  if (row.kind === 'modern') {
    const m = row as ModernUsageDetail;
    return {
      date: m.date,
      cost: m.costInBillingCurrency ?? 0,
      currency: m.billingCurrencyCode,
      service: m.meterCategory || m.consumedService || 'unknown',
    };
  }
  if (row.kind === 'legacy') {
    const l = row as LegacyUsageDetail;
    return {
      date: l.date,
      cost: l.cost ?? 0,
      currency: l.billingCurrency,
      service: l.meterDetails?.meterCategory || l.consumedService || 'unknown',
    };
  }
  throw new Error(`azure cost: usage row of unknown kind '${(row as { kind?: string }).kind}'`);
}
