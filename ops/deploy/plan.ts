/**
 * The plan stage: which stages a deploy runs, and why. A deployable's stage runs when something it
 * deploys changed between its base (the last successful deployment that covered it, or --from) and
 * HEAD (deployables.ts says what "something it deploys" is), or when it has no base (a first
 * deploy: everything). The stages around them (preflight, smoke, rollback) run when anything is
 * deployed. Reading the base is the caller's (plan-base.ts); this module needs only git.
 */
import {
  DEPLOYABLES,
  DEPLOY_STAGES,
  NOT_DEPLOYED,
  matchesAny,
  type Deployable,
  type DeployStage,
} from './deployables.js';
import { changedPaths, fileAt, resolveCommit, type GitRunner } from './git.js';
import { esbuildBundleInputs, type BundleInputsOf } from './plan-bundles.js';
import { changedLockedPackages, type Lockfile } from './plan-lockfile.js';
import { changedSettings, environmentAt, environmentFile } from './plan-settings.js';
import { STAGES, type Stage } from './stages.js';

/** What a deployable is compared against. */
export interface PlanBase {
  /** `from`: --from; `deployment`: a GitHub deployment; `none`: no base, deploy everything. */
  source: 'from' | 'deployment' | 'none';
  sha: string | null;
  deployment?: { id: number; createdAt: string };
  /** Why there is no base, or what to know about it. */
  note?: string;
}

export type StageRun = 'yes' | 'no' | 'if-smoke-fails';

export interface StagePlan {
  stage: Stage;
  run: StageRun;
  reason: string;
  /** Deploy stages: the changed paths that make it run (package-lock.json with its packages). */
  files?: string[];
  base?: PlanBase;
}

export interface DeployPlan {
  env: string;
  head: string;
  /** The deploy stages that run, in order. */
  deploys: DeployStage[];
  stages: StagePlan[];
  /** Every changed path (against any base), and those no deployable uses. */
  changed: string[];
  notDeployed: string[];
}

export interface PlanOptions {
  env: string;
  git: GitRunner;
  /** The checkout's root: bundles are read there (HEAD's sources). */
  root: string;
  bases: Record<DeployStage, PlanBase>;
  head?: string;
  deployables?: readonly Deployable[];
  bundleInputs?: BundleInputsOf;
}

const LOCKFILE = 'package-lock.json';

