/**
 * A deploy of HEAD: the plan, a GitHub deployment record around what follows (when GitHub is
 * configured), then preflight, each deploy stage the plan runs (database, functions, vm), the
 * smoke test judged against the health before, and the rollback when the smoke test or a stage
 * that can be put back fails: functions and vm go back to their previous releases, the smoke test
 * runs again, and the deploy's incident (deploy-incident.ts) carries the report. Migrations are
 * forward only: the report says which ran. `--stages` restricts the stages run (the plan still
 * decides whether each runs). The deployment's payload names the deployables this deploy brought
 * to HEAD, so a deploy of the database only is never taken as the base of the functions or the VM
 * (deployments.ts).
 */
import { runDatabaseStage, type DatabaseStageResult } from './database.js';
import type { DeployStage } from './deployables.js';
import { reconcileDeployIncident } from './deploy-incident.js';
import { createDeployment, setDeploymentStatus, type DeploymentsRepo } from './deployments.js';
import { resolveCommit, type GitRunner } from './git.js';
import { allowancesFromCommits } from './migration-guard-trailers.js';
import type { DeployPlan } from './plan.js';
import {
  runPreflightStage,
  type PreflightStage,
  type PreflightStageOptions,
  type PreflightStageResult,
} from './preflight-stage.js';
import { runSmokeStage, type SmokeStageOptions, type SmokeStageResult } from './smoke.js';
import { STAGES } from './stages.js';
import type { StageContext, StageRunner, StageRunResult, StageVersions } from './stage-runner.js';
import { ingestHealthUrl, type OpsTarget } from '../config/ops-target.js';
import type { IncidentSummary } from '../incidents/reconcile.js';
import type { IncidentStore } from '../incidents/store.js';

/** What --stages can run: the deploy stages, and the smoke test after them. */
export type RunStage = DeployStage | 'smoke';
/** The stages that can be put back; the order a rollback runs them in. */
const UNDOABLE = ['pages', 'vm', 'functions'] as const;
type UndoableStage = (typeof UNDOABLE)[number];

export type StageOutcomeStatus = 'success' | 'skipped' | 'refused' | 'failure';

export interface StageOutcome {
  stage: 'plan' | 'preflight' | RunStage | 'rollback';
  status: StageOutcomeStatus;
  summary: string;
  ms: number;
  versions?: StageVersions;
}

export interface DeploymentRecord {
  /** The deployment's id in GitHub, when one was made. */
  id?: number;
  /** The last status set (in_progress, success, failure), or why there is no record. */
  state?: 'in_progress' | 'success' | 'failure';
  note?: string;
}

export interface RollbackRun {
  /** Why it ran. */
  reason: string;
  stages: { stage: UndoableStage; result: StageRunResult }[];
  /** The smoke test after the rollback (when the deploy has one). */
  smoke?: SmokeStageResult;
}

export interface DeployRun {
  env: string;
  head: string;
  /** The stages asked for (--stages), or all of them. */
  selected: RunStage[];
  stages: StageOutcome[];
  plan: DeployPlan;
  /** The files allowed to destroy data: --allow-destructive, and the trailers in base..HEAD. */
  allowances: { flags: string[]; commits: string[] };
  preflight?: PreflightStageResult;
  database?: DatabaseStageResult;
  /** The functions and vm stages' results, by stage. */
  deployed: Partial<Record<UndoableStage, StageRunResult>>;
  smoke?: SmokeStageResult;
  rollback?: RollbackRun;
  incident?: IncidentSummary;
  deployment: DeploymentRecord;
}

export interface RunDeployOptions {
  target: OpsTarget;
  plan: DeployPlan;
  selected: RunStage[];
  planMs: number;
  git: GitRunner;
  /** The checkout: its supabase/ is what is applied, its commits carry the allowances. */
  root: string;
  allowDestructive: string[];
  /** The functions and vm stages (stage-runners.ts); a selected stage without one is refused. */
  runners: Partial<Record<UndoableStage, StageRunner>>;
  /** The smoke test's bounds and where its cadence reports go (smoke.ts). */
  smoke?: Omit<SmokeStageOptions, 'target' | 'log' | 'before'>;
  /** Preflight's probes and timeout (tests). */
  preflight?: Pick<PreflightStageOptions, 'probes' | 'timeoutMs'>;
  /** Where the deploy's incident goes; undefined: no incident. */
  incidents?: IncidentStore;
  /** Undefined: no deployment record (GitHub not configured). */
  github?: DeploymentsRepo;
  /** Why there is no record, when github is undefined. */
  noRecordReason?: string;
  logUrl?: string;
  now?: () => number;
  log: (line: string) => void;
}

