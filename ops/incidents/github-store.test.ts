import type { CheckResult, CheckStatus, Severity } from '../engine/check.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { createIncidentStore } from './create-incident-store.js';
import { decodeMarker } from './marker.js';
import { incidentPolicy } from './policy.js';
import { reconcileIncidents } from './reconcile.js';

const T0 = Date.parse('2026-03-01T06:00:00Z');
const HOUR = 3_600_000;
const policy = incidentPolicy();
let standin: GitHubStandin;

beforeEach(async () => {
  standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' });
});
afterEach(async () => {
  await standin.close();
});

const store = (env = 'production') =>
  createIncidentStore({
    mode: 'github',
    env,
    environment: {
      GITHUB_TOKEN: standin.token,
      GITHUB_REPOSITORY: standin.repository,
      GITHUB_API_URL: standin.url,
      GITHUB_SERVER_URL: 'https://github.example.com',
    },
  });

const result = (
  status: CheckStatus,
  severity: Severity = 'critical',
  evidence = ['mqtts://broker:8883: ETIMEDOUT'],
): CheckResult => ({
  id: 'daily.broker-uptime.tls',
  title: 'Broker round trip on mqtts://broker:8883',
  status,
  severity,
  component: 'broker',
  playbook: 'broker-down',
  summary: status === 'ok' ? 'round trip in 40 ms' : 'connect timed out',
  metrics: {},
  evidence,
  charts: [],
  fingerprint: 'daily.broker-uptime.tls',
  startedAt: new Date(T0).toISOString(),
  durationMs: 1,
});

const incidents = () => standin.issues.filter((i) => i.labels.includes('incident'));

test('opens a labelled issue after two failures, with the counters kept in an ops-state issue meanwhile', async () => {
  const first = await reconcileIncidents([result('fail')], store(), policy, T0);
  expect(first).toMatchObject({ mode: 'github', opened: [], errors: [] });
  const [state] = standin.issues;
  expect(state).toMatchObject({
    title: 'Ops incident counters (production)',
    labels: ['ops-state'],
    state: 'open',
  });
  expect(decodeMarker(state!.body)).toMatchObject({
    kind: 'ops-state',
    trackers: { 'daily.broker-uptime.tls': { consecutiveFailures: 1 } },
  });

  const second = await reconcileIncidents([result('fail')], store(), policy, T0 + HOUR);
  expect(second.opened).toEqual([
    { fingerprint: 'daily.broker-uptime.tls', number: 2, url: 'https://github.com/acme/mqtt-saas/issues/2' },
  ]);
  const [issue] = incidents();
  expect(issue!.labels).toEqual(['incident', 'severity:critical', 'component:broker']);
  expect(standin.labels.get('severity:critical')?.color).toBe('b60205');
  expect(issue!.body).toContain(
    '[the ops-playbook workflow](https://github.example.com/acme/mqtt-saas/actions/workflows/ops-playbook.yml)',
  );
  expect(issue!.body).toContain('Since: 2026-03-01T06:00:00.000Z');
  expect(decodeMarker(standin.issues[0]!.body)).toMatchObject({ trackers: {} });
  expect(standin.requests.some((r) => r.path.startsWith('/search'))).toBe(false);
  standin.assertNoViolations();
});

