/**
 * Daily: Azure cost burn for the current UTC month against the budget. Month to date, yesterday,
 * the average of the last `averageDays` complete days, and a month-end projection: the complete
 * days' cost plus that average for every day not yet complete. Warn when the projection reaches
 * `warnPercent` of the budget (or a day spikes to `spikeFactor` x the average before it), fail at
 * `failPercent` or when the month to date already exceeds the budget.
 *
 * Azure's cost data lags 12-16 h: a day counts as complete only `lagHours` (16) after it ends
 * (UTC). Partial days are shown but never used for the rate or the projection.
 *
 * With the cost model (`model`), the same `averageDays` complete days are compared group by group
 * (ops/cost/environment.ts AZURE_GROUPS: VM and storage, network, Functions, Log Analytics, and any
 * service the model does not know) with the model's expectation at the load measured over those
 * days: a group off by at least `modelDivergePercent` of the expectation and `modelDivergeMin` in
 * the currency warns, naming the group and its likely cause (a leak, a mis-sized plan, a noisy
 * tenant: the busiest by messages).
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import {
  AZURE_GROUPS,
  type AzureGroup,
  azureGroupOf,
  azureMonthlyByGroup,
  type ExpectationOptions,
  expectedMonthlyCost,
  forDays,
  modelInputs,
} from '../cost/environment.js';
import type { Chart, Check } from '../engine/check.js';
import { sumOf, topLines } from '../report/top-lines.js';
import type { AzureCostSource, CostBudget } from '../sources/azure-cost.js';
import type { MeasuredLoadSource } from '../sources/measured-load.js';
import { round } from './series-stats.js';

/** The model's expectation for days [from, to): monthly amounts per Azure group, or why there is none. */
export interface CostBurnModel {
  expected(
    from: Date,
    to: Date,
  ): Promise<
    | {
        currency: string;
        monthlyByGroup: Map<AzureGroup['id'], number>;
        basis: string[];
        /** The busiest tenant by messages in the window. */
        topTenant?: { tenant: string; messages: number; share: number };
      }
    | string
  >;
}

/** The environment's cost model at the load measured in the platform database over the same days. */
export function environmentBurnModel(
  config: EnvironmentConfig,
  measured: MeasuredLoadSource,
  o: ExpectationOptions = {},
): CostBurnModel {
  return {
    async expected(from, to) {
      const inputs = modelInputs(config);
      if (typeof inputs === 'string') return inputs;
      const load = await measured.measuredLoad(from, to);
      const { estimate, basis } = expectedMonthlyCost(config, load, o);
      const top = load.tenants[0];
      return {
        currency: estimate.currency,
        monthlyByGroup: azureMonthlyByGroup(estimate),
        basis,
        ...(top && load.messages > 0
          ? { topTenant: { tenant: top.tenant, messages: top.messages, share: top.messages / load.messages } }
          : {}),
      };
    },
  };
}

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const COST_BURN_TITLE = 'Azure cost burn, month to date and projection';