const isBad = (s: { status: StageOutcomeStatus }) => s.status === 'failure' || s.status === 'refused';

export async function runDeploy(options: RunDeployOptions): Promise<DeployRun> {
  const { plan, log } = options;
  const run: DeployRun = {
    env: plan.env,
    head: plan.head,
    selected: options.selected,
    stages: [],
    plan,
    allowances: { flags: [...options.allowDestructive], commits: [] },
    deployed: {},
    deployment: options.github ? {} : { note: options.noRecordReason ?? 'GitHub is not configured' },
  };
  // Smoke checks the environment as it is: asked for, it runs even when nothing else deployed.
  const smoke = options.selected.includes('smoke');
  const deploySelected = options.selected.filter((s): s is DeployStage => s !== 'smoke');
  const planned = plan.stages.filter(
    (s) => (deploySelected as string[]).includes(s.stage) && s.run === 'yes',
  );
  const toRun = planned.map((s) => s.stage as DeployStage);
  run.stages.push({
    stage: 'plan',
    status: 'success',
    summary: toRun.length
      ? `runs ${[...toRun, ...(smoke ? ['smoke'] : [])].join(', ')}`
      : deploySelected.length
        ? `nothing to deploy among ${deploySelected.join(', ')}${smoke ? '; runs smoke' : ''}`
        : 'runs smoke',
    ms: options.planMs,
  });
  for (const s of deploySelected.filter((s) => !toRun.includes(s))) {
    const reason = plan.stages.find((p) => p.stage === s)?.reason ?? 'not planned';
    run.stages.push({ stage: s, status: 'skipped', summary: reason, ms: 0 });
  }
  if (!toRun.length) {
    if (options.github)
      run.deployment = {
        note: smoke
          ? 'the smoke test deploys nothing, so no deployment recorded'
          : 'nothing deployed, so no deployment recorded',
      };
    if (smoke && (await preflight(options, run, ['smoke'], false))) await runSmoke(options, run, 'smoke');
    return sortStages(run);
  }

  if (options.github) {
    const deployables = toRun;
    const id = await createDeployment(options.github, {
      sha: plan.head,
      environment: plan.env,
      deployables,
      description: `ops deploy: ${deployables.join(', ')}`,
    }).catch((error: unknown) => {
      throw new RecordError(`creating the deployment record: ${(error as Error).message}`);
    });
    run.deployment = { id };
    await setDeploymentStatus(options.github, id, {
      state: 'in_progress',
      description: `deploying ${deployables.join(', ')}`,
      logUrl: options.logUrl,
      environmentUrl: environmentUrl(options.target),
    }).catch((error: unknown) => {
      throw new RecordError(`setting deployment ${id} in_progress: ${(error as Error).message}`);
    });
    run.deployment.state = 'in_progress';
    log(`deployment ${id} of ${plan.head.slice(0, 7)} to ${plan.env} recorded (in_progress)`);
  }

  const ready = await preflight(options, run, [...toRun, ...(smoke ? (['smoke'] as const) : [])], smoke);
  if (ready) {
    for (const stage of toRun) {
      const outcome =
        stage === 'database' ? await runDatabase(options, run) : await runUndoable(options, run, stage);
      if (isBad(outcome)) break;
    }
  }

  const stageFailed = run.stages.find(isBad);
  if (smoke) {
    if (stageFailed)
      run.stages.push({
        stage: 'smoke',
        status: 'skipped',
        summary: `not run: ${stageFailed.stage} ${stageFailed.status}`,
        ms: 0,
      });
    else await runSmoke(options, run, 'smoke');
  }
  await rollbackIfWorse(options, run);
  if (ready) await reportIncident(options, run);

  if (options.github && run.deployment.id !== undefined) {
    const failed = run.stages.find(isBad);
    const state = failed || run.rollback ? 'failure' : 'success';
    const description = failed
      ? `${failed.stage} ${failed.status}: ${failed.summary}`
      : run.stages.at(-1)!.summary;
    try {
      await setDeploymentStatus(options.github, run.deployment.id, {
        state,
        description,
        logUrl: options.logUrl,
        environmentUrl: environmentUrl(options.target),
      });
      run.deployment.state = state;
      log(`deployment ${run.deployment.id}: ${state}`);
    } catch (error) {
      run.deployment.note = `setting ${state} failed: ${(error as Error).message}`;
      log(`deployment ${run.deployment.id}: ${run.deployment.note}`);
    }
  }
  return sortStages(run);
}

