/**
 * A cadence's checks for one environment: runbook/runbook.yaml says which check ids run, with
 * which severity, playbook and thresholds; ops/checks/registry.ts builds each id for the
 * environment. A check the environment cannot have (no Azure in the sandbox) is `skipped` with the
 * reason; one it should have but cannot build (a secret is missing) is `error`, and the others
 * still run.
 */
import { NotConfiguredError, type OpsTarget } from './config/ops-target.js';
import { RUNBOOK_CADENCES, type RunbookCadence, type RunbookConfig } from './config/runbook-config.js';
import { CHECK_BUILDERS, Thresholds, type CheckBuilder } from './checks/registry.js';
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
  builders: Record<string, CheckBuilder> = CHECK_BUILDERS,
): CadencePlan {
  const shared = new SharedSources(target);
  const checks: Check[] = [];
  for (const id of runbook.cadences[cadence]) {
    const spec = runbook.checks[id]!;
    const builder = builders[id];
    if (!builder)
      throw new Error(`runbook.yaml names check ${id}, which ops/checks/registry.ts does not know`);
    const thresholds = new Thresholds({ ...spec.thresholds, ...target.config.thresholds[id] });
    let built: Check[];
    try {
      built = builder({ target, thresholds, shared });
    } catch (error) {
      built = [unbuildable(id, error)];
    }
    // The runbook, not the module, decides severity and playbook.
    checks.push(...built.map((c) => ({ ...c, severity: spec.severity, playbook: spec.playbook })));
  }
  return { checks, close: () => shared.close() };
}

function unbuildable(id: string, error: unknown): Check {
  const message = error instanceof Error ? error.message : String(error);
  return {
    id,
    title: id,
    severity: 'low',
    playbook: null,
    async run() {
      if (error instanceof NotConfiguredError) return { status: 'skipped', summary: message };
      throw new Error(`cannot build the check: ${message}`);
    },
  };
}