export interface CostBurnOptions {
  /** Percent of the budget the projection may reach before a warning; default 80. */
  warnPercent?: number;
  /** Percent of the budget the projection may reach before a failure; default 100. */
  failPercent?: number;
  /** Hours after a day's end (UTC) before its cost counts as complete; default 16. */
  lagHours?: number;
  /** Complete days averaged for the burn rate; default 7. */
  averageDays?: number;
  /** A complete day above this multiple of the average before it is a spike (warn); default 2. */
  spikeFactor?: number;
  /** Services listed as the top spenders; default 5. */
  topServices?: number;
  /** Budget amount used when the Azure budget cannot be read, in the usage currency. */
  fallbackBudget?: number;
  /** The cost model's expectation to compare the actual spend with; absent: not compared. */
  model?: CostBurnModel;
  /** A group off the model by at least this percent of the expectation (and modelDivergeMin) warns; default 50. */
  modelDivergePercent?: number;
  /** ... and by at least this amount in the currency over the compared days; default 10. */
  modelDivergeMin?: number;
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

export function costBurnCheck(source: AzureCostSource, options: CostBurnOptions = {}): Check {
  const o = {
    warnPercent: options.warnPercent ?? 80,
    failPercent: options.failPercent ?? 100,
    lagHours: options.lagHours ?? 16,
    averageDays: options.averageDays ?? 7,
    spikeFactor: options.spikeFactor ?? 2,
    topServices: options.topServices ?? 5,
    modelDivergePercent: options.modelDivergePercent ?? 50,
    modelDivergeMin: options.modelDivergeMin ?? 10,
  };
  for (const [name, v] of Object.entries(o))
    if (!Number.isFinite(v) || v < 0) throw new Error(`cost-burn: ${name} must be a non-negative number`);
  if (o.warnPercent > o.failPercent) throw new Error('cost-burn: warnPercent must not exceed failPercent');
  if (!Number.isInteger(o.averageDays) || o.averageDays < 1)
    throw new Error('cost-burn: averageDays must be >= 1');
  if (options.fallbackBudget !== undefined && !(options.fallbackBudget > 0))
    throw new Error('cost-burn: fallbackBudget must be positive');

  return {
    id: 'daily.cost-burn',
    title: COST_BURN_TITLE,
    severity: 'high',
    playbook: 'cost-spike',
    async run({ now, signal }) {
      const at = now();
      const todayStart = Math.floor(at / DAY) * DAY;
      const monthStart = Date.UTC(new Date(at).getUTCFullYear(), new Date(at).getUTCMonth(), 1);
      const monthEnd = Date.UTC(new Date(at).getUTCFullYear(), new Date(at).getUTCMonth() + 1, 1);
      const daysInMonth = Math.round((monthEnd - monthStart) / DAY);
      // Day D is complete once D + 1 day + lag has passed.
      const lastComplete = Math.floor((at - o.lagHours * HOUR - DAY) / DAY) * DAY;
      // Enough history for the average and for the spike baseline before it.
      const from = Math.min(monthStart, lastComplete - (2 * o.averageDays - 1) * DAY);

      const avgFrom = lastComplete - (o.averageDays - 1) * DAY;
      const [usage, budgetRead, expectation] = await Promise.all([
        source.usage(iso(from), iso(todayStart), signal),
        source.budget(signal).then(
          (b): { budget: CostBudget; error?: undefined } => ({ budget: b }),
          (e: unknown) => ({ budget: undefined, error: e instanceof Error ? e.message : String(e) }),
        ),
        options.model
          ? options.model
              .expected(new Date(avgFrom), new Date(lastComplete + DAY))
              .catch(
                (e: unknown) =>
                  `the model's load could not be read: ${e instanceof Error ? e.message : String(e)}`,
              )
          : Promise.resolve(null),
      ]);
      const byDay = new Map(usage.days.map((d) => [d.date, d.cost]));
      const cost = (ms: number) => byDay.get(iso(ms)) ?? 0;
      const sumDays = (start: number, end: number) => {
        let s = 0;
        for (let d = start; d <= end; d += DAY) s += cost(d);
        return s;
      };

      const mtd = sumDays(monthStart, todayStart);
      const completeInMonth =
        lastComplete >= monthStart ? Math.round((lastComplete - monthStart) / DAY) + 1 : 0;
      const mtdComplete = completeInMonth ? sumDays(monthStart, lastComplete) : 0;
      const avgStart = avgFrom;
      const rate = sumDays(avgStart, lastComplete) / o.averageDays;
      const projected = mtdComplete + rate * (daysInMonth - completeInMonth);
      const yesterday = todayStart - DAY;
      const yesterdayComplete = yesterday <= lastComplete;
      const baseline = sumDays(lastComplete - o.averageDays * DAY, lastComplete - DAY) / o.averageDays;
      const spike = baseline > 0 && cost(lastComplete) > o.spikeFactor * baseline;

      const budget = budgetRead.budget;
      const currency = usage.currency ?? budget?.currentSpend?.currency ?? '';
      const budgetAmount = budget?.amount ?? options.fallbackBudget ?? null;
      const budgetCurrency = budget?.currentSpend?.currency || currency;
      const comparable =
        budgetAmount !== null && (!currency || !budgetCurrency || budgetCurrency === currency);
      const projectedPct = comparable && budgetAmount ? (100 * projected) / budgetAmount : null;
      const money = (x: number) => `${round(x).toFixed(2)} ${currency}`.trim();

      const services = new Map<string, number>();
      for (const s of usage.services)
        if (s.date >= iso(monthStart)) services.set(s.service, (services.get(s.service) ?? 0) + s.cost);
      const byCost = [...services].sort((a, b) => b[1] - a[1]);
      const share = (c: number) => (mtd > 0 ? Math.round((100 * c) / mtd) : 0);
      const topServices = topLines(
        byCost,
        o.topServices,
        ([s, c]) => `${s} ${money(c)} (${share(c)}%)`,
        (rest) => {
          const c = sumOf(rest, ([, cost]) => cost);
          return `${rest.length} other service${rest.length === 1 ? '' : 's'} ${money(c)} (${share(c)}%)`;
        },
      );

      const partialDays: string[] = [];
      for (let d = Math.max(lastComplete + DAY, monthStart); d <= todayStart; d += DAY)
        partialDays.push(iso(d));
      const evidence = [
        `Complete days are those ended ${o.lagHours} h ago or more (UTC; Azure cost data lags 12-16 h): ` +
          `${completeInMonth ? `${iso(monthStart)}..${iso(lastComplete)}` : 'none yet this month'}; ` +
          `partial: ${partialDays.join(', ') || 'none'}`,
        `Month to date ${money(mtd)} (complete days ${money(mtdComplete)} over ${completeInMonth} of ${daysInMonth} days)`,
        `Yesterday ${iso(yesterday)}: ${money(cost(yesterday))}${
          yesterdayComplete
            ? ''
            : ` (partial: complete after ${new Date(todayStart + o.lagHours * HOUR).toISOString()})`
        }`,
        `${o.averageDays}-day average (${iso(avgStart)}..${iso(lastComplete)}): ${money(rate)}/day`,
        `Projection to ${iso(monthEnd - DAY)}: ${money(mtdComplete)} + ${money(rate)} x ${daysInMonth - completeInMonth} days = ${money(projected)}` +
          (projectedPct !== null
            ? ` = ${round(projectedPct, 1)}% of the ${money(budgetAmount!)} budget`
            : ''),
        budget
          ? `Budget '${budget.name}': ${budget.amount} ${budgetCurrency} per ${budget.timeGrain}, Azure counts ${
              budget.currentSpend ? `${budget.currentSpend.amount} ${budget.currentSpend.currency}` : 'no'
            } spent; alerts: ${
              budget.notifications
                .filter((n) => n.enabled)
                .map((n) => `${n.thresholdType} ${n.operator} ${n.threshold}%`)
                .join(', ') || 'none enabled'
            }`
          : `Budget unreadable (${budgetRead.error})${options.fallbackBudget !== undefined ? `; using the configured ${money(options.fallbackBudget)}` : ''}`,
        `Top services this month: ${topServices.join(', ') || 'none'}`,
      ];
      if (spike)
        evidence.push(
          `Spike: ${iso(lastComplete)} cost ${money(cost(lastComplete))}, over ${o.spikeFactor} x the ${money(baseline)}/day before it`,
        );
      if (budgetAmount !== null && !comparable)
        evidence.push(`Budget in ${budgetCurrency} but usage in ${currency}: not compared`);

      const divergence = expectation
        ? compareWithModel(expectation, usage, avgFrom, lastComplete, currency, o, money)
        : null;
      if (divergence) evidence.push(...divergence.evidence);

      const metrics: Record<string, number> = {
        month_to_date: round(mtd),
        yesterday: round(cost(yesterday)),
        average_daily: round(rate),
        projected: round(projected),
        complete_days: completeInMonth,
        ...(budgetAmount !== null ? { budget: budgetAmount } : {}),
        ...(projectedPct !== null ? { projected_percent: round(projectedPct, 1) } : {}),
        ...(divergence?.metrics ?? {}),
      };
      const charts = [
        burnChart(at, monthStart, daysInMonth, completeInMonth, cost, rate, budgetAmount, currency),
      ];
      const base = { metrics, evidence, charts };

      if (comparable && budgetAmount !== null && mtd >= budgetAmount)
        return {
          status: 'fail',
          summary: `month to date ${money(mtd)} is over the ${money(budgetAmount)} budget`,
          ...base,
        };
      if (projectedPct !== null && projectedPct >= o.failPercent)
        return {
          status: 'fail',
          summary: `projected ${money(projected)} = ${round(projectedPct, 1)}% of the ${money(budgetAmount!)} budget`,
          ...base,
        };
      const warnings = [
        ...(projectedPct !== null && projectedPct >= o.warnPercent
          ? [`projected ${money(projected)} = ${round(projectedPct, 1)}% of the budget`]
          : []),
        ...(spike ? [`cost spike on ${iso(lastComplete)}: ${money(cost(lastComplete))}`] : []),
        ...(budgetAmount === null ? ['no budget to compare with'] : []),
        ...(budgetAmount !== null && !comparable ? ['budget and usage in different currencies'] : []),
        ...(divergence?.warnings ?? []),
      ];
      if (warnings.length) return { status: 'warn', summary: warnings.join('; '), ...base };
      return {
        status: 'ok',
        summary: `${money(mtd)} so far, projected ${money(projected)}${
          projectedPct !== null ? ` (${round(projectedPct, 1)}% of budget)` : ''
        }`,
        ...base,
      };
    },
  };
}

/**
 * Actual spend per Azure group over the complete days [from, to] against the model's expectation
 * for those days; a group diverges when off by both thresholds.
 */
function compareWithModel(
  expectation: Awaited<ReturnType<CostBurnModel['expected']>>,
  usage: Awaited<ReturnType<AzureCostSource['usage']>>,
  from: number,
  to: number,
  currency: string,
  o: { averageDays: number; modelDivergePercent: number; modelDivergeMin: number },
  money: (x: number) => string,
): { evidence: string[]; warnings: string[]; metrics: Record<string, number> } {
  const range = `${iso(from)}..${iso(to)}`;
  if (typeof expectation === 'string')
    return { evidence: [`Model: not compared (${expectation})`], warnings: [], metrics: {} };
  if (currency && expectation.currency.toUpperCase() !== currency.toUpperCase())
    return {
      evidence: [`Model: in ${expectation.currency}, usage in ${currency}: not compared`],
      warnings: [],
      metrics: {},
    };
  const actual = new Map<string, { title: string; cost: number; group?: AzureGroup }>();
  for (const g of AZURE_GROUPS) actual.set(g.id, { title: g.title, cost: 0, group: g });
  for (const s of usage.services) {
    if (s.date < iso(from) || s.date > iso(to)) continue;
    const g = azureGroupOf(s.service);
    const key = g ? g.id : `service:${s.service}`;
    const row = actual.get(key) ?? { title: s.service, cost: 0 };
    row.cost += s.cost;
    actual.set(key, row);
  }
  const top = expectation.topTenant;
  const noisy = top
    ? `a noisy tenant (top by messages: ${top.tenant}, ${Math.round(top.share * 100)}% of ${Math.round(top.messages / top.share).toLocaleString('en-US')} messages)`
    : 'a noisy tenant';
  const causeAbove = (g: AzureGroup | undefined): string => {
    switch (g?.id) {
      case 'functions':
        return `a mis-sized plan (deploy.functions.plan, infra.functions.instanceMemoryMb, the bridge's linger) or ${noisy}`;
      case 'monitoring':
        return `${noisy}, or logging beyond the request rows the model counts (host.json sampling, log level)`;
      case 'network':
        return `${noisy}, or traffic the model does not know (a new egress path)`;
      case 'vm-storage':
        return 'a leak (a disk, snapshot or storage account the model does not price) or a VM bigger than infra.vm.size';
      default:
        return 'a leak: a service the model does not price';
    }
  };
  const evidence = [
    `Model against Azure over the ${o.averageDays} complete days ${range} (${expectation.basis.join('; ')}):`,
  ];
  const warnings: string[] = [];
  let expectedTotal = 0;
  let actualTotal = 0;
  for (const a of actual.values()) {
    const monthly = a.group ? (expectation.monthlyByGroup.get(a.group.id) ?? 0) : 0;
    const expected = forDays(monthly, o.averageDays);
    expectedTotal += expected;
    actualTotal += a.cost;
    const diff = a.cost - expected;
    const pct = expected > 0 ? (100 * diff) / expected : diff === 0 ? 0 : Infinity;
    const diverges = Math.abs(diff) >= o.modelDivergeMin && Math.abs(pct) >= o.modelDivergePercent;
    const pctText = Number.isFinite(pct) ? `${diff >= 0 ? '+' : ''}${Math.round(pct)}%` : 'not modelled';
    evidence.push(`  ${a.title}: ${money(a.cost)} against ${money(expected)} modelled (${pctText})`);
    if (!diverges) continue;
    const cause =
      diff > 0
        ? causeAbove(a.group)
        : 'the model expects more: the measured load, an assumption (ops/cost/assumptions.ts) or the plan is off';
    warnings.push(
      `${a.title} ${money(a.cost)} over ${range} against ${money(expected)} modelled (${pctText}): likely ${cause}`,
    );
  }
  return {
    evidence,
    warnings,
    metrics: {
      model_expected: round(expectedTotal),
      model_actual: round(actualTotal),
      model_diverging: warnings.length,
    },
  };
}

/** Daily bars for the whole month, the cumulative cost (projected past the last complete day) and the budget pace. */
function burnChart(
  at: number,
  monthStart: number,
  daysInMonth: number,
  completeInMonth: number,
  cost: (ms: number) => number,
  rate: number,
  budget: number | null,
  currency: string,
): Chart {
  const todayIndex = Math.floor((at - monthStart) / DAY);
  const daily: number[] = [];
  const cumulative: number[] = [];
  let sum = 0;
  for (let i = 0; i < daysInMonth; i++) {
    const c = i <= todayIndex ? cost(monthStart + i * DAY) : 0;
    daily.push(round(c));
    sum += i < completeInMonth ? c : rate;
    cumulative.push(round(sum));
  }
  const month = new Date(monthStart).toISOString().slice(0, 7);
  return {
    title: `Cost burn ${month}${currency ? ` (${currency})` : ''}`,
    xLabels: daily.map((_, i) => String(i + 1)),
    yLabel: currency || 'cost',
    series: [
      { kind: 'bar', name: 'daily cost', values: daily },
      { kind: 'line', name: `cumulative (projected after day ${completeInMonth})`, values: cumulative },
      ...(budget !== null
        ? [
            {
              kind: 'line' as const,
              name: 'budget pace',
              values: daily.map((_, i) => round((budget * (i + 1)) / daysInMonth)),
            },
          ]
        : []),
    ],
  };
}

function iso(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
