/**
 * One minute of the uptime probe: run the uptime checks, record them, tell GitHub about state
 * changes with one `repository_dispatch` (event type `probe-state-changed`; the uptime-watchdog
 * workflow reconciles incidents on it), and prune old runs. A failed dispatch leaves the changes
 * pending for the next run; it never fails the recording.
 */
import type pg from 'pg';
import type { Check, CheckResult } from '../../../ops/engine/check.js';
import { runChecks } from '../../../ops/engine/run-checks.js';
import { markDispatched, pruneProbeRuns, recordProbeRun, type StateChange } from './record-probe.js';

export const PROBE_EVENT_TYPE = 'probe-state-changed';

export type Dispatch = (eventType: string, payload: { changes: StateChange[]; at: string }) => Promise<void>;

export interface ProbeRun {
  results: CheckResult[];
  changes: StateChange[];
  dispatched: boolean;
  dispatchError?: string;
  pruned: number;
}

export async function runUptimeProbe(deps: {
  pool: pg.Pool;
  checks: Check[];
  dispatch: Dispatch | null;
  now?: () => number;
  /** Per-check time budget: the whole run must fit well inside the one-minute timer. */
  timeoutMs?: number;
  keepDays?: number;
}): Promise<ProbeRun> {
  const now = deps.now ?? Date.now;
  const results = await runChecks(deps.checks, { now, timeoutMs: deps.timeoutMs ?? 15_000 });
  const at = new Date(now());
  const changes = await recordProbeRun(deps.pool, results, at);
  let dispatched = false;
  let dispatchError: string | undefined;
  if (changes.length > 0 && deps.dispatch) {
    try {
      await deps.dispatch(PROBE_EVENT_TYPE, { changes, at: at.toISOString() });
      await markDispatched(
        deps.pool,
        changes.map((c) => c.checkId),
      );
      dispatched = true;
    } catch (error) {
      dispatchError = (error as Error).message;
    }
  }
  const pruned = await pruneProbeRuns(deps.pool, new Date(at.getTime() - (deps.keepDays ?? 30) * 86_400_000));
  return { results, changes, dispatched, dispatchError, pruned };
}
