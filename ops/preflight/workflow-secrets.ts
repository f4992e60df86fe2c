/**
 * Preflight item "secrets": every secret the environment's workflows read is set (named when not;
 * values never printed). What each workflow's command reads is found the way each command finds it
 * for itself before it runs (config/preflight.ts): the command is exercised once against a
 * recording copy of the environment, short of connecting. The cadences plan their checks, backup
 * builds its store, each playbook opens its sources, each deploy stage does what the deploy's
 * preflight stage does for it (deploy/preflight-stage.ts `exerciseStages`), and provision reads the
 * `azure` and `infra` sections. Each is its own exercise, so one that cannot be built does not hide
 * what the next one reads. The YAML settings they read come back too, for the placeholders item.
 */
import { backupStoreFor } from '../checks/shared-sources.js';
import { CADENCES, planCadence } from '../cadences.js';
import { databaseUrl, type OpsTarget } from '../config/ops-target.js';
import { preflightFindings, type PreflightFindings } from '../config/preflight.js';
import type { RunbookConfig } from '../config/runbook-config.js';
import type { SecretReader } from '../config/secrets.js';
import { exerciseStages } from '../deploy/preflight-stage.js';
import { SELECTABLE_STAGES } from '../deploy/stages.js';
import { openSources, PLAYBOOKS } from '../playbooks/cli.js';
import type { PreflightItem } from './items.js';

/** The commands the environment's workflows run (`--for` chooses among them). */
export const WORKFLOW_COMMANDS = [...CADENCES, 'backup', 'playbook', 'deploy', 'provision'] as const;
export type WorkflowCommand = (typeof WORKFLOW_COMMANDS)[number];

interface Part {
  command: WorkflowCommand;
  exercise: (target: OpsTarget, runbook: RunbookConfig) => unknown;
}

const PARTS: Part[] = [
  ...CADENCES.map((c) => ({
    command: c,
    exercise: (t: OpsTarget, runbook: RunbookConfig) => planCadence(c, t, runbook).close(),
  })),
  // What `ops backup` checks before it runs (backup/cli.ts).
  {
    command: 'backup',
    exercise: (t) => {
      databaseUrl(t);
      backupStoreFor(t);
    },
  },
  ...Object.values(PLAYBOOKS).map((p): Part => ({ command: 'playbook', exercise: (t) => openSources(p, t) })),
  ...SELECTABLE_STAGES.map((s): Part => ({
    command: 'deploy',
    exercise: (t, runbook) => exerciseStages(t, [s], runbook),
  })),
  // Provisioning signs in with OIDC (azure/login) and reads no secret, only these two sections.
  { command: 'provision', exercise: (t) => readAll({ azure: t.config.azure, infra: usedInfra(t) }) },
];

export interface WorkflowSecretFindings {
  /** Every secret the commands require, in the order first read. */
  required: string[];
  /** The missing ones, each with the commands that read it. */
  missing: { name: string; commands: WorkflowCommand[] }[];
  /** YAML settings the commands read that still hold a placeholder. */
  placeholders: PreflightFindings['placeholders'];
}

export async function workflowSecretFindings(
  target: OpsTarget,
  runbook: RunbookConfig,
  commands: readonly WorkflowCommand[] = WORKFLOW_COMMANDS,
): Promise<WorkflowSecretFindings> {
  const required = new Map<string, Set<WorkflowCommand>>();
  const missing = new Set<string>();
  const placeholders = new Map<string, PreflightFindings['placeholders'][number]>();
  for (const part of PARTS.filter((p) => commands.includes(p.command))) {
    const found = await preflightFindings(target, (t) =>
      part.exercise(
        { ...t, secrets: noting(t.secrets, (name) => add(required, name, part.command)) },
        runbook,
      ),
    );
    for (const name of found.missingSecrets) missing.add(name);
    for (const p of found.placeholders) placeholders.set(p.path, p);
  }
  return {
    required: [...required.keys()],
    missing: [...required]
      .filter(([name]) => missing.has(name))
      .map(([name, by]) => ({ name, commands: [...by] })),
    placeholders: [...placeholders.values()],
  };
}

export function secretsItem(
  found: WorkflowSecretFindings,
  envName: string,
  commands: readonly WorkflowCommand[],
): PreflightItem {
  const which = commands.length === WORKFLOW_COMMANDS.length ? 'the workflows' : commands.join(', ');
  if (!found.missing.length)
    return {
      item: 'secrets',
      status: 'ok',
      detail: found.required.length
        ? `all ${found.required.length} secrets read by ${which} are set`
        : `no secret is read by ${which}`,
    };
  return {
    item: 'secrets',
    status: 'fail',
    detail:
      `${found.missing.length} of ${found.required.length} secrets read by ${which} are not set: ` +
      found.missing.map((m) => `${m.name} (${m.commands.join(', ')})`).join(', ') +
      `: make each a secret of the GitHub environment "${envName}" and pass it to the workflow steps ` +
      'that read it; to run those commands from a laptop, export them (docs/ops.md#secrets, docs/adopt.md)',
  };
}

function add<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
  map.set(key, (map.get(key) ?? new Set<V>()).add(value));
}

/** `reader`, telling `note` the name of each secret read as required (`read`, not `readOptional`). */
function noting(reader: SecretReader, note: (name: string) => void): SecretReader {
  return {
    ...reader,
    read(name) {
      note(name);
      return reader.read(name);
    },
  };
}

/** The infra settings provisioning uses: the reverse proxy's only when it is enabled. */
function usedInfra(t: OpsTarget): unknown {
  const infra = t.config.infra;
  if (!infra) return undefined;
  const { reverseProxy, ...rest } = infra;
  return reverseProxy?.enabled ? { ...rest, reverseProxy } : rest;
}

/** Reads every value under `value`, so the recording copy of the YAML notes each one. */
function readAll(value: unknown): void {
  if (value === null || typeof value !== 'object') return;
  for (const key of Object.keys(value)) readAll((value as Record<string, unknown>)[key]);
}
