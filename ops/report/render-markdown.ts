/**
 * A run's report as Markdown (job summary, artifact, CLI): a one-line verdict, a table of checks,
 * then details with evidence for every check that is not ok.
 */
import type { Chart, CheckResult, CheckStatus } from '../engine/check.js';
import { STATUSES_WORST_FIRST, worstStatus } from '../engine/status.js';

const MARK: Record<CheckStatus, string> = {
  fail: 'FAIL',
  error: 'ERROR',
  warn: 'WARN',
  ok: 'ok',
  skipped: 'skipped',
};

/** The worst status of the run; `skipped` when nothing ran. */
export function verdict(results: readonly CheckResult[]): CheckStatus {
  return worstStatus(
    results.map((r) => r.status),
    'skipped',
  );
}

export function renderMarkdown(run: { title: string; at: Date; results: readonly CheckResult[] }): string {
  const v = verdict(run.results);
  const counts = STATUSES_WORST_FIRST.map(
    (s) => [s, run.results.filter((r) => r.status === s).length] as const,
  )
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`)
    .join(', ');
  const lines = [
    `# ${run.title}: ${MARK[v]}`,
    '',
    `${run.at.toISOString()} - ${run.results.length} checks: ${counts || 'none'}`,
    '',
    '| Check | Status | Summary | Took |',
    '| --- | --- | --- | --- |',
    ...run.results.map(
      (r) =>
        `| ${cell(r.title)} (\`${r.id}\`) | ${MARK[r.status]} | ${cell(r.summary)} | ${seconds(r.durationMs)} |`,
    ),
  ];
  const notOk = run.results.filter((r) => r.status !== 'ok' && r.status !== 'skipped');
  if (notOk.length > 0) {
    lines.push('', '## Details');
    for (const r of notOk) {
      lines.push('', `### ${MARK[r.status]}: ${r.title}`, '', r.summary);
      if (r.playbook) lines.push('', `Playbook: \`${r.playbook}\` (runbook/RUNBOOK.md, section 7)`);
      const metrics = Object.entries(r.metrics);
      if (metrics.length) lines.push('', metrics.map(([k, n]) => `${k} = ${n}`).join(', '));
      if (r.evidence.length) lines.push('', ...r.evidence.map((e) => `- ${cell(e)}`));
    }
  }
  const charted = run.results.filter((r) => r.charts.length > 0);
  if (charted.length > 0) {
    lines.push('', '## Charts');
    for (const r of charted) for (const chart of r.charts) lines.push('', ...renderChart(chart));
  }
  return `${lines.join('\n')}\n`;
}

/** A Mermaid `xychart-beta` block (GitHub renders it in job summaries, issues and files). */
export function renderChart(chart: Chart): string[] {
  const values = chart.series.flatMap((s) => s.values).filter(Number.isFinite);
  const max = values.length ? Math.max(...values) : 0;
  const min = Math.min(0, ...values);
  const top = max > min ? max * 1.1 : min + 1;
  return [
    '```mermaid',
    'xychart-beta',
    `  title ${quote(chart.title)}`,
    `  x-axis [${chart.xLabels.map(quote).join(', ')}]`,
    `  y-axis ${quote(chart.yLabel)} ${round(min)} --> ${round(top)}`,
    ...chart.series.map(
      (s) => `  ${s.kind} [${s.values.map((v) => (Number.isFinite(v) ? round(v) : 0)).join(', ')}]`,
    ),
    '```',
  ];
}

function quote(text: string): string {
  return `"${text.replace(/"/g, "'")}"`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

/** Table-safe text: no pipes or line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
