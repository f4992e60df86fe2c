/**
 * An Octokit from the standard GitHub Actions environment: GITHUB_TOKEN, GITHUB_REPOSITORY
 * (`owner/name`), GITHUB_API_URL (the stand-in in tests, GHES in some places) and GITHUB_SERVER_URL.
 * The token is masked in the Actions log and never appears in errors or results.
 */
import * as core from '@actions/core';
import { getOctokit } from '@actions/github';

export type GitHubClient = ReturnType<typeof getOctokit>;

export interface GitHubEnv {
  token: string;
  owner: string;
  repo: string;
  /** `owner/name`. */
  repository: string;
  apiUrl: string;
  serverUrl: string;
}

export function readGitHubEnv(env: NodeJS.ProcessEnv = process.env): GitHubEnv {
  const token = env['GITHUB_TOKEN']?.trim();
  const repository = env['GITHUB_REPOSITORY']?.trim();
  const problems: string[] = [];
  if (!token) problems.push('GITHUB_TOKEN is not set');
  const m = repository ? /^([\w.-]+)\/([\w.-]+)$/.exec(repository) : null;
  if (!m) problems.push(`GITHUB_REPOSITORY must be owner/name (got ${JSON.stringify(repository ?? null)})`);
  const apiUrl = (env['GITHUB_API_URL'] || 'https://api.github.com').replace(/\/+$/, '');
  const serverUrl = (env['GITHUB_SERVER_URL'] || 'https://github.com').replace(/\/+$/, '');
  for (const [name, value] of [
    ['GITHUB_API_URL', apiUrl],
    ['GITHUB_SERVER_URL', serverUrl],
  ] as const)
    if (!/^https?:\/\/[^\s]+$/.test(value)) problems.push(`${name} must be an http(s) URL`);
  if (problems.length || !token || !m) throw new Error(`GitHub settings: ${problems.join('; ')}`);
  return { token, owner: m[1]!, repo: m[2]!, repository: `${m[1]}/${m[2]}`, apiUrl, serverUrl };
}

export function createGitHubClient(
  settings: Pick<GitHubEnv, 'token' | 'apiUrl'>,
  env: NodeJS.ProcessEnv = process.env,
): GitHubClient {
  // Outside Actions `::add-mask::` would print the token to the console instead of hiding it.
  if (env['GITHUB_ACTIONS'] === 'true') core.setSecret(settings.token);
  const quiet = () => undefined;
  return getOctokit(settings.token, {
    baseUrl: settings.apiUrl,
    log: { debug: quiet, info: quiet, warn: quiet, error: quiet },
  });
}