test('finds its issue on a later page among many others, comments only on change, closes after two passes', async () => {
  // 150 open incident issues of another environment push ours to page 2 of the listing.
  for (let i = 0; i < 150; i++) {
    const staging = `<!-- ops:marker ${JSON.stringify({ kind: 'incident', v: 1, env: 'staging', fingerprint: `f${i}` })} -->`;
    standin.issues.push({
      number: standin.issues.length + 1,
      title: `staging ${i}`,
      body: staging,
      state: 'open',
      state_reason: null,
      labels: ['incident'],
      created_at: '2026-02-01T00:00:00Z',
      updated_at: '2026-02-01T00:00:00Z',
      closed_at: null,
      comments: [],
    });
  }
  await reconcileIncidents([result('fail')], store(), policy, T0);
  await reconcileIncidents([result('fail')], store(), policy, T0 + HOUR);
  const repeat = await reconcileIncidents([result('fail')], store(), policy, T0 + 2 * HOUR);
  expect(repeat.opened).toEqual([]);
  expect(repeat.updated).toEqual([expect.objectContaining({ commented: false })]);
  const ours = incidents().filter((i) => decodeMarker(i.body)?.env === 'production');
  expect(ours).toHaveLength(1);
  const listPages = standin.requests.filter(
    (r) => r.operationId === 'issues/list-for-repo' && r.query['page'] === '2',
  );
  expect(listPages.length).toBeGreaterThan(0);

  // A person adds a label; a severity change replaces only the engine's labels.
  ours[0]!.labels.push('on-call:alice');
  const changed = await reconcileIncidents([result('fail', 'high')], store(), policy, T0 + 3 * HOUR);
  expect(changed.updated).toEqual([expect.objectContaining({ commented: true })]);
  expect(ours[0]!.labels).toEqual(['on-call:alice', 'incident', 'severity:high', 'component:broker']);

  await reconcileIncidents([result('ok', 'high')], store(), policy, T0 + 4 * HOUR);
  const closed = await reconcileIncidents([result('ok', 'high')], store(), policy, T0 + 5 * HOUR);
  expect(closed.closed).toEqual([expect.objectContaining({ reason: 'resolved', outageMs: 5 * HOUR })]);
  expect(ours[0]).toMatchObject({ state: 'closed', state_reason: 'completed' });
  expect(ours[0]!.comments.map((c) => c.body.split(/[(\n]/)[0])).toEqual([
    '**Changed** ',
    '**Changed** ',
    '**Resolved**: 2 passing run',
  ]);
  expect(ours[0]!.comments[2]!.body).toContain('(5 h)');
  standin.assertNoViolations();
});

test('the evidence that opened an issue stays in its body through later runs and after it closes', async () => {
  const run = (h: number, status: CheckStatus, evidence: string[]) =>
    reconcileIncidents([result(status, 'critical', evidence)], store(), policy, T0 + h * HOUR);
  await run(0, 'fail', ['first failing run: ETIMEDOUT']);
  await run(1, 'fail', ['mqtts://broker:8883: ETIMEDOUT after 5000 ms', 'listener tls: no CONNACK']);
  await run(2, 'fail', ['mqtts://broker:8883: ECONNREFUSED']);
  await run(3, 'ok', ['round trip in 40 ms']);
  await run(4, 'ok', ['round trip in 38 ms']);
  const [issue] = incidents();
  expect(issue).toMatchObject({ state: 'closed', state_reason: 'completed' });
  const body = issue!.body!;
  const opening = body.slice(body.indexOf('### When it opened'), body.indexOf('### Playbook'));
  expect(opening).toContain('### When it opened (2026-03-01T07:00:00.000Z)');
  expect(opening).toContain('**FAIL**: connect timed out');
  expect(opening).toContain('- mqtts://broker:8883: ETIMEDOUT after 5000 ms\n- listener tls: no CONNACK');
  // The rest of the body is the latest run; what happened in between is in the comments.
  expect(body).toMatch(/### Evidence \(latest run\)\n\n- round trip in 38 ms\n/);
  expect(body).not.toContain('ECONNREFUSED');
  expect(issue!.comments.some((c) => c.body.includes('ECONNREFUSED'))).toBe(true);
  expect(decodeMarker(body)).toMatchObject({ kind: 'incident', consecutivePasses: 2 });
  standin.assertNoViolations();
});

test('two reconciles at once leave exactly one open issue; the later one is closed as a duplicate', async () => {
  const slow = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas', latencyMs: 15 });
  try {
    const env = {
      GITHUB_TOKEN: slow.token,
      GITHUB_REPOSITORY: slow.repository,
      GITHUB_API_URL: slow.url,
    };
    const make = () => createIncidentStore({ mode: 'github', env: 'production', environment: env });
    await reconcileIncidents([result('fail')], make(), policy, T0);
    const [a, b] = await Promise.all([
      reconcileIncidents([result('fail')], make(), policy, T0 + HOUR),
      reconcileIncidents([result('fail')], make(), policy, T0 + HOUR),
    ]);
    const all = slow.issues.filter((i) => i.labels.includes('incident'));
    expect(all).toHaveLength(2); // both runs created one: the race really happened
    expect(all.filter((i) => i.state === 'open')).toHaveLength(1);
    const dup = all.find((i) => i.state === 'closed')!;
    expect(dup.state_reason).toBe('duplicate');
    expect(dup.comments[0]!.body).toMatch(/^Duplicate of #\d+/);
    expect([...a!.opened, ...b!.opened]).toHaveLength(1);
    expect([...a!.closed, ...b!.closed]).toEqual([expect.objectContaining({ reason: 'duplicate' })]);
    // The next run sees one incident and updates it.
    const next = await reconcileIncidents([result('fail')], make(), policy, T0 + 2 * HOUR);
    expect(next).toMatchObject({ opened: [], closed: [], errors: [] });
    expect(next.updated).toHaveLength(1);
    slow.assertNoViolations();
  } finally {
    await slow.close();
  }
});

test('the token appears in no issue, comment, summary or error', async () => {
  await reconcileIncidents([result('fail')], store(), policy, T0);
  const summary = await reconcileIncidents([result('fail')], store(), policy, T0 + HOUR);
  const broken = createIncidentStore({
    mode: 'github',
    env: 'production',
    environment: {
      GITHUB_TOKEN: 'ghs_not_the_right_one',
      GITHUB_REPOSITORY: standin.repository,
      GITHUB_API_URL: standin.url,
    },
  });
  const error = await reconcileIncidents([result('fail')], broken, policy, T0).catch((e: Error) => e);
  expect(error).toBeInstanceOf(Error);
  expect(String((error as Error).message)).toMatch(/Bad credentials/);
  const text = JSON.stringify([summary, standin.issues, (error as Error).message, (error as Error).stack]);
  expect(text).not.toContain(standin.token);
  expect(text).not.toContain('ghs_not_the_right_one');
});
