import { getOctokit } from '@actions/github';
import { loadGitHubOpenApi, startGitHubStandin, type GitHubStandin } from './github-standin.js';

let standin: GitHubStandin;
let octokit: ReturnType<typeof getOctokit>;
const owner = 'acme';
const repo = 'mqtt-saas';

beforeEach(async () => {
  standin = await startGitHubStandin({ owner, repo, now: () => Date.parse('2026-03-01T10:00:00Z') });
  octokit = getOctokit(standin.token, { baseUrl: standin.url });
});
afterEach(() => standin.close());

test('issues: create, get, update, comment and list round-trip with published shapes', async () => {
  const created = await octokit.rest.issues.create({
    owner,
    repo,
    title: 'Broker down',
    body: 'x',
    labels: ['incident'],
  });
  expect(created.status).toBe(201);
  expect(created.data.number).toBe(1);
  expect(created.data.html_url).toBe('https://github.com/acme/mqtt-saas/issues/1');
  expect(created.data.labels).toEqual([expect.objectContaining({ name: 'incident' })]);
  await octokit.rest.issues.createComment({ owner, repo, issue_number: 1, body: 'still down' });
  await octokit.rest.issues.update({
    owner,
    repo,
    issue_number: 1,
    state: 'closed',
    state_reason: 'completed',
  });
  const got = await octokit.rest.issues.get({ owner, repo, issue_number: 1 });
  expect(got.data).toMatchObject({ state: 'closed', state_reason: 'completed', comments: 1 });
  expect(got.data.pull_request).toBeUndefined();
  const comments = await octokit.rest.issues.listComments({ owner, repo, issue_number: 1 });
  expect(comments.data.map((c) => c.body)).toEqual(['still down']);
  standin.assertNoViolations();
});

test('issue listing filters by labels and state and paginates with a Link header', async () => {
  for (let i = 0; i < 7; i++)
    await octokit.rest.issues.create({
      owner,
      repo,
      title: `t${i}`,
      labels: i % 2 ? ['incident'] : ['other'],
    });
  await octokit.rest.issues.update({ owner, repo, issue_number: 2, state: 'closed' });
  const first = await octokit.rest.issues.listForRepo({
    owner,
    repo,
    labels: 'incident',
    state: 'open',
    per_page: 1,
  });
  expect(first.headers.link).toMatch(/rel="next"/);
  expect(first.headers.link).toMatch(/page=2/);
  const all = await octokit.paginate(octokit.rest.issues.listForRepo, {
    owner,
    repo,
    labels: 'incident',
    state: 'open',
    per_page: 1,
  });
  expect(all.map((i) => i.number).sort()).toEqual([4, 6]);
  const pages = standin.requests.filter((r) => r.operationId === 'issues/list-for-repo').length;
  expect(pages).toBe(1 + 2); // the probe page, then two pages followed through Link
  standin.assertNoViolations();
});

test('an invalid body is answered 422 and recorded as a violation', async () => {
  await expect(
    octokit.request('PATCH /repos/{owner}/{repo}/issues/{issue_number}', {
      owner,
      repo,
      issue_number: 1,
      state: 'gone' as 'open',
    }),
  ).rejects.toMatchObject({ status: 422 });
  expect(standin.violations).toHaveLength(1);
  expect(standin.violations[0]).toMatch(/state/);
  expect(() => standin.assertNoViolations()).toThrow(/invalid traffic/);
});

test('an unknown query parameter, an unknown path and a missing required field are rejected', async () => {
  await expect(
    octokit.request('GET /repos/{owner}/{repo}/issues', { owner, repo, labelz: 'incident' }),
  ).rejects.toMatchObject({ status: 422 });
  await expect(
    octokit.request('GET /repos/{owner}/{repo}/no-such-thing', { owner, repo }),
  ).rejects.toMatchObject({
    status: 404,
  });
  await expect(
    octokit.request('POST /repos/{owner}/{repo}/issues', { owner, repo, body: 'no title' } as never),
  ).rejects.toMatchObject({ status: 422 });
  expect(standin.violations).toHaveLength(3);
});

test('a wrong token gets 401 Bad credentials', async () => {
  const other = getOctokit('ghs_wrong', { baseUrl: standin.url });
  await expect(other.rest.issues.listForRepo({ owner, repo })).rejects.toMatchObject({ status: 401 });
});

test('labels: get 404 until created, then 200; creating twice is 422 already_exists', async () => {
  await expect(octokit.rest.issues.getLabel({ owner, repo, name: 'incident' })).rejects.toMatchObject({
    status: 404,
  });
  await octokit.rest.issues.createLabel({ owner, repo, name: 'incident', color: 'b60205' });
  const label = await octokit.rest.issues.getLabel({ owner, repo, name: 'incident' });
  expect(label.data.color).toBe('b60205');
  await expect(octokit.rest.issues.createLabel({ owner, repo, name: 'incident' })).rejects.toMatchObject({
    status: 422,
  });
  // A 404 for a missing label is GitHub's answer, not a broken request.
  expect(standin.violations).toEqual([]);
});

test('workflow runs: filtered by created and status, paginated under workflow_runs', async () => {
  standin.addWorkflowRun({ name: 'Backup', created_at: '2026-03-01T02:00:00Z', conclusion: 'failure' });
  standin.addWorkflowRun({ name: 'Ops daily', created_at: '2026-03-01T06:00:00Z', conclusion: 'failure' });
  standin.addWorkflowRun({ name: 'Ops daily', created_at: '2026-03-01T07:00:00Z', conclusion: 'success' });
  standin.addWorkflowRun({ name: 'Deploy', created_at: '2026-02-27T06:00:00Z', conclusion: 'failure' });
  const runs = await octokit.paginate(octokit.rest.actions.listWorkflowRunsForRepo, {
    owner,
    repo,
    status: 'failure',
    created: '>=2026-02-28T10:00:00Z',
    per_page: 1,
  });
  expect(runs.map((r) => r.name)).toEqual(['Ops daily', 'Backup']);
  expect(runs[0]!.html_url).toMatch(/^https:\/\/github.com\/acme\/mqtt-saas\/actions\/runs\/\d+$/);
  standin.assertNoViolations();
});

test('the response check is real: a body missing required fields fails the published schema', () => {
  const api = loadGitHubOpenApi();
  expect(api.validate('#/components/schemas/issue', { number: 1 })).toMatch(/required/);
  expect(api.validate('#/components/schemas/issue', api.examples['issue'])).toBeNull();
});
