import type { CheckResult, CheckStatus } from '../engine/check.js';
import { decodeMarker, type IncidentMarker } from './marker.js';
import {
  evidenceKey,
  planIncidents,
  type CloseAction,
  type IncidentPlan,
  type IncidentSnapshot,
  type OpenAction,
  type UpdateAction,
} from './plan.js';
import { incidentPolicy } from './policy.js';

const T0 = Date.parse('2026-03-01T06:00:00Z');
const HOUR = 3_600_000;
const WORKFLOW = 'https://github.com/acme/mqtt-saas/actions/workflows/ops-playbook.yml';
const ctx = (hours: number, env = 'production') => ({
  env,
  now: new Date(T0 + hours * HOUR),
  playbookWorkflowUrl: WORKFLOW,
});
const policy = incidentPolicy();

function result(status: CheckStatus, over: Partial<CheckResult> = {}): CheckResult {
  return {
    id: 'daily.broker-uptime.tls',
    title: 'Broker round trip on mqtts://broker:8883',
    status,
    severity: 'critical',
    component: 'broker',
    playbook: 'broker-down',
    summary: status === 'ok' ? 'round trip in 42 ms' : 'connect timed out after 5000 ms',
    metrics: {},
    evidence: status === 'ok' ? ['connected in 12 ms'] : ['mqtts://broker:8883: ETIMEDOUT after 5000 ms'],
    charts: [],
    fingerprint: over.id ?? 'daily.broker-uptime.tls',
    startedAt: new Date(T0).toISOString(),
    durationMs: 5,
    ...over,
  };
}

/** Carries a plan out in memory, as a store would. */
function apply(snapshot: IncidentSnapshot, plan: IncidentPlan, numbers = { next: 1 }): IncidentSnapshot {
  let incidents = [...snapshot.incidents];
  for (const a of plan.actions) {
    if (a.kind === 'open')
      incidents.push({ number: numbers.next++, url: 'u', marker: a.marker, body: a.body });
    if (a.kind === 'update')
      incidents = incidents.map((i) =>
        i.number === a.number ? { ...i, marker: a.marker, body: a.body } : i,
      );
    if (a.kind === 'close') incidents = incidents.filter((i) => i.number !== a.number);
  }
  return { incidents, trackers: plan.trackers };
}

const empty: IncidentSnapshot = { incidents: [], trackers: {} };
const only = <K extends string>(plan: IncidentPlan, kind: K) => plan.actions.filter((a) => a.kind === kind);

