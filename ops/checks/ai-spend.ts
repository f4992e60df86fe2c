/**
 * Weekly: AI token spend this month per tenant and model, against each tenant's plan allowance
 * and the platform's monthly AI budget, projected linearly to the end of the month.
 */
import type { Check } from '../engine/check.js';
import type { PlatformDbSource } from '../sources/platform-db.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const AI_SPEND_TITLE = 'AI token spend, month to date';

export function aiSpendCheck(source: PlatformDbSource, options: { monthlyBudgetUsd?: number } = {}): Check {
  return {
    id: 'weekly.ai-spend',
    title: AI_SPEND_TITLE,
    severity: 'medium',
    playbook: 'cost-spike',
    async run({ now }) {
      const at = new Date(now());
      const monthStart = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
      const monthEnd = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1));
      const elapsed = (at.getTime() - monthStart.getTime()) / (monthEnd.getTime() - monthStart.getTime());
      const rows = await source.aiUsage(monthStart, at);

      const tenants = new Map<string, { tokens: number; costUsd: number; allowance: number }>();
      for (const r of rows) {
        const t = tenants.get(r.tenant) ?? { tokens: 0, costUsd: 0, allowance: r.allowance };
        t.tokens += r.tokens;
        t.costUsd += r.costUsd;
        tenants.set(r.tenant, t);
      }
      const project = (x: number) => (elapsed > 0 ? x / elapsed : x);
      const over = [...tenants].filter(([, t]) => t.tokens > t.allowance).map(([name]) => name);
      const heading = [...tenants]
        .filter(([, t]) => t.tokens <= t.allowance && project(t.tokens) > t.allowance)
        .map(([name]) => name);
      const costUsd = rows.reduce((a, r) => a + r.costUsd, 0);
      const tokens = rows.reduce((a, r) => a + r.tokens, 0);
      const projectedUsd = project(costUsd);
      const round2 = (x: number) => Math.round(x * 100) / 100;
      const metrics = { tokens, cost_usd: round2(costUsd), projected_usd: round2(projectedUsd) };
      const evidence = [
        ...[...tenants].map(
          ([name, t]) =>
            `${name}: ${t.tokens} of ${t.allowance} tokens (${t.allowance ? Math.round((100 * t.tokens) / t.allowance) : '-'}%), $${round2(t.costUsd)}`,
        ),
        ...rows.map((r) => `${r.tenant} / ${r.model}: ${r.tokens} tokens, $${round2(r.costUsd)}`),
      ];
      const overBudget = options.monthlyBudgetUsd !== undefined && projectedUsd > options.monthlyBudgetUsd;
      if (over.length > 0) {
        return {
          status: 'fail',
          summary: `over their plan's AI allowance: ${over.join(', ')}`,
          metrics,
          evidence,
          fingerprint: `weekly.ai-spend:${over.join(',')}`,
        };
      }
      if (heading.length > 0 || overBudget) {
        const parts = [
          ...(heading.length ? [`on course to exceed their allowance: ${heading.join(', ')}`] : []),
          ...(overBudget
            ? [`projected $${round2(projectedUsd)} over the $${options.monthlyBudgetUsd} budget`]
            : []),
        ];
        return { status: 'warn', summary: parts.join('; '), metrics, evidence };
      }
      return {
        status: 'ok',
        summary: `${tokens} tokens, $${round2(costUsd)} this month (projected $${round2(projectedUsd)})`,
        metrics,
        evidence,
      };
    },
  };
}
