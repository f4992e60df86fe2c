/**
 * Failed GitHub Actions runs of the repository (`GET /repos/{owner}/{repo}/actions/runs` with
 * `status=failure` and a `created` range, every page), through an injected Octokit
 * (`createGitHubClient` in ops/incidents/github-client.ts builds one from GITHUB_* variables).
 */
import type { GitHubClient } from '../incidents/github-client.js';

export interface FailedWorkflowRun {
  id: number;
  /** Workflow name (`Ops daily`). */
  name: string;
  /** Workflow file (`.github/workflows/ops-daily.yml`). */
  path: string;
  runNumber: number;
  event: string;
  branch: string | null;
  conclusion: string;
  createdAt: string;
  url: string;
}

export interface WorkflowRunsSource {
  /** Completed runs that concluded `failure`, created at or after `since`, newest first. */
  failedRuns(since: Date, signal?: AbortSignal): Promise<FailedWorkflowRun[]>;
}

export function createGitHubWorkflowRunsSource(options: {
  octokit: GitHubClient;
  owner: string;
  repo: string;
}): WorkflowRunsSource {
  const { octokit, owner, repo } = options;
  return {
    async failedRuns(since, signal) {
      const runs = await octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, {
        owner,
        repo,
        status: 'failure',
        created: `>=${since.toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
        per_page: 100,
        request: { signal },
      });
      return runs.map((r) => ({
        id: r.id,
        name: r.name ?? r.path,
        path: r.path,
        runNumber: r.run_number,
        event: r.event,
        branch: r.head_branch,
        conclusion: r.conclusion ?? 'failure',
        createdAt: r.created_at,
        url: r.html_url,
      }));
    },
  };
}