describe('opening', () => {
  test('a first failure only counts; the second in a row opens one labelled issue', () => {
    const first = planIncidents(empty, [result('fail')], policy, ctx(0));
    expect(first.actions).toEqual([]);
    expect(first.trackersChanged).toBe(true);
    expect(first.trackers['daily.broker-uptime.tls']).toMatchObject({
      consecutiveFailures: 1,
      since: '2026-03-01T06:00:00.000Z',
    });

    const second = planIncidents(apply(empty, first), [result('error')], policy, ctx(24));
    const [open] = second.actions as OpenAction[];
    expect(second.actions).toHaveLength(1);
    expect(open!.kind).toBe('open');
    expect(open!.labels).toEqual(['incident', 'severity:critical', 'component:broker']);
    expect(open!.title).toBe('Incident (production): Broker round trip on mqtts://broker:8883');
    expect(open!.body).toContain('Since: 2026-03-01T06:00:00.000Z');
    expect(open!.body).toContain('ETIMEDOUT after 5000 ms');
    expect(open!.body).toContain(`[the ops-playbook workflow](${WORKFLOW})`);
    expect(open!.body).toContain('set the input `playbook` to `broker-down`');
    expect(decodeMarker(open!.body)).toEqual(open!.marker);
    expect(open!.marker).toMatchObject({ consecutiveFailures: 2, lastStatus: 'error', rev: 1 });
    // The counters now live in the issue.
    expect(second.trackers).toEqual({});
  });

  test('a pass in between resets the count (fail, ok, fail opens nothing)', () => {
    let s = empty;
    for (const [h, status] of [
      [0, 'fail'],
      [1, 'ok'],
      [2, 'fail'],
    ] as const) {
      const plan = planIncidents(s, [result(status)], policy, ctx(h));
      expect(plan.actions).toEqual([]);
      s = apply(s, plan);
    }
    expect(s.trackers['daily.broker-uptime.tls']!.consecutiveFailures).toBe(1);
    expect(s.trackers['daily.broker-uptime.tls']!.since).toBe(new Date(T0 + 2 * HOUR).toISOString());
  });

  test('warn counts as a pass by default and as a failure when the policy says so', () => {
    const warns = [result('warn'), result('warn')];
    let s = apply(empty, planIncidents(empty, [warns[0]!], policy, ctx(0)));
    expect(s.trackers).toEqual({});
    const strict = incidentPolicy({ warnIsFailure: true });
    s = apply(empty, planIncidents(empty, [warns[0]!], strict, ctx(0)));
    expect(only(planIncidents(s, [warns[1]!], strict, ctx(1)), 'open')).toHaveLength(1);
  });

  test('skipped results change nothing, and checks absent from the run keep their issues and counters', () => {
    const s: IncidentSnapshot = {
      incidents: [
        {
          number: 7,
          url: 'u7',
          marker: marker({ fingerprint: 'weekly.restore-test', checkId: 'weekly.restore-test' }),
        },
      ],
      trackers: { 'daily.cost-burn': tracker('daily.cost-burn', 0) },
    };
    const plan = planIncidents(s, [result('skipped')], policy, ctx(1));
    expect(plan.actions).toEqual([]);
    expect(plan.trackersChanged).toBe(false);
    expect(plan.trackers).toEqual(s.trackers);
  });

  test('the per-run cap opens the most severe first and holds the rest back until a later run', () => {
    const ids = ['daily.cost-burn', 'daily.backup-freshness', 'daily.broker-uptime.mqtt'];
    const severities = ['medium', 'high', 'critical'] as const;
    const failing = ids.map((id, i) => result('fail', { id, fingerprint: id, severity: severities[i]! }));
    const capped = incidentPolicy({ maxOpenedPerRun: 2 });
    let s = apply(empty, planIncidents(empty, failing, capped, ctx(0)));
    const plan = planIncidents(s, failing, capped, ctx(1));
    expect((only(plan, 'open') as OpenAction[]).map((a) => a.fingerprint)).toEqual([
      'daily.broker-uptime.mqtt',
      'daily.backup-freshness',
    ]);
    expect(plan.heldBack).toEqual([
      expect.objectContaining({ fingerprint: 'daily.cost-burn', severity: 'medium', consecutiveFailures: 2 }),
    ]);
    expect(plan.trackers['daily.cost-burn']!.consecutiveFailures).toBe(2);
    s = apply(s, plan);
    const next = planIncidents(s, failing, capped, ctx(2));
    expect((only(next, 'open') as OpenAction[]).map((a) => a.fingerprint)).toEqual(['daily.cost-burn']);
    expect((only(next, 'open') as OpenAction[])[0]!.marker.since).toBe(new Date(T0).toISOString());
    expect(next.heldBack).toEqual([]);
    expect(incidentPolicy({ maxOpenedPerRun: 0 }).maxOpenedPerRun).toBe(0);
  });

  test('a fingerprint reported twice in one run counts once, at its worst status', () => {
    const plan = planIncidents(empty, [result('ok'), result('fail'), result('warn')], policy, ctx(0));
    expect(plan.trackers['daily.broker-uptime.tls']).toMatchObject({
      consecutiveFailures: 1,
      lastStatus: 'fail',
    });
  });
});

