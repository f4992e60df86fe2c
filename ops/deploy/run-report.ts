/**
 * The report of a deploy (run.ts): a Markdown page (the stage table with status, summary, versions
 * before and after, and timing; preflight's findings and the health before; what the database
 * stage applied; each stage's details; the smoke test's attempts and checks; the rollback; the
 * incident and the deployment record) or one JSON object. The caller redacts secrets.
 */
import type { DeployRun } from './run.js';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function renderRunMarkdown(run: DeployRun): string {
  const failed = run.stages.find((s) => s.status === 'failure' || s.status === 'refused');
  const verdict = failed ? `${failed.stage} ${failed.status}` : run.rollback ? 'rolled back' : 'success';
  const version = (v: string | null) => (v ? `\`${v.length === 40 ? v.slice(0, 7) : v}\`` : 'none');
  const lines = [
    `# Deploy of ${run.env}: ${run.selected.join(', ')}: ${verdict}`,
    '',
    `HEAD \`${run.head}\`.`,
    '',
    '| Stage | Status | Summary | Before | After | Time |',
    '| --- | --- | --- | --- | --- | --- |',
    ...run.stages.map(
      (s) =>
        `| ${s.stage} | ${s.status} | ${cell(s.summary)} | ${s.versions ? version(s.versions.before) : '-'} | ${s.versions ? version(s.versions.after) : '-'} | ${seconds(s.ms)} |`,
    ),
    '',
  ];
  const pre = run.preflight;
  if (pre) {
    lines.push('## Preflight', '');
    if (pre.missingSecrets.length) lines.push(`Missing secrets: ${pre.missingSecrets.join(', ')}.`, '');
    if (pre.placeholders.length)
      lines.push(
        `Placeholders: ${pre.placeholders.map((p) => `\`${p.path}\` (${p.reason})`).join(', ')}.`,
        '',
      );
    for (const r of pre.reachability)
      lines.push(`- ${r.what}: ${r.ok ? 'reachable' : '**not reachable**'} (${cell(r.detail)}, ${r.ms} ms)`);
    if (pre.reachability.length) lines.push('');
    const h = pre.healthBefore;
    lines.push(
      h
        ? `Health before the deploy: **${h.verdict}**${h.failing.length ? `; already failing: ${h.failing.join(', ')} (the deploy went on; the smoke test does not hold these against it)` : ''}.`
        : `Health before the deploy: ${pre.healthNote ?? 'not measured'}.`,
      '',
    );
  }
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
  }
  for (const stage of ['functions', 'vm'] as const) {
    const r = run.deployed[stage];
    if (r?.details) lines.push(`## ${stage === 'vm' ? 'VM' : 'Functions'}`, '', r.details.trimEnd(), '');
  }
  const rb = run.rollback;
  if (rb) {
    lines.push('## Rollback', '', `Why: ${rb.reason}.`, '');
    for (const { stage, result } of rb.stages)
      lines.push(
        `- ${stage}: ${result.status}, ${cell(result.summary)}` +
          (result.versions
            ? ` (from ${version(result.versions.before)} to ${version(result.versions.after)})`
            : ''),
      );
    lines.push('');
    if (rb.smoke)
      lines.push(`Smoke test after the rollback: **${rb.smoke.verdict}** (${cell(rb.smoke.summary)}).`, '');
    if (run.database?.details.length)
      lines.push(
        `Not rolled back (forward only): the migrations applied, ${run.database.details.map((f) => `\`${f}\``).join(', ')}.`,
        '',
      );
  }
  const inc = run.incident;
  if (inc) {
    const parts = [
      ...inc.opened.map((o) => `opened [#${o.number}](${o.url})`),
      ...inc.updated.map((o) => `updated [#${o.number}](${o.url})`),
      ...inc.closed.map((o) => `closed [#${o.number}](${o.url})`),
      ...inc.errors.map((e) => `error: ${e}`),
    ];
    lines.push(`Incident (${inc.mode}): ${parts.length ? parts.join(', ') : 'nothing to change'}.`, '');
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
    preflight: run.preflight ?? null,
    database: run.database ?? null,
    deployed: Object.fromEntries(
      Object.entries(run.deployed).map(([k, v]) => [k, { ...v, details: undefined }]),
    ),
    smoke: run.smoke ? { ...run.smoke, markdown: undefined } : null,
    rollback: run.rollback
      ? {
          ...run.rollback,
          smoke: run.rollback.smoke ? { ...run.rollback.smoke, markdown: undefined } : undefined,
        }
      : null,
    incident: run.incident ?? null,
    allowances: run.allowances,
    deployment: run.deployment,
    plan: run.plan,
    // The Markdown report whole, so a consumer of --json (the action) shows exactly what the CLI would.
    markdown: renderRunMarkdown(run),
  })}\n`;
}
