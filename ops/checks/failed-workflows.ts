/**
 * Daily: failed GitHub Actions runs in the last 24 hours. Any failure warns; it fails when a
 * critical workflow (backup, deploy, ... by file name) failed or when `failAtCount` runs failed.
 */
import type { Check } from '../engine/check.js';
import type { WorkflowRunsSource } from '../sources/github-workflow-runs.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const FAILED_WORKFLOWS_TITLE = 'Failed GitHub workflow runs';

export interface FailedWorkflowsOptions {
  /** Look-back window in hours (default 24). */
  windowHours?: number;
  /** This many failed runs fail the check (default 5). */
  failAtCount?: number;
  /** Workflow files (base name without extension) whose failure fails the check (default backup, deploy). */
  criticalWorkflows?: string[];
}

export function failedWorkflowsCheck(
  source: WorkflowRunsSource,
  options: FailedWorkflowsOptions = {},
): Check {
  const windowHours = options.windowHours ?? 24;
  const failAtCount = options.failAtCount ?? 5;
  const critical = options.criticalWorkflows ?? ['backup', 'deploy'];
  if (!(windowHours > 0 && windowHours <= 24 * 31))
    throw new Error('failed-workflows: windowHours must be in (0, 744]');
  if (!Number.isInteger(failAtCount) || failAtCount < 1)
    throw new Error('failed-workflows: failAtCount must be an integer >= 1');
  return {
    id: 'daily.failed-workflows',
    title: `${FAILED_WORKFLOWS_TITLE} (last ${windowHours} h)`,
    severity: 'medium',
    playbook: null,
    async run({ now, signal }) {
      const since = new Date(now() - windowHours * 3_600_000);
      const runs = await source.failedRuns(since, signal);
      const byWorkflow = new Map<string, number>();
      for (const r of runs) byWorkflow.set(r.name, (byWorkflow.get(r.name) ?? 0) + 1);
      const metrics = { failed_runs: runs.length, failed_workflows: byWorkflow.size };
      if (runs.length === 0)
        return {
          status: 'ok',
          summary: `no failed workflow runs since ${since.toISOString()}`,
          metrics,
          evidence: [],
        };
      const evidence = runs.map(
        (r) =>
          `${r.name} #${r.runNumber} (${r.event}${r.branch ? ` on ${r.branch}` : ''}) ${r.conclusion} at ${r.createdAt}: ${r.url}`,
      );
      const criticalFailed = [
        ...new Set(runs.filter((r) => critical.includes(baseName(r.path))).map((r) => r.name)),
      ];
      const names = [...byWorkflow].map(([name, n]) => (n > 1 ? `${name} (${n}x)` : name)).join(', ');
      const summary = `${runs.length} failed run(s): ${names}`;
      if (criticalFailed.length > 0)
        return {
          status: 'fail',
          summary: `${summary}; critical: ${criticalFailed.join(', ')}`,
          metrics,
          evidence,
        };
      if (runs.length >= failAtCount) return { status: 'fail', summary, metrics, evidence };
      return { status: 'warn', summary, metrics, evidence };
    },
  };
}

function baseName(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.ya?ml$/, '');
}