/** The preflight stage; false when the deploy may not go on. */
async function preflight(
  options: RunDeployOptions,
  run: DeployRun,
  stages: PreflightStage[],
  measureHealth: boolean,
): Promise<boolean> {
  const result = await runPreflightStage({
    target: options.target,
    stages,
    runbook: options.smoke?.runbook,
    ...options.preflight,
    healthBefore: measureHealth
      ? async () => {
          const once = await runSmokeStage({
            reportDir: 'reports',
            ...options.smoke,
            attempts: 1,
            target: options.target,
            log: (line) => options.log(`preflight: health before: ${line}`),
          });
          const last = once.attempts.at(-1)!;
          return { verdict: once.verdict, failing: last.failing, report: last.report };
        }
      : undefined,
    log: (line) => options.log(`preflight: ${line}`),
  });
  run.preflight = result;
  run.stages.push({ stage: 'preflight', status: result.status, summary: result.summary, ms: result.ms });
  return result.status === 'success';
}

async function runDatabase(options: RunDeployOptions, run: DeployRun): Promise<StageOutcome> {
  const { plan, log } = options;
  const started = Date.now();
  const base = plan.stages.find((s) => s.stage === 'database')?.base;
  const from = base?.sha && (await resolveCommit(options.git, base.sha)) ? base.sha : undefined;
  try {
    run.allowances.commits = await allowancesFromCommits({ cwd: options.root, from, to: plan.head });
  } catch (error) {
    return push(run, {
      stage: 'database',
      status: 'failure',
      summary: `reading the allowances in the commits: ${(error as Error).message.split('\n')[0]}`,
      ms: Date.now() - started,
    });
  }
  for (const f of run.allowances.commits) log(`database: allowed by a commit trailer: ${f}`);
  const allow = [...new Set([...run.allowances.flags, ...run.allowances.commits])];
  const result = await runDatabaseStage({
    target: options.target,
    workdir: options.root,
    allow,
    log: (line) => log(`database: ${line}`),
  });
  run.database = result;
  return push(run, {
    stage: 'database',
    status: result.status,
    summary: result.summary,
    ms: result.timings.totalMs,
    versions: { before: result.versionBefore ?? null, after: result.versionAfter ?? null },
  });
}

function context(options: RunDeployOptions, stage: string): StageContext {
  return {
    target: options.target,
    root: options.root,
    head: options.plan.head,
    log: (line) => options.log(`${stage}: ${line}`),
  };
}

async function runUndoable(
  options: RunDeployOptions,
  run: DeployRun,
  stage: UndoableStage,
): Promise<StageOutcome> {
  const runner = options.runners[stage];
  if (!runner)
    return push(run, { stage, status: 'refused', summary: `no ${stage} stage in this build`, ms: 0 });
  const started = Date.now();
  let result: StageRunResult;
  try {
    result = await runner.run(context(options, stage));
  } catch (error) {
    result = {
      status: 'failure',
      summary: (error as Error).message.split('\n')[0]!,
      ms: Date.now() - started,
    };
  }
  run.deployed[stage] = result;
  return push(run, {
    stage,
    status: result.status,
    summary: result.summary,
    ms: result.ms,
    versions: result.versions,
  });
}

async function runSmoke(
  options: RunDeployOptions,
  run: DeployRun,
  as: 'smoke' | 'rollback',
): Promise<SmokeStageResult> {
  const result = await runSmokeStage({
    reportDir: 'reports',
    ...options.smoke,
    before: run.preflight?.healthBefore,
    target: options.target,
    log: (line) => options.log(`${as === 'smoke' ? 'smoke' : 'rollback: smoke'}: ${line}`),
  });
  if (as === 'smoke') {
    run.smoke = result;
    run.stages.push({ stage: 'smoke', status: result.status, summary: result.summary, ms: result.totalMs });
  }
  return result;
}

