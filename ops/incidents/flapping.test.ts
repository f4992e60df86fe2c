/**
 * End to end against the GitHub stand-in (real Octokit, validated requests): a flapping broker and
 * six steadily failing checks across sixteen runs, six hours apart. Asserts exactly when the
 * flapping target's issues open, get comments and close, the outage durations, the per-run cap,
 * that identical repeats never comment, and a concurrent pair of runs.
 */
import type { CheckResult, CheckStatus, Severity } from '../engine/check.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { createIncidentStore } from './create-incident-store.js';
import { decodeMarker } from './marker.js';
import { incidentPolicy } from './policy.js';
import { reconcileIncidents, type IncidentSummary } from './reconcile.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const RUN_EVERY = 6 * 3_600_000;
const FLAP = 'daily.broker-uptime.tls';
let standin: GitHubStandin;

beforeAll(async () => {
  standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas', latencyMs: 2 });
});
afterAll(() => standin.close());

function check(id: string, status: CheckStatus, severity: Severity, summary: string): CheckResult {
  return {
    id,
    title: id,
    status,
    severity,
    component: 'broker',
    playbook: id === FLAP ? 'broker-down' : null,
    summary,
    metrics: {},
    evidence: [`${id}: ${summary}`],
    charts: [],
    fingerprint: id,
    startedAt: new Date(T0).toISOString(),
    durationMs: 1,
  };
}

// Run 14 fails differently (auth instead of timeout): a material change.
const flapping: [CheckStatus, string][] = [
  ['fail', 'timeout'],
  ['fail', 'timeout'],
  ['ok', 'up'],
  ['fail', 'timeout'],
  ['fail', 'timeout'],
  ['fail', 'timeout'],
  ['ok', 'up'],
  ['ok', 'up'],
  ['fail', 'timeout'],
  ['ok', 'up'],
  ['ok', 'up'],
  ['fail', 'timeout'],
  ['fail', 'timeout'],
  ['fail', 'auth refused'],
  ['ok', 'up'],
  ['ok', 'up'],
];
const STEADY = Array.from({ length: 6 }, (_, i) => `daily.steady-${i}`);

const results = (run: number) => [
  check(FLAP, flapping[run]![0], 'critical', `broker ${flapping[run]![1]} after ${4000 + run} ms`),
  ...STEADY.map((id) => check(id, 'fail', 'medium', `still broken, ${run * 7} errors`)),
];

test('a flapping target across sixteen runs', async () => {
  const policy = incidentPolicy({ openAfter: 2, closeAfter: 2, maxOpenedPerRun: 5 });
  const store = () =>
    createIncidentStore({
      mode: 'github',
      env: 'production',
      environment: {
        GITHUB_TOKEN: standin.token,
        GITHUB_REPOSITORY: standin.repository,
        GITHUB_API_URL: standin.url,
      },
    });
  const events: string[] = [];
  const opensPerRun: number[] = [];
  const heldPerRun: number[] = [];
  for (let run = 0; run < flapping.length; run++) {
    const now = T0 + run * RUN_EVERY;
    // Run 13 (index 12) is triggered twice at the same moment (schedule + manual dispatch).
    const summaries: IncidentSummary[] =
      run === 12
        ? await Promise.all([
            reconcileIncidents(results(run), store(), policy, now),
            reconcileIncidents(results(run), store(), policy, now),
          ])
        : [await reconcileIncidents(results(run), store(), policy, now)];
    for (const s of summaries) expect(s.errors).toEqual([]);
    const opened = summaries.flatMap((s) => s.opened).filter((x) => x.fingerprint === FLAP);
    const commented = summaries
      .flatMap((s) => s.updated)
      .filter((x) => x.fingerprint === FLAP && x.commented);
    const closed = summaries
      .flatMap((s) => s.closed)
      .filter((x) => x.fingerprint === FLAP && x.reason === 'resolved');
    events.push(opened.length ? 'open' : closed.length ? 'close' : commented.length ? 'comment' : '-');
    opensPerRun.push(summaries.reduce((n, s) => n + s.opened.length, 0));
    heldPerRun.push(summaries[0]!.heldBack.length);

    // Never two open issues for one fingerprint, after any run.
    const open = standin.issues.filter((i) => i.state === 'open' && i.labels.includes('incident'));
    const fps = open.map((i) => (decodeMarker(i.body) as { fingerprint: string }).fingerprint);
    expect(new Set(fps).size).toBe(fps.length);
  }

  expect(events).toEqual([
    '-',
    'open',
    'comment',
    'comment',
    '-',
    '-',
    'comment',
    'close',
    '-',
    '-',
    '-',
    '-',
    'open',
    'comment',
    'comment',
    'close',
  ]);
  // Run 2: the critical flapping broker first, then four of the six steady checks (cap 5); the other
  // two are held back and open in run 3.
  expect(opensPerRun.slice(0, 4)).toEqual([0, 5, 2, 0]);
  expect(heldPerRun.slice(0, 4)).toEqual([0, 2, 0, 0]);

  const flapIssues = standin.issues.filter(
    (i) =>
      decodeMarker(i.body)?.kind === 'incident' &&
      (decodeMarker(i.body) as { fingerprint: string }).fingerprint === FLAP,
  );
  const resolved = flapIssues.filter((i) => i.state_reason === 'completed');
  const duplicates = flapIssues.filter((i) => i.state_reason === 'duplicate');
  expect(resolved).toHaveLength(2);
  expect(duplicates).toHaveLength(1); // the concurrent pair created two; one was closed at once
  expect(resolved[0]!.comments.at(-1)!.body).toContain(
    'Outage: 2026-03-01T00:00:00.000Z → 2026-03-02T18:00:00.000Z (1 d 18 h).',
  );
  expect(resolved[1]!.comments.at(-1)!.body).toContain(
    'Outage: 2026-03-03T18:00:00.000Z → 2026-03-04T18:00:00.000Z (1 d).',
  );
  // First outage: fail->ok, ok->fail, fail->ok comments, then the resolution.
  expect(resolved[0]!.comments).toHaveLength(4);

  // The steady failures were commented on never: their numbers change, their words do not.
  const steady = standin.issues.filter((i) =>
    STEADY.includes((decodeMarker(i.body) as { fingerprint?: string } | null)?.fingerprint ?? ''),
  );
  expect(steady.filter((i) => i.state === 'open')).toHaveLength(6);
  expect(steady.flatMap((i) => i.comments)).toEqual([]);
  expect(standin.requests.some((r) => r.path.startsWith('/search'))).toBe(false);
  standin.assertNoViolations();
});
