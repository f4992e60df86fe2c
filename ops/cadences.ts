/**
 * A cadence's checks for one environment: runbook/runbook.yaml says which check ids run, with
 * which severity, playbook and thresholds; ops/checks/registry.ts builds each id for the
 * environment. A check the environment cannot have (no Azure in the sandbox) is `skipped` with the
 * reason; one it should have but cannot build (a secret is missing) is `error`, and the others
 * still run.
 */
import { NotConfiguredError, type OpsTarget } from './config/ops-target.js';
import { RUNBOOK_CADENCES, type RunbookCadence, type RunbookConfig } from './config/runbook-config.js';
import { CHECK_REGISTRY, Thresholds, type RegisteredCheck } from './checks/registry.js';
import { SharedSources } from './checks/shared-sources.js';
import type { Check } from './engine/check.js';

export const CADENCES = RUNBOOK_CADENCES;
export type Cadence = RunbookCadence;

export interface CadencePlan {
  checks: Check[];
  /** Releases what the sources hold (database pools, connections). */
  close(): Promise<void>;
}

export function planCadence(
  cadence: Cadence,
  target: OpsTarget,
  runbook: RunbookConfig,
  registry: Record<string, RegisteredCheck> = CHECK_REGISTRY,
): CadencePlan {
  const shared = new SharedSources(target);
  const checks: Check[] = [];
  for (const id of runbook.cadences[cadence]) {
    const spec = runbook.checks[id]!;
    const entry = registry[id];
    if (!entry) throw new Error(`runbook.yaml names check ${id}, which ops/checks/registry.ts does not know`);
    const thresholds = new Thresholds({ ...spec.thresholds, ...target.config.thresholds[id] });
    let built: Check[];
    try {
      built = entry.build({ target, thresholds, shared });
    } catch (error) {
      built = [unbuildable(id, entry.title, error)];
    }
    // The runbook, not the module, decides severity, component and playbook.
    checks.push(
      ...built.map((c) => ({
        ...c,
        severity: spec.severity,
        component: spec.component,
        playbook: spec.playbook,
      })),
    );
  }
  return { checks, close: () => shared.close() };
}

function unbuildable(id: string, title: string, error: unknown): Check {
  const message = error instanceof Error ? error.message : String(error);
  return {
    id,
    title,
    severity: 'low',
    playbook: null,
    async run() {
      if (error instanceof NotConfiguredError) return { status: 'skipped', summary: message };
      throw new Error(`cannot build the check: ${message}`);
    },
  };
}
