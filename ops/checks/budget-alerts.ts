/**
 * Go-live: a cost budget exists with alert thresholds (runbook/RUNBOOK.md go-live: "cost dashboard and
 * budget alert active"). Fail when the budget cannot be read or has no enabled notification; warn when it has
 * no early warning (every enabled threshold at or above `earlyWarnPct`) or its amount differs from
 * the environment's configured monthly budget.
 *
 * With the cost model (`planned`), the budget is also compared with the model's expected monthly
 * cost at the planned load (thresholds plannedDevices, plannedMessagesPerDevicePerMinute,
 * plannedPayloadBytes, plannedAgeDays): the Azure budget watches Azure's bill, so the Azure
 * components (VM, disk, IP, Functions, Log Analytics, Blob, egress) are what must fit; Supabase and
 * Pages are listed beside them. Fail when that expectation exceeds the budget.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import {
  AZURE_GROUPS,
  type ExpectationOptions,
  expectedMonthlyCost,
  modelInputs,
} from '../cost/environment.js';
import type { Check } from '../engine/check.js';
import type { AzureCostSource } from '../sources/azure-cost.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const BUDGET_ALERTS_TITLE = 'Cost budget with alert thresholds';

/** The model's monthly cost at the planned load, or why there is none (a sentence). */
export type PlannedCost =
  | {
      currency: string;
      /** Per component: on Azure's bill or not. */
      components: { title: string; monthly: number; azure: boolean }[];
      basis: string[];
    }
  | string;

/** The numeric thresholds of the planned load, as runbook.yaml names them. */
export const PLANNED_LOAD_THRESHOLDS = [
  'plannedDevices',
  'plannedMessagesPerDevicePerMinute',
  'plannedPayloadBytes',
  'plannedAgeDays',
] as const;

/**
 * The environment's model at the planned load: `plannedDevices` (required to compare), one message
 * per 10 s, a 100-byte payload and a year collected unless the thresholds say otherwise.
 */
export function plannedCostOf(
  config: EnvironmentConfig,
  planned: Partial<Record<(typeof PLANNED_LOAD_THRESHOLDS)[number], number>>,
  o: ExpectationOptions = {},
): PlannedCost {
  if (planned.plannedDevices === undefined)
    return 'no planned load: set thresholds.plannedDevices for golive.budget (runbook/runbook.yaml or the environment)';
  const inputs = modelInputs(config);
  if (typeof inputs === 'string') return inputs;
  const perMinute = planned.plannedMessagesPerDevicePerMinute ?? 6;
  const { estimate, basis } = expectedMonthlyCost(
    config,
    {
      devices: planned.plannedDevices,
      messagesPerDay: planned.plannedDevices * perMinute * 1440,
      payloadBytes: planned.plannedPayloadBytes ?? 100,
      ageDays: planned.plannedAgeDays ?? 365,
    },
    o,
  );
  const azure = new Set(AZURE_GROUPS.flatMap((g) => g.components));
  return {
    currency: estimate.currency,
    components: estimate.components.map((c) => ({
      title: c.title,
      monthly: c.monthly,
      azure: azure.has(c.id),
    })),
    basis,
  };
}

export function budgetAlertsCheck(
  source: Pick<AzureCostSource, 'budget'>,
  options: { configuredMonthly: number; earlyWarnPct?: number; planned?: PlannedCost },
): Check {
  const early = options.earlyWarnPct ?? 100;
  return {
    id: 'golive.budget',
    title: BUDGET_ALERTS_TITLE,
    severity: 'medium',
    playbook: null,
    async run({ signal }) {
      const b = await source.budget(signal);
      const enabled = b.notifications.filter((n) => n.enabled);
      const evidence = [
        `budget ${b.name}: ${b.amount} per ${b.timeGrain}${b.currentSpend ? `, spent ${b.currentSpend.amount} ${b.currentSpend.currency}` : ''}`,
        ...b.notifications.map(
          (n) => `${n.name}: ${n.enabled ? 'on' : 'off'}, ${n.thresholdType} ${n.operator} ${n.threshold} %`,
        ),
      ];
      const metrics: Record<string, number> = { amount: b.amount, notifications: enabled.length };
      const over = options.planned
        ? compare(options.planned, b.amount, b.currentSpend?.currency, evidence, metrics)
        : null;
      if (enabled.length === 0) {
        return {
          status: 'fail',
          summary: `budget ${b.name} has no enabled alert${over ? `; ${over}` : ''}`,
          metrics,
          evidence,
        };
      }
      if (over) return { status: 'fail', summary: over, metrics, evidence };
      if (b.amount !== options.configuredMonthly) {
        return {
          status: 'warn',
          summary: `budget ${b.name} is ${b.amount}, the environment says ${options.configuredMonthly}: align them`,
          metrics,
          evidence,
        };
      }
      if (!enabled.some((n) => n.threshold < early)) {
        return { status: 'warn', summary: `no alert before ${early} % of the budget`, metrics, evidence };
      }
      const thresholds = enabled.map((n) => `${n.threshold} %`).join(', ');
      return { status: 'ok', summary: `budget ${b.amount} with alerts at ${thresholds}`, metrics, evidence };
    },
  };
}

/** Adds the model's expectation to the evidence; the failure summary when it exceeds the budget. */
function compare(
  planned: PlannedCost,
  amount: number,
  budgetCurrency: string | undefined,
  evidence: string[],
  metrics: Record<string, number>,
): string | null {
  if (typeof planned === 'string') {
    evidence.push(`model: not compared (${planned})`);
    return null;
  }
  if (budgetCurrency && budgetCurrency.toUpperCase() !== planned.currency.toUpperCase()) {
    evidence.push(`model: in ${planned.currency}, the budget in ${budgetCurrency}: not compared`);
    return null;
  }
  const money = (n: number) => n.toFixed(2);
  const azure = planned.components.filter((c) => c.azure);
  const outside = planned.components.filter((c) => !c.azure);
  const total = azure.reduce((a, c) => a + c.monthly, 0);
  const list = (cs: typeof azure) => cs.map((c) => `${c.title} ${money(c.monthly)}`).join(', ');
  evidence.push(
    `model at the planned load (${planned.basis.join('; ')}): Azure ${money(total)} ${planned.currency} a month: ${list(azure)}`,
    `not on Azure's bill: ${list(outside)}`,
  );
  metrics.model_expected_monthly = Math.round(total * 100) / 100;
  if (total <= amount) return null;
  const top = [...azure].sort((a, b) => b.monthly - a.monthly).filter((c) => c.monthly > 0);
  return (
    `the model expects ${money(total)} ${planned.currency} a month on Azure at the planned load, over the ${amount} budget: ` +
    list(top)
  );
}
