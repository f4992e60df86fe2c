/**
 * The report of a deploy (run.ts): a Markdown page (the stage table with status, summary and
 * timing; what the database stage applied; a refusal or failure whole; the smoke test's attempts
 * and checks; the deployment record) or one JSON object. The caller redacts secrets.
 */
import type { DeployRun } from './run.js';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function renderRunMarkdown(run: DeployRun): string {
  const failed = run.stages.find((s) => s.status === 'failure' || s.status === 'refused');
  const verdict = failed ? `${failed.stage} ${failed.status}` : 'success';
  const lines = [
    `# Deploy of ${run.env}: ${run.selected.join(', ')}: ${verdict}`,
    '',
    `HEAD \`${run.head}\`.`,
    '',
    '| Stage | Status | Summary | Time |',
    '| --- | --- | --- | --- |',
    ...run.stages.map((s) => `| ${s.stage} | ${s.status} | ${cell(s.summary)} | ${seconds(s.ms)} |`),
    '',
  ];
  const db = run.database;
  if (db) {
    const base = run.plan.stages.find((s) => s.stage === 'database')?.base;
    lines.push('## Database', '');
    lines.push(
      `Base: ${base?.sha ? `\`${base.sha.slice(0, 7)}\` (${base.source})` : 'none (first deploy)'}.` +
        ` Schema before: ${db.versionBefore ?? 'none'}; after: ${db.versionAfter ?? 'none'}.`,
      '',
    );
    lines.push(
      db.pending.length
        ? `Pending before the stage: ${db.pending.map((f) => `\`${f}\``).join(', ')}.`
        : 'Pending before the stage: none.',
      '',
    );
    lines.push('Applied:', '');
    if (db.details.length) lines.push(...db.details.map((f) => `- \`${f}\``));
    else lines.push('- none');
    lines.push('');
    const allowed = [...new Set([...run.allowances.flags, ...run.allowances.commits])];
    if (allowed.length)
      lines.push(
        `Allowed to destroy data: ${allowed.map((f) => `\`${f}\``).join(', ')}` +
          ` (--allow-destructive: ${run.allowances.flags.length}, commit trailers: ${run.allowances.commits.length}).`,
        '',
      );
    if (db.backup)
      lines.push(
        `Backup before applying: \`${db.backup.name}\` in ${db.backup.store} (${db.backup.sizeBytes} bytes).`,
        '',
      );
    const t = db.timings;
    const parts = [
      `pending ${t.pendingMs} ms`,
      ...(t.guardMs !== undefined ? [`guard ${t.guardMs} ms`] : []),
      ...(t.backupMs !== undefined ? [`backup ${t.backupMs} ms`] : []),
      ...(t.pushMs !== undefined ? [`push ${t.pushMs} ms`] : []),
      `total ${t.totalMs} ms`,
    ];
    lines.push(`Timings: ${parts.join(', ')}.`, '');
    if (db.error) {
      lines.push(db.status === 'refused' ? '### Refused' : '### Failure', '', '```text', db.error, '```', '');
    }
  }
  const smoke = run.smoke;
  if (smoke) {
    lines.push('## Smoke', '');
    lines.push(
      `The \`${smoke.cadence}\` cadence against ${run.env}, incidents off: **${smoke.verdict}** after ` +
        `${smoke.attempts.length} of at most ${smoke.maxAttempts} attempts, ${seconds(smoke.intervalMs)} apart.`,
      '',
      '| Attempt | Verdict | Failing checks | Time | Report |',
      '| --- | --- | --- | --- | --- |',
      ...smoke.attempts.map(
        (a) =>
          `| ${a.attempt} | ${a.verdict} | ${a.failing.length ? a.failing.join(', ') : '-'} | ${seconds(a.ms)} | \`${a.report}\` |`,
      ),
      '',
      `Checks of the last attempt:`,
      '',
      '| Check | Status | Summary |',
      '| --- | --- | --- |',
      ...smoke.results.map((r) => `| ${r.id} | ${r.status} | ${cell(r.summary)} |`),
      '',
    );
    if (smoke.status === 'failure') lines.push(`**Rollback:** ${smoke.rollback}.`, '');
  }
  const d = run.deployment;
  lines.push(
    `Deployment record: ${
      d.id !== undefined
        ? `GitHub deployment ${d.id} (${d.state ?? 'no status'})${d.note ? `; ${d.note}` : ''}`
        : `none (${d.note})`
    }.`,
    '',
  );
  return `${lines.join('\n')}`;
}

export function renderRunJson(run: DeployRun): string {
  return `${JSON.stringify({
    env: run.env,
    head: run.head,
    selected: run.selected,
    stages: run.stages,
    database: run.database ?? null,
    smoke: run.smoke ? { ...run.smoke, markdown: undefined } : null,
    allowances: run.allowances,
    deployment: run.deployment,
    plan: run.plan,
  })}\n`;
}
