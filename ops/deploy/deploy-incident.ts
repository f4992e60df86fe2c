/**
 * A deploy that failed or was rolled back opens an incident issue for on-call, through the same
 * incident machinery as the cadences (one open issue per fingerprint, hidden state marker, closed
 * with the outage duration), with its own fingerprint per environment (`deploy/<env>`). The next
 * deploy that succeeds closes it. A refused deploy (a destructive migration without allowance, a
 * missing secret) changed nothing and leaves the incident as it is.
 */
import type { CheckResult } from '../engine/check.js';
import { incidentPolicy } from '../incidents/policy.js';
import { reconcileIncidents, type IncidentSummary } from '../incidents/reconcile.js';
import type { IncidentStore } from '../incidents/store.js';
import type { StageRunResult, StageVersions } from './stage-runner.js';

export const DEPLOY_CHECK_ID = 'deploy';

/** What the incident reads of a deploy (run.ts's DeployRun has it; declared here, not imported, as run.ts imports this). */
export interface DeployOutcome {
  env: string;
  head: string;
  stages: { stage: string; status: string; summary: string; ms: number; versions?: StageVersions }[];
  smoke?: { attempts: { newFailures: string[] }[] };
  rollback?: { reason: string; stages: { stage: string; result: StageRunResult }[] };
  database?: { details: string[] };
}

/** Opens on the first failed deploy, closes on the first good one; one issue per run at most. */
const DEPLOY_POLICY = incidentPolicy({ openAfter: 1, closeAfter: 1, maxOpenedPerRun: 1 });

export function deployFingerprint(env: string): string {
  return `${DEPLOY_CHECK_ID}/${env}`;
}

/** The deploy as one check result, or null when it says nothing about the environment's health. */
export function deployCheckResult(run: DeployOutcome, now: number, logUrl?: string): CheckResult | null {
  const failed = run.stages.filter((s) => s.status === 'failure');
  const refused = run.stages.some((s) => s.status === 'refused');
  if (!failed.length && !run.rollback && refused) return null;
  const bad = failed.length > 0 || run.rollback !== undefined;
  const short = run.head.slice(0, 7);
  const first = failed[0];
  const summary = run.rollback
    ? `deploy of ${short} rolled back: ${run.rollback.reason}`
    : first
      ? `deploy of ${short} failed at ${first.stage}: ${first.summary}`
      : `deploy of ${short} succeeded`;
  const evidence = [
    ...run.stages.map(
      (s) =>
        `${s.stage}: ${s.status}, ${s.summary}` +
        (s.versions ? ` (before ${s.versions.before ?? 'none'}, after ${s.versions.after ?? 'none'})` : ''),
    ),
    ...(run.smoke?.attempts.at(-1)?.newFailures.length
      ? [`smoke: new failures ${run.smoke.attempts.at(-1)!.newFailures.join(', ')}`]
      : []),
    ...(run.rollback?.stages.map((r) => `rolled back ${r.stage}: ${r.result.status}, ${r.result.summary}`) ??
      []),
    ...(run.database?.details.length
      ? [`migrations applied and not rolled back: ${run.database.details.join(', ')}`]
      : []),
    ...(logUrl ? [`workflow run and report artifact: ${logUrl}`] : []),
  ];
  return {
    id: DEPLOY_CHECK_ID,
    title: `Deploy to ${run.env}`,
    status: bad ? 'fail' : 'ok',
    severity: 'high',
    summary,
    metrics: {},
    evidence,
    fingerprint: deployFingerprint(run.env),
    charts: [],
    playbook: null,
    component: 'ops',
    startedAt: new Date(now).toISOString(),
    durationMs: run.stages.reduce((sum, s) => sum + s.ms, 0),
  };
}

export async function reconcileDeployIncident(
  run: DeployOutcome,
  store: IncidentStore,
  now: number,
  logUrl?: string,
): Promise<IncidentSummary | undefined> {
  const result = deployCheckResult(run, now, logUrl);
  if (!result) return undefined;
  return reconcileIncidents([result], store, DEPLOY_POLICY, now);
}
