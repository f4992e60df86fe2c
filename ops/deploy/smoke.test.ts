/**
 * The smoke stage: its bounded retries (a stand-in cadence, injected timing), then
 * `npm run ops -- deploy --env local --stages smoke` against the real sandbox: the go-live
 * cadence passes, and with a wrong probe password fails after the bounded attempts (exit 1,
 * stage failure). A check failing before the deploy is not held against it. Incidents stay off.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mosquittoForTests } from '../../test/support/mosquitto-process.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';
import type { OpsTarget } from '../config/ops-target.js';
import type { CheckResult, CheckStatus } from '../engine/check.js';
import type { CadenceRun, RunCadenceOptions } from '../run-cadence.js';
import { runCli } from '../cli.js';
import { runSmokeStage } from './smoke.js';

function fakeCadence(verdicts: CheckStatus[]) {
  const calls: RunCadenceOptions[] = [];
  const appendices: string[] = [];
  const run = async (cadence: 'golive', _t: OpsTarget, options: RunCadenceOptions): Promise<CadenceRun> => {
    calls.push(options);
    const verdict = verdicts[calls.length - 1]!;
    const results: CheckResult[] = [
      {
        id: 'daily.ingest-canary',
        status: verdict,
        summary: `canary ${verdict}`,
        evidence: [],
      } as unknown as CheckResult,
      { id: 'golive.budget', status: 'skipped', summary: 'no Azure', evidence: [] } as unknown as CheckResult,
    ];
    appendices.push(await options.appendix!(results));
    return {
      cadence,
      environment: 'x',
      verdict,
      results,
      markdown: `# ${verdict}`,
      file: `r${calls.length}.md`,
    };
  };
  return { run, calls, appendices };
}

const target = { name: 'x' } as OpsTarget;

test('retries until the verdict is better than error, waiting the interval between attempts', async () => {
  const fake = fakeCadence(['fail', 'error', 'ok']);
  const sleeps: number[] = [];
  const logs: string[] = [];
  const result = await runSmokeStage({
    target,
    reportDir: 'unused',
    attempts: 3,
    intervalMs: 10_000,
    sleep: async (ms) => void sleeps.push(ms),
    runCadence: fake.run,
    log: (l) => logs.push(l),
  });
  expect(result).toMatchObject({ status: 'success', verdict: 'ok', summary: 'golive ok after 3 attempts' });
  expect(result.attempts.map((a) => [a.attempt, a.verdict, a.failing])).toEqual([
    [1, 'fail', ['daily.ingest-canary']],
    [2, 'error', ['daily.ingest-canary']],
    [3, 'ok', []],
  ]);
  expect(sleeps).toEqual([10_000, 10_000]);
  expect(logs).toContain('attempt 1/3: fail (daily.ingest-canary)');
  // Incidents off: the cadence's reconcile never runs.
  expect(fake.appendices.every((a) => a.includes('Incidents: off'))).toBe(true);
});

test('a first pass stops at once; a lasting failure fails after the bounded attempts', async () => {
  const pass = fakeCadence(['warn']);
  const sleeps: number[] = [];
  const passed = await runSmokeStage({
    target,
    reportDir: 'unused',
    sleep: async (ms) => void sleeps.push(ms),
    runCadence: pass.run,
    log: () => undefined,
  });
  expect(passed.status).toBe('success');
  expect(pass.calls).toHaveLength(1);
  expect(sleeps).toEqual([]);

  const failing = fakeCadence(['fail', 'fail', 'fail', 'ok']);
  const failed = await runSmokeStage({
    target,
    reportDir: 'unused',
    attempts: 3,
    intervalMs: 5,
    sleep: async (ms) => void sleeps.push(ms),
    runCadence: failing.run,
    log: () => undefined,
  });
  expect(failing.calls).toHaveLength(3);
  expect(sleeps).toEqual([5, 5]);
  expect(failed).toMatchObject({ status: 'failure', verdict: 'fail', failingBefore: [] });
  expect(failed.summary).toBe('golive fail after 3 attempts (daily.ingest-canary failing)');
});

test('a check already failing before the deploy is reported, not held against it; a new failure is', async () => {
  const before = { verdict: 'fail' as const, failing: ['daily.ingest-canary'] };
  const same = fakeCadence(['fail', 'fail']);
  const passed = await runSmokeStage({
    target,
    reportDir: 'unused',
    attempts: 2,
    before,
    sleep: async () => undefined,
    runCadence: same.run,
    log: () => undefined,
  });
  expect(same.calls).toHaveLength(1);
  expect(passed).toMatchObject({
    status: 'success',
    verdict: 'fail',
    failingBefore: ['daily.ingest-canary'],
  });
  expect(passed.summary).toBe(
    'golive fail after 1 attempt; still failing as before the deploy: daily.ingest-canary',
  );

  // Failing before on another check: the canary failing now is new, so the stage fails.
  const other = fakeCadence(['fail', 'fail']);
  const failed = await runSmokeStage({
    target,
    reportDir: 'unused',
    attempts: 2,
    before: { verdict: 'fail', failing: ['golive.probe-heartbeat'] },
    sleep: async () => undefined,
    runCadence: other.run,
    log: () => undefined,
  });
  expect(other.calls).toHaveLength(2);
  expect(failed.status).toBe('failure');
  expect(failed.attempts.at(-1)!.newFailures).toEqual(['daily.ingest-canary']);
});

const run = mosquittoForTests() ? describe : describe.skip;

run('deploy --stages smoke against the sandbox', () => {
  let sandbox: TestSandbox;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox('deploy_smoke');
    dir = sandbox.dir;
    // The go-live checks include the backup's freshness: the sandbox's first backup.
    const io = { out: '', err: '' };
    const code = await runCli(['backup', '--json'], {
      out: (t) => (io.out += t),
      err: (t) => (io.err += t),
      envPath: sandbox.envPath,
      incidentsRoot: dir,
    });
    if (code !== 0) throw new Error(`backup failed: ${io.err}`);
  }, 120_000);
  afterAll(() => sandbox?.stop());

  async function deploy(argv: string[], envPath: string) {
    const io = { out: '', err: '' };
    const code = await runCli(['deploy', '--env', 'local', ...argv], {
      out: (t) => (io.out += t),
      err: (t) => (io.err += t),
      envPath,
      env: {},
      incidentsRoot: dir,
    });
    return { code, ...io };
  }

  test('--stages smoke: the go-live checks pass, the report holds them, exit 0', async () => {
    const r = await deploy(['--stages', 'smoke', '--report-dir', join(dir, 'smoke-ok')], sandbox.envPath);
    expect(r.err).not.toMatch(/failed/);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# Deploy of local: smoke: success\n/);
    expect(r.out).toMatch(/\| smoke \| success \| golive ok after 1 attempt \| - \| - \| \d+\.\d s \|/);
    expect(r.out).toContain('## Smoke');
    expect(r.out).toMatch(/\| 1 \| ok \| - \| \d+\.\d s \|/);
    for (const [id, status] of <[string, string][]>[
      ['daily.ingest-canary', 'ok'],
      ['daily.bridge-backlog', 'ok'],
      ['daily.function-health', 'ok'],
      ['golive.alert-delivered', 'ok'],
      ['daily.backup-freshness', 'ok'],
      ['golive.archive', 'ok'],
      ['golive.probe-heartbeat', 'ok'],
      ['golive.budget', 'skipped'],
    ])
      expect(r.out).toMatch(new RegExp(`\\| ${id.replace('.', '\\.')} \\| ${status} \\|`));
    expect(r.out).not.toContain('Rollback');
    expect(r.out).toContain('Deployment record: none (GITHUB_TOKEN and GITHUB_REPOSITORY are not set');
    expect(r.err).toMatch(/ops deploy: smoke: attempt 1\/3: ok/);
    // Incidents off: no local incident store was made.
    expect(existsSync(join(dir, '.ops'))).toBe(false);
  }, 180_000);

  test('a wrong probe password: smoke fails after the bounded attempts, exit 1, stage failure', async () => {
    const good = JSON.parse(await readFile(sandbox.envPath, 'utf8'));
    const badPath = join(dir, 'env-bad-probe.json');
    await writeFile(badPath, JSON.stringify({ ...good, probe: { ...good.probe, password: 'wrong' } }));
    const r = await deploy(
      [
        '--stages',
        'smoke',
        '--json',
        '--smoke-attempts',
        '2',
        '--smoke-interval',
        '0',
        '--report-dir',
        join(dir, 'smoke-bad'),
      ],
      badPath,
    );
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as {
      stages: { stage: string; status: string; summary: string }[];
      smoke: {
        status: string;
        verdict: string;
        attempts: { attempt: number; verdict: string; failing: string[] }[];
        results: { id: string; status: string }[];
      };
    };
    expect(report.stages.map((s) => [s.stage, s.status])).toEqual([
      ['plan', 'success'],
      ['preflight', 'success'],
      ['smoke', 'failure'],
    ]);
    expect(report.smoke.attempts).toHaveLength(2);
    for (const a of report.smoke.attempts) expect(a.failing).toContain('daily.ingest-canary');
    expect(r.err).toMatch(/smoke: attempt 2\/2: (fail|error)/);
    expect(r.out).not.toContain(good.probe.password);
    expect(existsSync(join(dir, '.ops'))).toBe(false);

    // The Markdown report: the stage failure, the attempts and that nothing was rolled back.
    const md = await deploy(
      ['--stages', 'smoke', '--smoke-attempts', '1', '--report-dir', join(dir, 'smoke-bad')],
      badPath,
    );
    expect(md.code).toBe(1);
    expect(md.out).toMatch(/^# Deploy of local: smoke: smoke failure\n/);
    expect(md.out).toMatch(
      /\| smoke \| failure \| golive (fail|error) after 1 attempt \(daily\.ingest-canary/,
    );
    expect(md.out).toMatch(/\| 1 \| (fail|error) \| daily\.ingest-canary/);
    // Smoke alone deploys nothing, so there is nothing to roll back.
    expect(md.out).not.toContain('## Rollback');
  }, 180_000);

  test('--stages database,smoke: the database stage first (nothing pending), then smoke, exit 0', async () => {
    const r = await deploy(
      ['--stages', 'database,smoke', '--json', '--report-dir', join(dir, 'smoke-db')],
      sandbox.envPath,
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as {
      stages: { stage: string; status: string }[];
      smoke: { verdict: string };
    };
    expect(report.stages.map((s) => [s.stage, s.status])).toEqual([
      ['plan', 'success'],
      ['preflight', 'success'],
      ['database', 'success'],
      ['smoke', 'success'],
    ]);
    expect(report.smoke.verdict).toBe('ok');
  }, 180_000);
});
