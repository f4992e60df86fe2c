/**
 * Sends the probe's state changes to GitHub as a `repository_dispatch` event. One documented POST
 * with fetch: Octokit (@actions/github) would pull a few hundred kB of client into the bundle.
 */
import type { Dispatch } from './run-probe.js';

export function githubDispatcher(options: { repository: string; token: string; apiUrl: string }): Dispatch {
  const [owner, repo] = options.repository.split('/') as [string, string];
  const url = `${options.apiUrl.replace(/\/+$/, '')}/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/dispatches`;
  return async (eventType, payload) => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        accept: 'application/vnd.github+json',
        authorization: `Bearer ${options.token}`,
        'content-type': 'application/json',
        'user-agent': 'mqtt-saas-uptime-probe',
        'x-github-api-version': '2022-11-28',
      },
      // GitHub allows at most 10 top-level keys in client_payload.
      body: JSON.stringify({
        event_type: eventType,
        client_payload: { at: payload.at, changes: payload.changes },
      }),
      // The whole probe run must fit in its one-minute timer; a late dispatch is retried next run.
      signal: AbortSignal.timeout(15_000),
    });
    if (res.ok) return;
    const text = await res.text().catch(() => '');
    let message = text.slice(0, 200);
    try {
      message = String((JSON.parse(text) as { message?: unknown }).message ?? message);
    } catch {
      // not JSON: the text as it came
    }
    throw new Error(`repository_dispatch to ${options.repository}: HTTP ${res.status} ${message}`.trim());
  };
}
