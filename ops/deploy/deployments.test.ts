/**
 * The deploy's GitHub Deployments records against the GitHub stand-in (every request checked
 * against GitHub's OpenAPI description): the last successful deployment per deployable, across
 * failed, unfinished and superseded ones and other environments, and the records the later stages
 * write.
 */
import { getOctokit } from '@actions/github';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import {
  createDeployment,
  lastSuccessfulDeployments,
  setDeploymentStatus,
  type DeploymentsRepo,
} from './deployments.js';

const sha = (c: string) => c.repeat(40);
let standin: GitHubStandin;
let repo: DeploymentsRepo;
let minute = 0;
const at = () =>
  new Date(Date.parse('2026-03-01T10:00:00Z') + ++minute * 60_000).toISOString().replace('.000', '');

beforeEach(async () => {
  standin = await startGitHubStandin({ now: () => Date.parse('2026-03-02T10:00:00Z') + minute++ * 1000 });
  repo = {
    octokit: getOctokit(standin.token, { baseUrl: standin.url }),
    owner: standin.owner,
    repo: standin.repo,
  };
});
afterEach(async () => {
  try {
    standin.assertNoViolations();
  } finally {
    await standin.close();
  }
});

test('the newest successful deployment is the base; a failed or unfinished later one is not', async () => {
  const good = standin.addDeployment({ sha: sha('a'), environment: 'prod', created_at: at() }, [
    'in_progress',
    'success',
  ]);
  standin.addDeployment({ sha: sha('b'), environment: 'prod', created_at: at() }, ['in_progress', 'failure']);
  standin.addDeployment({ sha: sha('c'), environment: 'prod', created_at: at() }, ['in_progress']);
  standin.addDeployment({ sha: sha('d'), environment: 'prod', created_at: at() }, []);
  // Another environment's success is not prod's.
  standin.addDeployment({ sha: sha('e'), environment: 'staging', created_at: at() }, ['success']);
  const found = await lastSuccessfulDeployments(repo, 'prod');
  const expected = {
    id: good.id,
    sha: sha('a'),
    createdAt: good.created_at,
    deployables: ['database', 'functions', 'vm', 'pages'],
  };
  expect(found).toEqual({ database: expected, functions: expected, vm: expected, pages: expected });
  const listed = standin.requests.filter((r) => r.operationId === 'repos/list-deployments');
  expect(listed.map((r) => r.query)).toEqual([{ environment: 'prod', per_page: '100' }]);
});

test('inactive after a success still counts (GitHub marks superseded ones so); inactive alone does not', async () => {
  const superseded = standin.addDeployment({ sha: sha('a'), environment: 'prod', created_at: at() }, [
    'success',
    'inactive',
  ]);
  standin.addDeployment({ sha: sha('b'), environment: 'prod', created_at: at() }, ['inactive']);
  expect((await lastSuccessfulDeployments(repo, 'prod')).vm?.id).toBe(superseded.id);
});

test('a deployment of some stages is the base of those only', async () => {
  const full = standin.addDeployment({ sha: sha('a'), environment: 'prod', created_at: at() }, ['success']);
  const functionsOnly = standin.addDeployment(
    { sha: sha('b'), environment: 'prod', created_at: at(), payload: { deployables: ['functions'] } },
    ['success'],
  );
  const found = await lastSuccessfulDeployments(repo, 'prod');
  expect(found.functions).toMatchObject({ id: functionsOnly.id, sha: sha('b'), deployables: ['functions'] });
  expect(found.database).toMatchObject({ id: full.id, sha: sha('a') });
  expect(found.vm?.id).toBe(full.id);
});

test('no successful deployment: no base; older ones are found on later pages', async () => {
  expect(await lastSuccessfulDeployments(repo, 'prod')).toEqual({});
  const old = standin.addDeployment({ sha: sha('a'), environment: 'prod', created_at: at() }, ['success']);
  for (let i = 0; i < 120; i++)
    standin.addDeployment({ sha: sha('b'), environment: 'prod', created_at: at() }, ['failure']);
  expect((await lastSuccessfulDeployments(repo, 'prod')).database?.id).toBe(old.id);
  const pages = standin.requests.filter((r) => r.operationId === 'repos/list-deployments');
  expect(pages.at(-1)?.query).toMatchObject({ page: '2' });
});

test('records: created for a SHA without auto-merge or required contexts, then statuses with the URL', async () => {
  const previous = standin.addDeployment({ sha: sha('a'), environment: 'prod', created_at: at() }, [
    'success',
  ]);
  const id = await createDeployment(repo, {
    sha: sha('b'),
    environment: 'prod',
    deployables: ['functions', 'vm'],
    description: `deploy ${'x'.repeat(200)}`,
  });
  const created = standin.requests.find((r) => r.operationId === 'repos/create-deployment')!;
  expect(created.body).toMatchObject({
    ref: sha('b'),
    environment: 'prod',
    auto_merge: false,
    required_contexts: [],
    payload: { deployables: ['functions', 'vm'] },
  });
  expect((created.body!.description as string).length).toBe(140);

  await setDeploymentStatus(repo, id, { state: 'in_progress', description: 'deploying functions, vm' });
  expect((await lastSuccessfulDeployments(repo, 'prod')).vm?.id).toBe(previous.id);
  await setDeploymentStatus(repo, id, {
    state: 'success',
    description: 'deployed; smoke test passed',
    environmentUrl: 'https://func-mqtt-saas-prod.azurewebsites.net/api/health',
    logUrl: 'https://github.com/acme/mqtt-saas/actions/runs/1',
  });
  const deployment = standin.deployments.find((d) => d.id === id)!;
  expect(deployment.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
  expect(deployment.statuses[1]).toMatchObject({
    environment: 'prod',
    environment_url: 'https://func-mqtt-saas-prod.azurewebsites.net/api/health',
    log_url: 'https://github.com/acme/mqtt-saas/actions/runs/1',
  });
  // GitHub's auto_inactive marked the earlier one; it stays the base of what the new one left out.
  expect(previous.statuses.map((s) => s.state)).toEqual(['success', 'inactive']);
  const found = await lastSuccessfulDeployments(repo, 'prod');
  expect(found.functions?.id).toBe(id);
  expect(found.vm?.id).toBe(id);
  expect(found.database?.id).toBe(previous.id);

  const failed = await createDeployment(repo, {
    sha: sha('c'),
    environment: 'prod',
    deployables: ['vm'],
    description: 'x',
  });
  await setDeploymentStatus(repo, failed, {
    state: 'failure',
    description: 'smoke test failed; rolled back',
  });
  expect((await lastSuccessfulDeployments(repo, 'prod')).vm?.id).toBe(id);
});

test('a ref GitHub does not know is refused', async () => {
  await expect(
    createDeployment(repo, {
      sha: 'no-such-branch',
      environment: 'prod',
      deployables: ['vm'],
      description: 'x',
    }),
  ).rejects.toMatchObject({ status: 422 });
});