describe('updating an open issue', () => {
  const open = (over: Partial<IncidentMarker> = {}): IncidentSnapshot => ({
    incidents: [{ number: 3, url: 'https://github.com/acme/mqtt-saas/issues/3', marker: marker(over) }],
    trackers: {},
  });

  test('an identical repeat (numbers aside) rewrites the counters but posts no comment', () => {
    const plan = planIncidents(
      open(),
      [
        result('fail', {
          summary: 'connect timed out after 5001 ms',
          evidence: ['mqtts://broker:8883: ETIMEDOUT after 4999 ms'],
        }),
      ],
      policy,
      ctx(5),
    );
    const [update] = plan.actions as UpdateAction[];
    expect(update).toMatchObject({ kind: 'update', number: 3, comment: null, labels: null, expectedRev: 4 });
    expect(update!.marker).toMatchObject({
      consecutiveFailures: 4,
      rev: 5,
      since: '2026-03-01T06:00:00.000Z',
    });
    expect(decodeMarker(update!.body)).toEqual(update!.marker);
  });

  test('a status change is commented', () => {
    const [update] = planIncidents(open(), [result('error')], policy, ctx(5)).actions as UpdateAction[];
    expect(update!.comment).toMatch(/^\*\*Changed\*\* \(status fail → error\)/);
    expect(update!.comment).toContain('Still failing (4 run(s) in a row)');
  });

  test('a severity change is commented and relabels the issue', () => {
    const [update] = planIncidents(open(), [result('fail', { severity: 'high' })], policy, ctx(5))
      .actions as UpdateAction[];
    expect(update!.comment).toContain('severity critical → high');
    expect(update!.labels).toEqual(['incident', 'severity:high', 'component:broker']);
  });

  test('new words in the summary or evidence are commented', () => {
    const a = planIncidents(
      open(),
      [result('fail', { summary: 'auth refused (not authorised)' })],
      policy,
      ctx(5),
    );
    expect((a.actions[0] as UpdateAction).comment).toContain('(summary)');
    const b = planIncidents(open(), [result('fail', { evidence: ['certificate expired'] })], policy, ctx(5));
    expect((b.actions[0] as UpdateAction).comment).toContain('(evidence)');
    expect((b.actions[0] as UpdateAction).comment).toContain('- certificate expired');
  });

  test('the first pass is commented as recovering; the M-th closes with the outage duration', () => {
    const first = planIncidents(open(), [result('ok')], policy, ctx(7.5));
    const recovering = first.actions[0] as UpdateAction;
    expect(recovering.comment).toContain('Passing again: 1 of 2 passing run(s) needed to close.');
    const s = apply(open(), first);
    const second = planIncidents(s, [result('ok')], policy, ctx(8.25));
    const [close] = second.actions as CloseAction[];
    expect(close).toMatchObject({ kind: 'close', reason: 'resolved', number: 3, outageMs: 8.25 * HOUR });
    expect(close!.comment).toContain(
      'Outage: 2026-03-01T06:00:00.000Z → 2026-03-01T14:15:00.000Z (8 h 15 min).',
    );
    expect(second.trackers).toEqual({});
  });

  test('a failure while recovering resets the passes and keeps the outage start', () => {
    let s = apply(open(), planIncidents(open(), [result('ok')], policy, ctx(6)));
    const plan = planIncidents(s, [result('fail')], policy, ctx(7));
    const update = plan.actions[0] as UpdateAction;
    expect(update.marker).toMatchObject({
      consecutivePasses: 0,
      consecutiveFailures: 1,
      since: '2026-03-01T06:00:00.000Z',
    });
    expect(update.comment).toContain('status ok → fail');
    s = apply(s, plan);
    expect(only(planIncidents(s, [result('ok')], policy, ctx(8)), 'close')).toHaveLength(0);
  });

  test('a duplicate left by a race is closed as a duplicate of the oldest', () => {
    const s: IncidentSnapshot = {
      incidents: [
        { number: 9, url: 'u9', marker: marker({ rev: 1 }) },
        { number: 4, url: 'u4', marker: marker() },
      ],
      trackers: {},
    };
    const plan = planIncidents(s, [result('fail')], policy, ctx(5));
    expect(plan.actions.map((a) => [a.kind, 'number' in a ? a.number : null])).toEqual([
      ['close', 9],
      ['update', 4],
    ]);
    expect((plan.actions[0] as CloseAction).comment).toMatch(/^Duplicate of #4/);
    expect((plan.actions[0] as CloseAction).reason).toBe('duplicate');
  });

  test('issues of another environment are not touched', () => {
    const plan = planIncidents(open({ env: 'staging' }), [result('fail')], policy, ctx(5));
    expect(plan.actions).toEqual([]);
    expect(plan.trackers['daily.broker-uptime.tls']!.consecutiveFailures).toBe(1);
  });
});

describe('the evidence that opened an issue', () => {
  const opened = () => {
    const failing = (evidence: string[]) => result('fail', { evidence });
    const first = planIncidents(empty, [failing(['run 1: ETIMEDOUT'])], policy, ctx(0));
    const hostile = ['run 2: ETIMEDOUT', 'log line with <!-- /ops:opening --> and --> in it'];
    const second = planIncidents(apply(empty, first), [failing(hostile)], policy, ctx(1));
    return apply(apply(empty, first), second);
  };
  const section = (body: string) =>
    body.slice(body.indexOf('<!-- ops:opening -->'), body.indexOf('<!-- /ops:opening -->'));

  test('is a section of the body written when it opens', () => {
    const body = opened().incidents[0]!.body!;
    expect(section(body)).toBe(
      [
        '<!-- ops:opening -->',
        '### When it opened (2026-03-01T07:00:00.000Z)',
        '',
        '**FAIL**: connect timed out after 5000 ms',
        '',
        '- run 2: ETIMEDOUT',
        '- log line with &lt;!-- /ops:opening --&gt; and --&gt; in it',
        '',
      ].join('\n'),
    );
  });

  test('is carried over verbatim by updates and the closing rewrite; the rest is the latest run', () => {
    let s = opened();
    const kept = section(s.incidents[0]!.body!);
    for (const [h, status, evidence] of [
      [2, 'fail', ['run 3: ECONNREFUSED']],
      [3, 'ok', ['run 4: 40 ms']],
      [4, 'ok', ['run 5: 38 ms']],
    ] as const) {
      const plan = planIncidents(s, [result(status, { evidence: [...evidence] })], policy, ctx(h));
      const [action] = plan.actions as (UpdateAction | CloseAction)[];
      expect(section(action!.body)).toBe(kept);
      expect(action!.body).toContain(`### Evidence (latest run)\n\n- ${evidence[0]}\n`);
      expect(decodeMarker(action!.body)).toEqual(action!.marker);
      expect(action!.kind).toBe(h === 4 ? 'close' : 'update');
      s = apply(s, plan);
    }
  });

  test('an issue whose body has no such section says it was not recorded', () => {
    const s: IncidentSnapshot = { incidents: [{ number: 3, url: 'u3', marker: marker() }], trackers: {} };
    const [update] = planIncidents(s, [result('fail')], policy, ctx(5)).actions as UpdateAction[];
    expect(section(update!.body)).toContain('_Not recorded: this issue was opened before');
  });
});

describe('component labels', () => {
  test("come from the result's component (runbook.yaml), none when it has none", () => {
    const failing = (component: CheckResult['component']) => [result('fail', { component })];
    const twice = (component: CheckResult['component']) =>
      planIncidents(
        apply(empty, planIncidents(empty, failing(component), policy, ctx(0))),
        failing(component),
        policy,
        ctx(1),
      );
    expect((twice('ingest').actions[0] as OpenAction).labels).toEqual([
      'incident',
      'severity:critical',
      'component:ingest',
    ]);
    expect((twice(null).actions[0] as OpenAction).labels).toEqual(['incident', 'severity:critical']);
  });

  test('a component moved in runbook.yaml relabels the open issue; an unchanged one leaves labels alone', () => {
    const s: IncidentSnapshot = { incidents: [{ number: 3, url: 'u3', marker: marker() }], trackers: {} };
    const same = planIncidents(s, [result('fail')], policy, ctx(5)).actions[0] as UpdateAction;
    expect(same.labels).toBeNull();
    const moved = planIncidents(s, [result('fail', { component: 'ingest' })], policy, ctx(5))
      .actions[0] as UpdateAction;
    expect(moved.labels).toEqual(['incident', 'severity:critical', 'component:ingest']);
    expect(moved.marker.component).toBe('ingest');
  });
});

test('counters not updated for 40 days are dropped', () => {
  const s: IncidentSnapshot = { incidents: [], trackers: { old: tracker('monthly.gone', -41 * 24) } };
  const plan = planIncidents(s, [], policy, ctx(0));
  expect(plan.trackers).toEqual({});
  expect(plan.trackersChanged).toBe(true);
});

describe('policy', () => {
  test('defaults: open after 2, close after 2, warn is not a failure, at most 5 opened per run', () => {
    expect(incidentPolicy()).toEqual({
      openAfter: 2,
      closeAfter: 2,
      warnIsFailure: false,
      maxOpenedPerRun: 5,
    });
  });
  test.each([
    [{ openAfter: 0 }, /openAfter must be an integer from 1/],
    [{ closeAfter: 1.5 }, /closeAfter must be an integer/],
    [{ maxOpenedPerRun: -1 }, /maxOpenedPerRun must be an integer from 0/],
    [{ warnIsFailure: 'yes' as unknown as boolean }, /warnIsFailure must be true or false/],
    [{ openAfer: 3 } as object, /unknown incident policy option\(s\): openAfer/],
  ])('%j is rejected', (overrides, message) => {
    expect(() => incidentPolicy(overrides)).toThrow(message);
  });
});

function marker(over: Partial<IncidentMarker> = {}): IncidentMarker {
  return {
    kind: 'incident',
    v: 1,
    env: 'production',
    fingerprint: 'daily.broker-uptime.tls',
    checkId: 'daily.broker-uptime.tls',
    checkTitle: 'Broker round trip on mqtts://broker:8883',
    severity: 'critical',
    component: 'broker',
    playbook: 'broker-down',
    consecutiveFailures: 3,
    consecutivePasses: 0,
    since: new Date(T0).toISOString(),
    lastStatus: 'fail',
    lastSummary: 'connect timed out after 5000 ms',
    evidenceKey: evidenceKey(result('fail').evidence),
    updatedAt: new Date(T0 + 4 * HOUR).toISOString(),
    rev: 4,
    ...over,
  };
}

function tracker(checkId: string, hours: number) {
  const at = new Date(T0 + hours * HOUR).toISOString();
  return {
    checkId,
    consecutiveFailures: 1,
    since: at,
    lastStatus: 'fail' as const,
    lastSummary: 'x',
    updatedAt: at,
  };
}
