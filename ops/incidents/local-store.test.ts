import { mkdtemp, readFile, rm, utimes, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckResult, CheckStatus } from '../engine/check.js';
import { createIncidentStore } from './create-incident-store.js';
import { createLocalIncidentStore, localIncidentFile, readIncidentFile } from './local-store.js';
import { incidentPolicy } from './policy.js';
import { reconcileIncidents } from './reconcile.js';

const T0 = Date.parse('2026-03-01T06:00:00Z');
const HOUR = 3_600_000;
const policy = incidentPolicy();
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'incidents-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

const result = (status: CheckStatus, id = 'daily.backup-freshness'): CheckResult => ({
  id,
  title: 'Backup freshness',
  status,
  severity: 'high',
  component: 'database',
  playbook: null,
  summary: status === 'ok' ? 'latest backup 3 h old' : 'latest backup 30 h old',
  metrics: {},
  evidence: ['backups/2026-03-01.dump'],
  charts: [],
  fingerprint: id,
  startedAt: new Date(T0).toISOString(),
  durationMs: 1,
});

test('opens, comments on change, closes with the outage duration, and never deletes', async () => {
  const store = createIncidentStore({ mode: 'local', env: 'local', rootDir: root, environment: {} });
  const run = (h: number, status: CheckStatus) =>
    reconcileIncidents([result(status)], store, policy, T0 + h * HOUR);

  expect((await run(0, 'fail')).opened).toEqual([]);
  const opened = await run(1, 'fail');
  expect(opened.opened).toEqual([
    { fingerprint: 'daily.backup-freshness', number: 1, url: `${localIncidentFile(root, 'local')}#1` },
  ]);
  expect((await run(2, 'fail')).updated).toEqual([expect.objectContaining({ number: 1, commented: false })]);
  expect((await run(3, 'error')).updated).toEqual([expect.objectContaining({ number: 1, commented: true })]);
  await run(4, 'ok');
  const closed = await run(5, 'ok');
  expect(closed.closed).toEqual([
    expect.objectContaining({ number: 1, reason: 'resolved', outageMs: 5 * HOUR }),
  ]);

  const file = await readIncidentFile(localIncidentFile(root, 'local'), 'local');
  expect(file.issues).toHaveLength(1);
  const [issue] = file.issues;
  expect(issue).toMatchObject({
    state: 'closed',
    stateReason: 'completed',
    labels: ['incident', 'severity:high', 'component:database'],
  });
  expect(issue!.body).toContain('No playbook for this check');

  expect(issue!.comments.map((c) => c.body.split('\n')[0])).toEqual([
    expect.stringMatching(/^\*\*Changed\*\* \(status fail → error\)/),
    // "30 h old" -> "3 h old" is the same words: no summary change, just the status.
    expect.stringMatching(/^\*\*Changed\*\* \(status error → ok\) .*Passing again: 1 of 2/),
    expect.stringMatching(/^\*\*Resolved\*\*/),
  ]);
  expect(issue!.comments[2]!.body).toContain(
    'Outage: 2026-03-01T06:00:00.000Z → 2026-03-01T11:00:00.000Z (5 h).',
  );
  expect(file.trackers).toEqual({});

  // A new outage opens a new issue; the closed one stays.
  await run(6, 'fail');
  expect((await run(7, 'fail')).opened.map((o) => o.number)).toEqual([2]);
  expect(
    (await readIncidentFile(localIncidentFile(root, 'local'), 'local')).issues.map((i) => i.state),
  ).toEqual(['closed', 'open']);
});

test('counters persist in the file between runs, per environment', async () => {
  const local = createLocalIncidentStore({ env: 'local', rootDir: root });
  const staging = createLocalIncidentStore({ env: 'staging', rootDir: root });
  await reconcileIncidents([result('fail')], local, policy, T0);
  await reconcileIncidents([result('fail')], staging, policy, T0);
  const file = JSON.parse(await readFile(localIncidentFile(root, 'local'), 'utf8'));
  expect(file.trackers['daily.backup-freshness']).toMatchObject({ consecutiveFailures: 1 });
  expect((await reconcileIncidents([result('fail')], local, policy, T0 + HOUR)).opened).toHaveLength(1);
  expect((await reconcileIncidents([result('ok')], staging, policy, T0 + HOUR)).opened).toHaveLength(0);
  expect((await readIncidentFile(localIncidentFile(root, 'staging'), 'staging')).trackers).toEqual({});
});

