/** The plan as Markdown (job summary, CLI) in the manner of the ops reports, or as JSON. */
import { DEPLOY_STAGES, NOT_DEPLOYED, type Deployable } from './deployables.js';
import { short, type DeployPlan, type PlanBase, type StagePlan } from './plan.js';

const RUNS: Record<StagePlan['run'], string> = { yes: 'yes', no: 'no', 'if-smoke-fails': 'if smoke fails' };
const LISTED = 20;

export function renderPlanMarkdown(plan: DeployPlan): string {
  const verdict = plan.deploys.length ? plan.deploys.join(', ') : 'nothing to deploy';
  const lines = [`# Deploy plan for ${plan.env}: ${verdict}`, '', `HEAD \`${plan.head}\`.`, ''];
  const bases = DEPLOY_STAGES.map((s) => [s, plan.stages.find((p) => p.stage === s)?.base] as const);
  const described = bases.map(([s, b]) => [s, b ? describeBase(b, plan.env) : 'none'] as const);
  if (new Set(described.map(([, d]) => d)).size === 1) lines.push(`Base: ${described[0]![1]}.`);
  else lines.push('Bases:', '', ...described.map(([s, d]) => `- ${s}: ${d}`));
  lines.push('');
  if (plan.changed.length || bases.some(([, b]) => b?.sha)) lines.push(changeLine(plan), '');
  lines.push(
    '| Stage | Runs | Why |',
    '| --- | --- | --- |',
    ...plan.stages.map((s) => `| ${s.stage} | ${RUNS[s.run]} | ${cell(s.reason)} |`),
  );
  const withFiles = plan.stages.filter((s) => s.run === 'yes' && s.files?.length);
  if (withFiles.length) {
    lines.push('', '## What changed, by stage');
    for (const s of withFiles) {
      lines.push('', `### ${s.stage} (${s.files!.length})`, '');
      lines.push(...s.files!.slice(0, LISTED).map((f) => `- \`${f}\``));
      if (s.files!.length > LISTED) lines.push(`- and ${s.files!.length - LISTED} more`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function renderPlanJson(plan: DeployPlan): string {
  return `${JSON.stringify(plan)}\n`;
}

function describeBase(base: PlanBase, env: string): string {
  if (base.source === 'from') return `\`${short(base.sha!)}\` (--from)`;
  if (base.source === 'deployment')
    return `\`${short(base.sha!)}\`, deployment ${base.deployment!.id} of ${base.deployment!.createdAt}, the last successful one of ${env}${base.note ? ` (${base.note})` : ''}`;
  return `none (${base.note ?? 'no base'}), so everything is planned`;
}

function changeLine(plan: DeployPlan): string {
  const n = plan.changed.length;
  if (n === 0) return 'No path changed.';
  const nd = plan.notDeployed;
  const sample = (paths: string[]) =>
    `${paths
      .slice(0, 5)
      .map((p) => `\`${p}\``)
      .join(', ')}${paths.length > 5 ? `, and ${paths.length - 5} more` : ''}`;
  const changed = `${n} ${n === 1 ? 'path' : 'paths'} changed`;
  if (nd.length === n) return `${changed}, none of them deployed: ${sample(nd)}.`;
  if (nd.length === 0) return `${changed}, all deployed.`;
  return `${changed}; not deployed: ${sample(nd)}.`;
}

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

/** docs/deploy.md's table of deployables, between its `deployables-table` markers. */
export function renderDeployablesTable(deployables: readonly Deployable[]): string {
  const code = (items: readonly string[]) => items.map((i) => `\`${i}\``).join(', ');
  return [
    '| Stage | Deploys | Paths | Bundles (every repository file they pull in) | Settings of `runbook/environments/<env>.yaml` | Rollback |',
    '| --- | --- | --- | --- | --- | --- |',
    ...deployables.map(
      (d) =>
        `| ${d.stage} | ${d.what} | ${code(d.paths)} | ${d.bundles.length ? code(d.bundles) : '-'} | ${d.settings.length ? code(d.settings) : '-'} | ${d.rolledBack || 'none (forward only)'} |`,
    ),
    '',
    `Never deployed unless a bundle pulls them in: ${code(NOT_DEPLOYED)}.`,
  ].join('\n');
}
