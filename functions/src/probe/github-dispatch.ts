/** Sends the probe's state changes to GitHub as a `repository_dispatch` event. */
import { getOctokit } from '@actions/github';
import type { Dispatch } from './run-probe.js';

export function githubDispatcher(options: { repository: string; token: string; apiUrl: string }): Dispatch {
  const [owner, repo] = options.repository.split('/') as [string, string];
  const octokit = getOctokit(options.token, { baseUrl: options.apiUrl, request: { retries: 0 } });
  return async (eventType, payload) => {
    await octokit.rest.repos.createDispatchEvent({
      owner,
      repo,
      event_type: eventType,
      // GitHub allows at most 10 top-level keys in client_payload.
      client_payload: { at: payload.at, changes: payload.changes },
    });
  };
}