/**
 * Puts functions and vm back when the smoke test failed, or when one of them failed after it may
 * have changed something. Only stages that ran are put back, newest first; migrations stay.
 */
async function rollbackIfWorse(options: RunDeployOptions, run: DeployRun): Promise<void> {
  const ran = UNDOABLE.filter(
    (s) => run.deployed[s] && run.deployed[s]!.status !== 'skipped' && run.deployed[s]!.changed !== false,
  );
  const failedUndoable = UNDOABLE.find((s) => run.deployed[s]?.status === 'failure');
  const smokeFailed = run.smoke?.status === 'failure';
  if (!smokeFailed && !failedUndoable) return;
  const reason = smokeFailed
    ? `the smoke test failed (${run.smoke!.summary})`
    : `the ${failedUndoable} stage failed`;
  const started = Date.now();
  const kept = run.database?.details.length
    ? `; migrations stay applied (forward only): ${run.database.details.join(', ')}`
    : '';
  if (!ran.length) {
    run.stages.push({
      stage: 'rollback',
      status: 'skipped',
      summary: `${reason}, but nothing that can be put back was deployed${kept}`,
      ms: 0,
    });
    return;
  }
  options.log(`rollback: ${reason}: putting back ${ran.join(', ')}`);
  const rollback: RollbackRun = { reason, stages: [] };
  run.rollback = rollback;
  for (const stage of ran) {
    const t0 = Date.now();
    let result: StageRunResult;
    try {
      result = await options.runners[stage]!.rollback(context(options, `rollback: ${stage}`));
    } catch (error) {
      result = { status: 'failure', summary: (error as Error).message.split('\n')[0]!, ms: Date.now() - t0 };
    }
    rollback.stages.push({ stage, result });
  }
  const failed = rollback.stages.filter((s) => s.result.status === 'failure');
  if (run.selected.includes('smoke') && !failed.length)
    rollback.smoke = await runSmoke(options, run, 'rollback');
  const back = rollback.stages.map(
    (s) =>
      `${s.stage} ${s.result.status}${s.result.versions ? ` (now ${s.result.versions.after ?? 'nothing'})` : ''}`,
  );
  const after = rollback.smoke
    ? `; smoke after it: ${rollback.smoke.status} (${rollback.smoke.verdict})`
    : '';
  run.stages.push({
    stage: 'rollback',
    status: failed.length || rollback.smoke?.status === 'failure' ? 'failure' : 'success',
    summary: `${reason}: ${back.join(', ')}${after}${kept}`,
    ms: Date.now() - started,
  });
}

async function reportIncident(options: RunDeployOptions, run: DeployRun): Promise<void> {
  if (!options.incidents || options.incidents.mode === 'off') return;
  try {
    const summary = await reconcileDeployIncident(
      run,
      options.incidents,
      options.now?.() ?? Date.now(),
      options.logUrl,
    );
    if (!summary) return;
    run.incident = summary;
    for (const o of summary.opened) options.log(`incident opened: #${o.number} ${o.url}`);
    for (const c of summary.closed) options.log(`incident closed: #${c.number}`);
    for (const e of summary.errors) options.log(`incident store: ${e}`);
  } catch (error) {
    options.log(`incident store: ${(error as Error).message}`);
  }
}

/** The deployment's environment URL: the Functions app's health endpoint, which names the running commit. */
function environmentUrl(target: OpsTarget): string | undefined {
  try {
    return ingestHealthUrl(target);
  } catch {
    return undefined;
  }
}

function push(run: DeployRun, outcome: StageOutcome): StageOutcome {
  run.stages.push(outcome);
  return outcome;
}

/** The deployment record could not be made: nothing was deployed. */
export class RecordError extends Error {}

export function exitCodeOf(run: DeployRun): 0 | 1 {
  return run.stages.some(isBad) || run.rollback ? 1 : 0;
}

function sortStages(run: DeployRun): DeployRun {
  run.stages.sort((a, b) => STAGES.indexOf(a.stage) - STAGES.indexOf(b.stage));
  return run;
}