test('the evidence that opened an issue stays in its body through later runs and after it closes', async () => {
  const store = createLocalIncidentStore({ env: 'local', rootDir: root });
  const run = (h: number, status: CheckStatus, evidence: string[]) =>
    reconcileIncidents([{ ...result(status), evidence }], store, policy, T0 + h * HOUR);
  await run(0, 'fail', ['backups/2026-02-27.dump, 30 h old']);
  await run(1, 'fail', ['backups/2026-02-27.dump, 31 h old', 'backup workflow: last run failed']);
  await run(2, 'error', ['blob storage: 403 AuthorizationFailure']);
  await run(3, 'ok', ['backups/2026-03-01.dump, 1 h old']);
  await run(4, 'ok', ['backups/2026-03-01.dump, 2 h old']);
  const [issue] = (await readIncidentFile(localIncidentFile(root, 'local'), 'local')).issues;
  expect(issue!.state).toBe('closed');
  const opening = issue!.body.slice(
    issue!.body.indexOf('### When it opened'),
    issue!.body.indexOf('### Playbook'),
  );
  expect(opening).toContain('### When it opened (2026-03-01T07:00:00.000Z)');
  expect(opening).toContain('**FAIL**: latest backup 30 h old');
  expect(opening).toContain('- backups/2026-02-27.dump, 31 h old\n- backup workflow: last run failed');
  expect(issue!.body).toMatch(/### Evidence \(latest run\)\n\n- backups\/2026-03-01.dump, 2 h old\n/);
  expect(issue!.body).not.toContain('AuthorizationFailure');
  expect(issue!.comments.some((c) => c.body.includes('AuthorizationFailure'))).toBe(true);
});

test('concurrent local runs are serialized by the lock: one issue per fingerprint', async () => {
  const store = createLocalIncidentStore({ env: 'local', rootDir: root });
  const other = createLocalIncidentStore({ env: 'local', rootDir: root }); // another process, same file
  await reconcileIncidents([result('fail')], store, policy, T0);
  const results = [result('fail'), result('fail', 'daily.cost-burn')];
  const runs = await Promise.all(
    Array.from({ length: 6 }, (_, i) =>
      reconcileIncidents(results, i % 2 ? other : store, policy, T0 + HOUR),
    ),
  );
  // backup-freshness had one failure already: opened by whichever run came first; cost-burn by the
  // second run (its second failure). Each exactly once.
  expect(runs.flatMap((r) => r.opened.map((o) => o.fingerprint)).sort()).toEqual([
    'daily.backup-freshness',
    'daily.cost-burn',
  ]);
  const file = await readIncidentFile(localIncidentFile(root, 'local'), 'local');
  expect(file.issues.map((i) => i.marker.fingerprint).sort()).toEqual([
    'daily.backup-freshness',
    'daily.cost-burn',
  ]);
  // Every run was counted: the six runs saw cost-burn fail six times in a row.
  const costBurn = file.issues.find((i) => i.marker.fingerprint === 'daily.cost-burn')!;
  expect(costBurn.marker.consecutiveFailures).toBe(6);
});

test('a stale lock (a crashed run) is taken over; a live one makes the run wait and then give up', async () => {
  const file = localIncidentFile(root, 'local');
  await mkdir(join(root, '.ops', 'local'), { recursive: true });
  await writeFile(`${file}.lock`, '999999 crashed\n');
  const old = new Date(Date.now() - 10 * 60_000);
  await utimes(`${file}.lock`, old, old);
  const store = createLocalIncidentStore({ env: 'local', rootDir: root, staleLockMs: 60_000 });
  await expect(reconcileIncidents([result('fail')], store, policy, T0)).resolves.toMatchObject({
    errors: [],
  });

  await writeFile(`${file}.lock`, `${process.pid} busy\n`);
  const impatient = createLocalIncidentStore({ env: 'local', rootDir: root, lockTimeoutMs: 200 });
  await expect(reconcileIncidents([result('fail')], impatient, policy, T0)).rejects.toThrow(
    /locked by another run/,
  );
});

test('off mode does nothing; bad settings fail early with clear messages', async () => {
  const off = createIncidentStore({ mode: 'off', env: 'local' });
  await expect(reconcileIncidents([result('fail')], off, policy, T0)).resolves.toMatchObject({
    mode: 'off',
    opened: [],
  });
  expect(() => createIncidentStore({ mode: 'local', env: '../etc' })).toThrow(/env must be a plain name/);
  expect(() => createIncidentStore({ mode: 'cloud' as 'off', env: 'x' })).toThrow(
    /mode must be github, local or off/,
  );
  expect(() => createIncidentStore({ mode: 'github', env: 'production', environment: {} })).toThrow(
    /GITHUB_TOKEN is not set; GITHUB_REPOSITORY must be owner\/name/,
  );
  const local = createIncidentStore({
    mode: 'local',
    env: 'local',
    rootDir: root,
    environment: { GITHUB_REPOSITORY: 'acme/mqtt-saas' },
  });
  expect(local.playbookWorkflowUrl).toBe(
    'https://github.com/acme/mqtt-saas/actions/workflows/ops-playbook.yml',
  );
});
