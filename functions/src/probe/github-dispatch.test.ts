/** The probe's repository_dispatch, validated by the GitHub stand-in against the published OpenAPI description. */
import { startGitHubStandin, type GitHubStandin } from '../../../test/support/github-standin.js';
import { githubDispatcher } from './github-dispatch.js';
import { PROBE_EVENT_TYPE } from './run-probe.js';

let standin: GitHubStandin;
beforeAll(async () => {
  standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' });
});
afterAll(() => standin.close());

test('sends one valid repository_dispatch carrying the changes', async () => {
  const dispatch = githubDispatcher({
    repository: standin.repository,
    token: standin.token,
    apiUrl: standin.url,
  });
  const changes = [
    {
      checkId: 'daily.broker-uptime.tls',
      from: 'up' as const,
      to: 'down' as const,
      status: 'fail' as const,
      since: '2026-11-27T10:01:00.000Z',
      summary: 'connect failed: ECONNREFUSED',
    },
  ];
  await dispatch(PROBE_EVENT_TYPE, { changes, at: '2026-11-27T10:01:00.000Z' });
  expect(standin.dispatches).toEqual([
    { event_type: 'probe-state-changed', client_payload: { at: '2026-11-27T10:01:00.000Z', changes } },
  ]);
  expect(standin.requests.at(-1)).toMatchObject({
    method: 'POST',
    path: '/repos/acme/mqtt-saas/dispatches',
    status: 204,
  });
  standin.assertNoViolations();
});

test('a refused token is an error the probe reports (and retries next minute)', async () => {
  const dispatch = githubDispatcher({
    repository: standin.repository,
    token: 'ghs_wrong',
    apiUrl: standin.url,
  });
  await expect(dispatch(PROBE_EVENT_TYPE, { changes: [], at: '2026-11-27T10:02:00.000Z' })).rejects.toThrow(
    /Bad credentials/,
  );
});
