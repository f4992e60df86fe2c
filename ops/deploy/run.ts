/**
 * A deploy of HEAD restricted to some stages (`ops deploy --stages database`): the plan, then each
 * selected deploy stage the plan says runs, then the smoke test when selected, with a GitHub
 * deployment record around them when GitHub is configured. Built: the database stage (database.ts)
 * and smoke (smoke.ts); the caller (cli.ts) refuses the others before anything runs. The deployment's payload names the deployables this
 * deploy brought to HEAD, so a deploy of the database only is never taken as the base of the
 * functions or the VM (deployments.ts).
 */
import { runDatabaseStage, type DatabaseStageResult } from './database.js';
import type { DeployStage } from './deployables.js';
import { createDeployment, setDeploymentStatus, type DeploymentsRepo } from './deployments.js';
import { resolveCommit, type GitRunner } from './git.js';
import { allowancesFromCommits } from './migration-guard-trailers.js';
import type { DeployPlan } from './plan.js';
import { runSmokeStage, type SmokeStageOptions, type SmokeStageResult } from './smoke.js';
import type { OpsTarget } from '../config/ops-target.js';

/** What --stages can run: the deploy stages, and the smoke test after them. */
export type RunStage = DeployStage | 'smoke';

export type StageOutcomeStatus = 'success' | 'skipped' | 'refused' | 'failure';

export interface StageOutcome {
  stage: 'plan' | RunStage;
  status: StageOutcomeStatus;
  summary: string;
  ms: number;
}

export interface DeploymentRecord {
  /** The deployment's id in GitHub, when one was made. */
  id?: number;
  /** The last status set (in_progress, success, failure), or why there is no record. */
  state?: 'in_progress' | 'success' | 'failure';
  note?: string;
}

export interface DeployRun {
  env: string;
  head: string;
  /** The stages asked for (--stages). */
  selected: RunStage[];
  stages: StageOutcome[];
  plan: DeployPlan;
  /** The files allowed to destroy data: --allow-destructive, and the trailers in base..HEAD. */
  allowances: { flags: string[]; commits: string[] };
  database?: DatabaseStageResult;
  smoke?: SmokeStageResult;
  deployment: DeploymentRecord;
}

export interface RunDeployOptions {
  target: OpsTarget;
  plan: DeployPlan;
  /** Built: `database` and `smoke`. */
  selected: RunStage[];
  planMs: number;
  git: GitRunner;
  /** The checkout: its supabase/ is what is applied, its commits carry the allowances. */
  root: string;
  allowDestructive: string[];
  /** The smoke test's bounds and where its cadence reports go (smoke.ts). */
  smoke?: Omit<SmokeStageOptions, 'target' | 'log'>;
  /** Undefined: no deployment record (GitHub not configured). */
  github?: DeploymentsRepo;
  /** Why there is no record, when github is undefined. */
  noRecordReason?: string;
  logUrl?: string;
  log: (line: string) => void;
}

export async function runDeploy(options: RunDeployOptions): Promise<DeployRun> {
  const { plan, log } = options;
  const run: DeployRun = {
    env: plan.env,
    head: plan.head,
    selected: options.selected,
    stages: [],
    plan,
    allowances: { flags: [...options.allowDestructive], commits: [] },
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
    if (smoke) await runSmoke(options, run);
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
    }).catch((error: unknown) => {
      throw new RecordError(`setting deployment ${id} in_progress: ${(error as Error).message}`);
    });
    run.deployment.state = 'in_progress';
    log(`deployment ${id} of ${plan.head.slice(0, 7)} to ${plan.env} recorded (in_progress)`);
  }

  for (const stage of toRun) {
    if (stage !== 'database') throw new Error(`the ${stage} stage is not built`);
    const started = Date.now();
    const base = plan.stages.find((s) => s.stage === 'database')?.base;
    const from = base?.sha && (await resolveCommit(options.git, base.sha)) ? base.sha : undefined;
    try {
      run.allowances.commits = await allowancesFromCommits({ cwd: options.root, from, to: plan.head });
    } catch (error) {
      run.stages.push({
        stage,
        status: 'failure',
        summary: `reading the allowances in the commits: ${(error as Error).message.split('\n')[0]}`,
        ms: Date.now() - started,
      });
      break;
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
    run.stages.push({
      stage,
      status: result.status,
      summary: result.summary,
      ms: result.timings.totalMs,
    });
    if (result.status !== 'success') break;
  }

  if (smoke) {
    const failed = run.stages.find((s) => s.status === 'failure' || s.status === 'refused');
    if (failed)
      run.stages.push({
        stage: 'smoke',
        status: 'skipped',
        summary: `not run: ${failed.stage} ${failed.status}`,
        ms: 0,
      });
    else await runSmoke(options, run);
  }

  if (options.github && run.deployment.id !== undefined) {
    const failed = run.stages.find((s) => s.status === 'failure' || s.status === 'refused');
    const state = failed ? 'failure' : 'success';
    const description = failed
      ? `${failed.stage} ${failed.status}: ${failed.summary}`
      : run.stages.at(-1)!.summary;
    try {
      await setDeploymentStatus(options.github, run.deployment.id, {
        state,
        description,
        logUrl: options.logUrl,
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

async function runSmoke(options: RunDeployOptions, run: DeployRun): Promise<void> {
  const result = await runSmokeStage({
    reportDir: 'reports',
    ...options.smoke,
    target: options.target,
    log: (line) => options.log(`smoke: ${line}`),
  });
  run.smoke = result;
  run.stages.push({ stage: 'smoke', status: result.status, summary: result.summary, ms: result.totalMs });
}

/** The deployment record could not be made: nothing was deployed. */
export class RecordError extends Error {}

export function exitCodeOf(run: DeployRun): 0 | 1 {
  return run.stages.some((s) => s.status === 'failure' || s.status === 'refused') ? 1 : 0;
}

function sortStages(run: DeployRun): DeployRun {
  const order = ['plan', 'database', 'functions', 'vm', 'smoke'];
  run.stages.sort((a, b) => order.indexOf(a.stage) - order.indexOf(b.stage));
  return run;
}
