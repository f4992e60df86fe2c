import { runChecks } from '../engine/run-checks.js';
import { createGitHubClient } from '../incidents/github-client.js';
import { createGitHubWorkflowRunsSource, type FailedWorkflowRun } from '../sources/github-workflow-runs.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { failedWorkflowsCheck } from './failed-workflows.js';

const NOW = Date.parse('2026-03-02T08:00:00Z');
const run = (over: Partial<FailedWorkflowRun> = {}): FailedWorkflowRun => ({
  id: 1,
  name: 'Ops daily',
  path: '.github/workflows/ops-daily.yml',
  runNumber: 12,
  event: 'schedule',
  branch: 'main',
  conclusion: 'failure',
  createdAt: '2026-03-02T06:00:00Z',
  url: 'https://github.com/acme/mqtt-saas/actions/runs/1',
  ...over,
});
const check = (runs: FailedWorkflowRun[], options = {}) =>
  failedWorkflowsCheck({ failedRuns: async () => runs }, options);

test.each([
  [[], 'ok', /no failed workflow runs since 2026-03-01T08:00:00.000Z/],
  [[run()], 'warn', /^1 failed run\(s\): Ops daily$/],
  [
    [run(), run({ id: 2 }), run({ id: 3, name: 'CI', path: '.github/workflows/ci.yml' })],
    'warn',
    /3 failed run\(s\): Ops daily \(2x\), CI/,
  ],
  [[run({ name: 'Backup', path: '.github/workflows/backup.yml' })], 'fail', /critical: Backup/],
  [Array.from({ length: 5 }, (_, i) => run({ id: i })), 'fail', /5 failed run/],
] as const)('%#: %s', async (runs, status, summary) => {
  const [result] = await runChecks([check([...runs])], { now: () => NOW });
  expect(result).toMatchObject({ id: 'daily.failed-workflows', status });
  expect(result!.summary).toMatch(summary);
  expect(result!.metrics['failed_runs']).toBe(runs.length);
  if (runs.length)
    expect(result!.evidence[0]).toBe(
      `${runs[0]!.name} #12 (schedule on main) failure at 2026-03-02T06:00:00Z: ${runs[0]!.url}`,
    );
});

test('options are validated early', () => {
  expect(() => check([], { failAtCount: 0 })).toThrow(/failAtCount/);
  expect(() => check([], { windowHours: -1 })).toThrow(/windowHours/);
});

describe('through Octokit against the GitHub stand-in', () => {
  let standin: GitHubStandin;
  beforeEach(async () => {
    standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' });
  });
  afterEach(() => standin.close());

  test('lists the last 24 h of failed runs across pages; older and successful runs are left out', async () => {
    for (let i = 0; i < 240; i++)
      standin.addWorkflowRun({
        name: i % 2 ? 'Ops daily' : 'CI',
        created_at: new Date(NOW - (i + 1) * 300_000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
        conclusion: i % 3 === 0 ? 'success' : 'failure',
      });
    standin.addWorkflowRun({ name: 'Backup', created_at: '2026-02-28T08:00:00Z', conclusion: 'failure' });
    const octokit = createGitHubClient({ token: standin.token, apiUrl: standin.url }, {});
    const source = createGitHubWorkflowRunsSource({ octokit, owner: 'acme', repo: 'mqtt-saas' });
    const [result] = await runChecks([failedWorkflowsCheck(source)], { now: () => NOW });
    expect(result!.status).toBe('fail'); // 160 failures >= 5
    expect(result!.metrics['failed_runs']).toBe(160);
    expect(result!.summary).not.toMatch(/Backup/);
    expect(result!.evidence[0]).toMatch(
      /^(CI|Ops daily) #\d+ \(schedule on main\) failure at .*: https:\/\/github.com\/acme\/mqtt-saas\/actions\/runs\/\d+$/,
    );
    const calls = standin.requests.filter((r) => r.operationId === 'actions/list-workflow-runs-for-repo');
    expect(calls).toHaveLength(2); // 160 runs at 100 per page, followed through the Link header
    expect(calls[0]!.query).toMatchObject({
      status: 'failure',
      created: '>=2026-03-01T08:00:00Z',
      per_page: '100',
    });
    standin.assertNoViolations();
  });

  test('no failures: ok', async () => {
    standin.addWorkflowRun({ name: 'CI', created_at: '2026-03-02T07:00:00Z', conclusion: 'success' });
    const octokit = createGitHubClient({ token: standin.token, apiUrl: standin.url }, {});
    const source = createGitHubWorkflowRunsSource({ octokit, owner: 'acme', repo: 'mqtt-saas' });
    const [result] = await runChecks([failedWorkflowsCheck(source)], { now: () => NOW });
    expect(result).toMatchObject({ status: 'ok', evidence: [] });
    standin.assertNoViolations();
  });
});