export async function planDeploy(options: PlanOptions): Promise<DeployPlan> {
  const { git, env } = options;
  const deployables = options.deployables ?? DEPLOYABLES;
  const bundleInputsOf = options.bundleInputs ?? esbuildBundleInputs;
  const head = await resolveCommit(git, options.head ?? 'HEAD');
  if (!head) throw new Error(`${options.head ?? 'HEAD'} is not a commit in this checkout`);

  const bases = { ...options.bases };
  const diffs = new Map<string, string[]>();
  for (const stage of DEPLOY_STAGES) {
    const base = bases[stage];
    if (base.sha === null || diffs.has(base.sha)) continue;
    if (!(await resolveCommit(git, base.sha))) {
      // History rewritten, or a shallow clone: the only safe plan is everything.
      bases[stage] = {
        ...base,
        note: `its base ${short(base.sha)} is not in this clone (fetch the full history, or the commit is gone)`,
      };
      continue;
    }
    diffs.set(base.sha, await changedPaths(git, base.sha, head));
  }

  const inputsOf = memo((entry: string) => bundleInputsOf(options.root, entry));
  const lockAt = memo((sha: string) =>
    fileAt(git, sha, LOCKFILE).then((text) => (text ? (JSON.parse(text) as Lockfile) : {})),
  );
  const envFile = environmentFile(env);
  const documentAt = memo((sha: string) => environmentAt(git, sha, env));

  const used = new Set<string>();
  const results = new Map<DeployStage, StagePlan>();
  for (const d of deployables) {
    const base = bases[d.stage];
    const changed = base.sha !== null ? diffs.get(base.sha) : undefined;
    if (changed === undefined) {
      results.set(d.stage, {
        stage: d.stage,
        run: 'yes',
        reason: `no base: all of ${d.what}`,
        base,
      });
      continue;
    }
    const inputs = changed.length ? await Promise.all(d.bundles.map(inputsOf)) : [];
    const bundled = new Set(inputs.flatMap((i) => i.files));
    const files = changed.filter(
      (p) => bundled.has(p) || (matchesAny(p, d.paths) && !matchesAny(p, NOT_DEPLOYED)),
    );
    for (const f of files) used.add(f);
    if (changed.includes(LOCKFILE) && inputs.length && base.sha) {
      const packages = [...new Set(inputs.flatMap((i) => i.packages))];
      const moved = changedLockedPackages(await lockAt(base.sha), await lockAt(head), packages);
      if (moved.length) {
        files.push(`${LOCKFILE} (${moved.join(', ')})`);
        used.add(LOCKFILE);
      }
    }
    if (changed.includes(envFile) && d.settings.length && base.sha) {
      const settings = changedSettings(await documentAt(base.sha), await documentAt(head), d.settings);
      if (settings.length) {
        files.push(`${envFile} (${settings.join(', ')})`);
        used.add(envFile);
      }
    }
    results.set(d.stage, {
      stage: d.stage,
      run: files.length ? 'yes' : 'no',
      reason: files.length
        ? `${files.length} ${files.length === 1 ? 'file' : 'files'} changed${files.length > 3 ? ', e.g.' : ':'} ${files.slice(0, 3).join(', ')}`
        : `nothing it deploys changed since ${short(base.sha!)}`,
      files,
      base,
    });
  }

  const deploys = DEPLOY_STAGES.filter((s) => results.get(s)?.run === 'yes');
  const changed = [...new Set([...diffs.values()].flat())].sort();
  const around = aroundStages(deploys, deployables);
  const stages = STAGES.map((stage): StagePlan => {
    const deploy = results.get(stage as DeployStage);
    if (deploy) return deploy;
    // A deploy stage without a row in the table given (tests may give a smaller one) deploys nothing.
    const a = around[stage as Exclude<Stage, DeployStage>] ?? { run: 'no', reason: 'not in the table' };
    return { stage, ...a };
  });
  return { env, head, deploys, stages, changed, notDeployed: changed.filter((p) => !used.has(p)) };
}

/** The stages that act around the deploy stages; a new stage in STAGES must say here when it runs. */
function aroundStages(
  deploys: readonly DeployStage[],
  deployables: readonly Deployable[],
): Record<Exclude<Stage, DeployStage>, { run: StageRun; reason: string }> {
  const list = deploys.join(', ');
  const none = { run: 'no' as const, reason: 'nothing to deploy' };
  const planned = deployables.filter((d) => deploys.includes(d.stage));
  const undoable = planned.flatMap((d) => (d.rolledBack ? [d.rolledBack] : []));
  const kept = planned.filter((d) => !d.rolledBack).map((d) => d.stage);
  return {
    plan: { run: 'yes', reason: 'this plan' },
    preflight: deploys.length
      ? { run: 'yes', reason: `secrets, reachability and health before ${list}` }
      : none,
    smoke: deploys.length ? { run: 'yes', reason: `the go-live checks after ${list}` } : none,
    rollback: undoable.length
      ? {
          run: 'if-smoke-fails',
          reason: `puts ${undoable.join(' and ')} back${kept.length ? `; ${kept.join(', ')} is not rolled back (forward only)` : ''}`,
        }
      : deploys.length
        ? { run: 'no', reason: `${list} is not rolled back (forward only)` }
        : none,
  };
}

export const short = (sha: string) => sha.slice(0, 7);

/** `f` called once per key: the bundles, lockfiles and environment files the plan reads per commit. */
function memo<T>(f: (key: string) => Promise<T>): (key: string) => Promise<T> {
  const done = new Map<string, Promise<T>>();
  return (key) => {
    if (!done.has(key)) done.set(key, f(key));
    return done.get(key)!;
  };
}
