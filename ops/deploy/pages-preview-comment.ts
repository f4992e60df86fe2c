/**
 * One comment per pull request with its dashboard preview, edited in place by every later preview
 * deploy (found by a hidden marker), so a pull request pushed twenty times has one comment, not
 * twenty. Pull request comments are issue comments in GitHub's API.
 */
import type { GitHubClient } from '../incidents/github-client.js';
import type { PagesPreviewResult } from './pages-preview.js';

export const PREVIEW_MARKER = '<!-- ops:dashboard-preview -->';

export function previewCommentBody(result: PagesPreviewResult, commitSha: string, runUrl?: string): string {
  const lines = [PREVIEW_MARKER];
  if (result.status === 'success') {
    lines.push(
      `**Dashboard preview** of ${commitSha.slice(0, 7)}: ${result.alias ?? result.url}`,
      '',
      `- This commit: ${result.url}`,
      `- Talks to ${result.supabaseOrigin}: sign in with an account of that project.`,
      "- Served with main's headers (CSP, HSTS), not this pull request's.",
    );
  } else {
    lines.push(`**Dashboard preview** of ${commitSha.slice(0, 7)} was not deployed (${result.status}):`, '');
    lines.push(`> ${result.summary}`);
  }
  if (runUrl) lines.push('', `[The run](${runUrl})`);
  return lines.join('\n');
}

export interface CommentTarget {
  client: GitHubClient;
  owner: string;
  repo: string;
  pullRequest: number;
  /**
   * Whose comment is edited: GITHUB_TOKEN comments as github-actions[bot]. Anyone can write the
   * marker into a comment of theirs; only ours is ever edited.
   */
  author?: string;
}

/** Creates the preview comment or edits the existing one; returns its URL. */
export async function upsertPreviewComment(to: CommentTarget, body: string): Promise<string> {
  const { client, owner, repo, pullRequest } = to;
  const comments = await client.paginate(client.rest.issues.listComments, {
    owner,
    repo,
    issue_number: pullRequest,
    per_page: 100,
  });
  const author = to.author ?? 'github-actions[bot]';
  const mine = comments.find((c) => c.user?.login === author && c.body?.startsWith(PREVIEW_MARKER));
  const res = mine
    ? await client.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body })
    : await client.rest.issues.createComment({ owner, repo, issue_number: pullRequest, body });
  return res.data.html_url;
}
