/**
 * One comment on the incident issue per playbook run: each step's status and its key lines, and
 * the outcome. Built from the run's already-redacted lines.
 */
import type { GitHubClient, GitHubEnv } from '../incidents/github-client.js';
import type { PlaybookRun, StepStatus } from './playbook.js';

const KEY_LINES = 6;
/** GitHub refuses comment bodies over 65,536 characters. */
const MAX_BODY = 60_000;

const ICON: Record<StepStatus, string> = {
  ok: 'ok',
  warn: 'warn',
  fail: '**fail**',
  error: '**error**',
  skipped: 'skipped',
  'dry-run': 'dry run',
};

export function incidentCommentBody(run: PlaybookRun, runUrl?: string): string {
  const parts = [`### Playbook \`${run.playbook}\` on \`${run.env}\` (${run.mode})`, '', run.outcome, ''];
  for (const step of run.steps) {
    parts.push(`- ${ICON[step.status]} - ${step.kind} \`${step.id}\`: ${step.title}`);
    const shown = step.lines.slice(0, KEY_LINES);
    for (const line of shown) parts.push(`  - ${line.trim().replace(/\s+/g, ' ')}`);
    if (step.lines.length > shown.length)
      parts.push(`  - ... ${step.lines.length - shown.length} more line(s)`);
  }
  if (runUrl) parts.push('', `[Workflow run](${runUrl})`);
  const body = parts.join('\n');
  return body.length > MAX_BODY ? `${body.slice(0, MAX_BODY)}\n\n(truncated)` : body;
}

/** The workflow run's URL when this runs in GitHub Actions. */
export function workflowRunUrl(env: Record<string, string | undefined>, gh: GitHubEnv): string | undefined {
  return env.GITHUB_RUN_ID ? `${gh.serverUrl}/${gh.repository}/actions/runs/${env.GITHUB_RUN_ID}` : undefined;
}

export async function postIncidentComment(
  client: GitHubClient,
  gh: GitHubEnv,
  issue: number,
  body: string,
): Promise<string> {
  const res = await client.rest.issues.createComment({
    owner: gh.owner,
    repo: gh.repo,
    issue_number: issue,
    body,
  });
  return res.data.html_url;
}
