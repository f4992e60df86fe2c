/**
 * Go-live: a cost budget exists with alert thresholds (runbook/RUNBOOK.md go-live: "cost dashboard and
 * budget alert active"). Fail when the budget cannot be read or has no enabled notification; warn when it has
 * no early warning (every enabled threshold at or above `earlyWarnPct`) or its amount differs from
 * the environment's configured monthly budget.
 */
import type { Check } from '../engine/check.js';
import type { AzureCostSource } from '../sources/azure-cost.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const BUDGET_ALERTS_TITLE = 'Cost budget with alert thresholds';

export function budgetAlertsCheck(
  source: Pick<AzureCostSource, 'budget'>,
  options: { configuredMonthly: number; earlyWarnPct?: number },
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
      const metrics = { amount: b.amount, notifications: enabled.length };
      if (enabled.length === 0) {
        return { status: 'fail', summary: `budget ${b.name} has no enabled alert`, metrics, evidence };
      }
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
