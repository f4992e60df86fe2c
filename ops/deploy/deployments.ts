/**
 * The deploy's records in GitHub Deployments, per environment (the GitHub environment is named as
 * the ops environment, `prod`). Each deployment's payload says which deployables it brought to its
 * SHA (`{ deployables: [...] }`; none recorded means all), so a deploy of some stages only is never
 * taken as the base of the others. Statuses: in_progress, then success or failure, with the
 * environment's URL and the run's log URL.
 */
import type { GitHubClient } from '../incidents/github-client.js';
import { DEPLOY_STAGES, type DeployStage } from './deployables.js';

export interface DeploymentsRepo {
  octokit: GitHubClient;
  owner: string;
  repo: string;
}

export interface SuccessfulDeployment {
  id: number;
  sha: string;
  createdAt: string;
  deployables: DeployStage[];
}

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'queued' | 'inactive';

/** How many deployments, newest first, are read looking for the bases (3 pages). */
const MAX_DEPLOYMENTS = 300;

function deployablesOf(payload: unknown): DeployStage[] {
  const listed = (payload && typeof payload === 'object' ? (payload as Record<string, unknown>) : {})[
    'deployables'
  ];
  if (!Array.isArray(listed)) return [...DEPLOY_STAGES];
  return DEPLOY_STAGES.filter((s) => listed.includes(s));
}

/**
 * For each deployable, the newest deployment of `environment` that succeeded and covered it. A
 * deployment succeeded when its latest status is `success`, or `inactive` after a `success`
 * (GitHub marks a successful deployment inactive when a later one succeeds). A failed or
 * unfinished deploy is skipped, so the next deploy compares against what is really running and
 * retries what failed.
 */
export async function lastSuccessfulDeployments(
  r: DeploymentsRepo,
  environment: string,
  wanted: readonly DeployStage[] = DEPLOY_STAGES,
): Promise<Partial<Record<DeployStage, SuccessfulDeployment>>> {
  const found: Partial<Record<DeployStage, SuccessfulDeployment>> = {};
  let seen = 0;
  const pages = r.octokit.paginate.iterator(r.octokit.rest.repos.listDeployments, {
    owner: r.owner,
    repo: r.repo,
    environment,
    per_page: 100,
  });
  for await (const { data } of pages) {
    for (const d of data) {
      if (++seen > MAX_DEPLOYMENTS) return found;
      const covers = deployablesOf(d.payload).filter((s) => wanted.includes(s) && !found[s]);
      if (!covers.length || !(await succeeded(r, d.id))) continue;
      const record = { id: d.id, sha: d.sha, createdAt: d.created_at, deployables: deployablesOf(d.payload) };
      for (const s of covers) found[s] = record;
      if (wanted.every((s) => found[s])) return found;
    }
  }
  return found;
}

async function succeeded(r: DeploymentsRepo, deploymentId: number): Promise<boolean> {
  const { data } = await r.octokit.rest.repos.listDeploymentStatuses({
    owner: r.owner,
    repo: r.repo,
    deployment_id: deploymentId,
    per_page: 100,
  });
  // Newest first.
  const latest = data[0]?.state;
  return latest === 'success' || (latest === 'inactive' && data.some((s) => s.state === 'success'));
}

/**
 * A deployment record for `sha` (never a branch, which could move) that GitHub neither merges
 * (auto_merge) nor gates on commit statuses (required_contexts): the workflow decides.
 */
export async function createDeployment(
  r: DeploymentsRepo,
  options: { sha: string; environment: string; deployables: readonly DeployStage[]; description: string },
): Promise<number> {
  const response = await r.octokit.rest.repos.createDeployment({
    owner: r.owner,
    repo: r.repo,
    ref: options.sha,
    environment: options.environment,
    auto_merge: false,
    required_contexts: [],
    payload: { deployables: [...options.deployables] },
    description: clip(options.description),
  });
  if (response.status !== 201 || !('id' in response.data))
    throw new Error(`GitHub did not create the deployment (HTTP ${response.status})`);
  return response.data.id;
}

export async function setDeploymentStatus(
  r: DeploymentsRepo,
  deploymentId: number,
  options: { state: DeploymentState; description: string; environmentUrl?: string; logUrl?: string },
): Promise<void> {
  await r.octokit.rest.repos.createDeploymentStatus({
    owner: r.owner,
    repo: r.repo,
    deployment_id: deploymentId,
    state: options.state,
    description: clip(options.description),
    ...(options.environmentUrl ? { environment_url: options.environmentUrl } : {}),
    ...(options.logUrl ? { log_url: options.logUrl } : {}),
  });
}

/** GitHub refuses descriptions over 140 characters. */
const clip = (text: string) => (text.length <= 140 ? text : `${text.slice(0, 139)}…`);
