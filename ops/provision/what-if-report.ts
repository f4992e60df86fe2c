/**
 * A what-if result (Resource Manager's WhatIfOperationResult) as a Markdown change list: grouped
 * by change type (create, modify with each property's before and after, delete, deploy,
 * unsupported, ignore, no change), counted, readable in a terminal and in a job summary.
 */
import type {
  WhatIfChange,
  WhatIfOperationResult,
  WhatIfPropertyChange,
} from '@azure/arm-resourcesdeployments';
import type { PlannedResource } from './templates.js';

const GROUPS: { type: WhatIfChange['changeType']; title: string; about?: string }[] = [
  { type: 'Create', title: 'Create' },
  { type: 'Modify', title: 'Modify' },
  { type: 'Delete', title: 'Delete' },
  { type: 'Deploy', title: 'Deploy', about: 'redeployed; what changes is not known in advance' },
  { type: 'Unsupported', title: 'Unsupported', about: 'what-if cannot predict these' },
  { type: 'Ignore', title: 'Ignore', about: 'in Azure but not in the template: left as they are' },
  { type: 'NoChange', title: 'No change' },
];

/** A property change's sign, written inside its code span (a bare + or - starts a Markdown list). */
const SIGNS: Record<WhatIfPropertyChange['propertyChangeType'], string> = {
  Create: '+',
  Delete: '-',
  Modify: '~',
  Array: '~',
  NoEffect: '=',
};

export interface WhatIfHeader {
  env: string;
  subscriptionId: string;
  location: string;
  deploymentName: string;
  /** The template's resources with whether this deployment contains them (templates.ts). */
  planned?: PlannedResource[];
}

export interface WhatIfCounts {
  create: number;
  modify: number;
  delete: number;
  other: number;
  unchanged: number;
}

export function countChanges(result: WhatIfOperationResult): WhatIfCounts {
  const changes = result.changes ?? [];
  const n = (...types: string[]) => changes.filter((c) => types.includes(c.changeType)).length;
  return {
    create: n('Create'),
    modify: n('Modify'),
    delete: n('Delete'),
    other: n('Deploy', 'Unsupported'),
    unchanged: n('Ignore', 'NoChange'),
  };
}

export function renderWhatIf(result: WhatIfOperationResult, header: WhatIfHeader): string {
  const changes = result.changes ?? [];
  const lines = [
    `## What-if: ${header.env}`,
    '',
    `Deployment \`${header.deploymentName}\` at subscription ${header.subscriptionId} (${header.location}), ` +
      'mode Incremental: nothing the template omits is deleted. Nothing was changed.',
  ];
  const skipped = (header.planned ?? []).filter((r) => !r.deployed);
  if (skipped.length) {
    lines.push('', 'Not in this deployment (their condition is false):');
    for (const r of skipped) lines.push(`- \`${r.type}\` ${r.name}: \`${r.condition}\``);
  }
  const c = countChanges(result);
  const byType = (type: string) => changes.filter((x) => x.changeType === type).length;
  lines.push(
    '',
    `**${c.create} to create, ${c.modify} to modify, ${c.delete} to delete, ${byType('Ignore')} ignored, ${byType('NoChange')} unchanged**` +
      (c.other ? ` (${c.other} deployed or unsupported)` : ''),
  );
  for (const group of GROUPS) {
    const members = changes.filter((x) => x.changeType === group.type).sort(byResource);
    if (!members.length) continue;
    lines.push('', `### ${group.title} (${members.length})${group.about ? `: ${group.about}` : ''}`, '');
    for (const change of members) {
      const { type, name, where } = describeResource(change);
      const reason = change.unsupportedReason ? ` (${change.unsupportedReason})` : '';
      lines.push(`- \`${type}\` **${name}**${where}${reason}`);
      if (group.type === 'Modify') for (const d of change.delta ?? []) lines.push(...renderDelta(d, '', 1));
    }
  }
  if (!changes.length) lines.push('', 'No resources in the result.');
  return `${lines.join('\n')}\n`;
}

function renderDelta(change: WhatIfPropertyChange, parent: string, depth: number): string[] {
  const path = !parent
    ? change.path
    : /^\d+$/.test(change.path)
      ? `${parent}[${change.path}]`
      : `${parent}.${change.path}`;
  const indent = '  '.repeat(depth);
  const sign = SIGNS[change.propertyChangeType] ?? '?';
  let text: string;
  switch (change.propertyChangeType) {
    case 'Create':
      text = `${show(change.after)}`;
      break;
    case 'Delete':
      text = `${show(change.before)} (removed)`;
      break;
    case 'Modify':
      text = `${show(change.before)} → ${show(change.after)}`;
      break;
    case 'NoEffect':
      text = `${show(change.after)} (no effect: Azure keeps its own value)`;
      break;
    default:
      text = 'changes:';
  }
  const lines = [`${indent}- \`${sign} ${path}\`: ${text}`];
  for (const child of change.children ?? []) lines.push(...renderDelta(child, path, depth + 1));
  return lines;
}

/** A value in one line: JSON, cut at 120 characters. */
function show(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = JSON.stringify(value);
  return `\`${text.length > 120 ? `${text.slice(0, 117)}...` : text}\``;
}

/** Type, name and resource group from a resource id (child names joined with /). */
export function describeResource(change: WhatIfChange): { type: string; name: string; where: string } {
  const id = change.resourceId ?? '';
  const group = /\/resourceGroups\/([^/]+)/i.exec(id)?.[1];
  const provider = /\/providers\/(.+)$/i.exec(id)?.[1];
  if (!provider) {
    // A resource group itself: /subscriptions/<id>/resourceGroups/<name>.
    if (group && /\/resourceGroups\/[^/]+$/i.test(id))
      return { type: 'Microsoft.Resources/resourceGroups', name: group, where: '' };
    return { type: change.resourceType ?? 'resource', name: id || '(no id)', where: '' };
  }
  const parts = provider.split('/');
  const namespace = parts[0]!;
  const types: string[] = [];
  const names: string[] = [];
  for (let i = 1; i + 1 < parts.length; i += 2) {
    types.push(parts[i]!);
    names.push(parts[i + 1]!);
  }
  return {
    type: [namespace, ...types].join('/'),
    name: names.join('/'),
    where: group ? ` in ${group}` : ' (subscription)',
  };
}

function byResource(a: WhatIfChange, b: WhatIfChange): number {
  return (a.resourceId ?? '').localeCompare(b.resourceId ?? '');
}
