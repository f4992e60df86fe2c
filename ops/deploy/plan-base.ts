/**
 * What each deployable is compared against: --from when given (a commit this clone has), else the
 * last successful GitHub deployment that covered it (deployments.ts), else nothing (a first
 * deploy: everything). The sandbox keeps no deployment records, so without --from it plans
 * everything.
 */
import { DEPLOY_STAGES, type DeployStage } from './deployables.js';
import { lastSuccessfulDeployments, type DeploymentsRepo } from './deployments.js';
import { resolveCommit, type GitRunner } from './git.js';
import type { PlanBase } from './plan.js';

export class UnknownBaseError extends Error {}

export async function planBases(options: {
  env: string;
  /** The sandbox: no GitHub deployments to read. */
  sandbox: boolean;
  from?: string;
  git: GitRunner;
  /** Called only when the deployments must be read; throws when GitHub is not configured. */
  github: () => DeploymentsRepo;
}): Promise<Record<DeployStage, PlanBase>> {
  const all = (base: PlanBase) =>
    Object.fromEntries(DEPLOY_STAGES.map((s) => [s, base])) as Record<DeployStage, PlanBase>;
  if (options.from !== undefined) {
    const sha = await resolveCommit(options.git, options.from);
    if (!sha) throw new UnknownBaseError(`--from ${options.from} is not a commit in this clone`);
    return all({ source: 'from', sha });
  }
  if (options.sandbox)
    return all({
      source: 'none',
      sha: null,
      note: `${options.env} keeps no deployment records; give --from <sha> to compare with a commit`,
    });
  const found = await lastSuccessfulDeployments(options.github(), options.env);
  return Object.fromEntries(
    DEPLOY_STAGES.map((s): [DeployStage, PlanBase] => {
      const d = found[s];
      return [
        s,
        d
          ? { source: 'deployment', sha: d.sha, deployment: { id: d.id, createdAt: d.createdAt } }
          : { source: 'none', sha: null, note: `no successful deployment of ${options.env} covers it yet` },
      ];
    }),
  ) as Record<DeployStage, PlanBase>;
}
