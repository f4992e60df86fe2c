/**
 * Reconciles one cadence run's check results with the incident store: load, plan (pure), carry out.
 * A failed write is reported in the summary and does not stop the other writes.
 */
import type { CheckResult } from '../engine/check.js';
import { planIncidents, type HeldBack } from './plan.js';
import type { IncidentPolicy } from './policy.js';
import type { IncidentMode, IncidentStore } from './store.js';

export interface IncidentRef {
  fingerprint: string;
  number: number;
  url: string;
}

export interface IncidentSummary {
  mode: IncidentMode;
  env: string;
  opened: IncidentRef[];
  /** Issues rewritten this run; `commented` when something changed. */
  updated: (IncidentRef & { commented: boolean })[];
  closed: (IncidentRef & { reason: 'resolved' | 'duplicate'; outageMs?: number; duplicateOf?: number })[];
  heldBack: HeldBack[];
  /** Writes skipped because another run changed the issue first. */
  concurrent: IncidentRef[];
  errors: string[];
}

export async function reconcileIncidents(
  results: readonly CheckResult[],
  store: IncidentStore,
  policy: IncidentPolicy,
  now: Date | number = Date.now(),
): Promise<IncidentSummary> {
  const summary: IncidentSummary = {
    mode: store.mode,
    env: store.env,
    opened: [],
    updated: [],
    closed: [],
    heldBack: [],
    concurrent: [],
    errors: [],
  };
  if (store.mode === 'off') return summary;
  const at = now instanceof Date ? now : new Date(now);

  return store.session(async (session) => {
    const snapshot = await session.load();
    const plan = planIncidents(snapshot, results, policy, {
      env: store.env,
      now: at,
      playbookWorkflowUrl: store.playbookWorkflowUrl,
    });
    summary.heldBack = plan.heldBack;
    const trackers = { ...plan.trackers };
    let trackersChanged = plan.trackersChanged;
    const fail = (what: string, error: unknown) =>
      summary.errors.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);

    for (const action of plan.actions) {
      const ref = { fingerprint: action.fingerprint };
      try {
        if (action.kind === 'open') {
          const issue = await session.open(action);
          if (issue.duplicateOf) {
            summary.concurrent.push({ ...ref, ...issue.duplicateOf });
            summary.closed.push({
              ...ref,
              ...issue,
              reason: 'duplicate',
              duplicateOf: issue.duplicateOf.number,
            });
          } else summary.opened.push({ ...ref, number: issue.number, url: issue.url });
        } else {
          const outcome =
            action.kind === 'update' ? await session.update(action) : await session.close(action);
          const issue = { ...ref, number: action.number, url: action.url };
          if (outcome === 'concurrent') summary.concurrent.push(issue);
          else if (action.kind === 'update')
            summary.updated.push({ ...issue, commented: action.comment !== null });
          else
            summary.closed.push({
              ...issue,
              reason: action.reason,
              ...(action.outageMs !== undefined ? { outageMs: action.outageMs } : {}),
              ...(action.duplicateOf !== undefined ? { duplicateOf: action.duplicateOf } : {}),
            });
        }
      } catch (error) {
        if (action.kind === 'open') {
          // Keep counting so the next run tries again.
          trackers[action.fingerprint] = action.tracker;
          trackersChanged = true;
        }
        fail(`${action.kind} ${'number' in action ? `#${action.number}` : action.fingerprint}`, error);
      }
    }
    if (trackersChanged) {
      try {
        await session.saveTrackers(trackers);
      } catch (error) {
        fail('saving the failure counters', error);
      }
    }
    return summary;
  });
}

/** Markdown lines for the run report. */
export function formatIncidentSummary(summary: IncidentSummary): string[] {
  if (summary.mode === 'off') return ['Incidents: off.'];
  const link = (r: IncidentRef) => `[#${r.number}](${r.url}) \`${r.fingerprint}\``;
  const lines = [
    `Incidents (${summary.mode}, ${summary.env}): ${summary.opened.length} opened, ` +
      `${summary.updated.filter((u) => u.commented).length} commented, ${summary.closed.length} closed, ` +
      `${summary.heldBack.length} held back.`,
  ];
  for (const r of summary.opened) lines.push(`- opened ${link(r)}`);
  for (const r of summary.updated.filter((u) => u.commented)) lines.push(`- commented ${link(r)}`);
  for (const r of summary.closed)
    lines.push(
      `- closed ${link(r)}${r.reason === 'duplicate' ? ` as a duplicate of #${r.duplicateOf}` : ''}`,
    );
  for (const h of summary.heldBack)
    lines.push(`- held back by the per-run cap: \`${h.fingerprint}\` (${h.severity}): ${h.summary}`);
  for (const e of summary.errors) lines.push(`- error: ${e}`);
  return lines;
}
