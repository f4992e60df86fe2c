/** `npm run ops` against the local sandbox on real services, and its argument errors. */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mosquittoForTests } from '../broker/mosquitto-process.js';
import { startGitHubStandin } from '../test/support/github-standin.js';
import { startTestSandbox, type TestSandbox } from '../test/support/sandbox.js';
import { exitCodeFor, runCli } from './cli.js';

const run = mosquittoForTests() ? describe : describe.skip;

function capture() {
  const io = { out: '', err: '' };
  return { io, sink: { out: (t: string) => (io.out += t), err: (t: string) => (io.err += t) } };
}

test.each([
  [
    ['hourly'],
    /give one cadence: daily \| weekly \| monthly \| golive \| uptime, or backup, or playbook <name> \(got hourly\)/,
  ],
  [['daily', '--fail-on', 'sometimes'], /--fail-on must be fail, warn, never/],
  [
    ['daily', '--env', 'production'],
    /no environment "production": .*runbook\/environments\/production.yaml does not exist/,
  ],
  [['daily', '--env', '../etc'], /environment name "..\/etc" is not a valid name/],
  [['daily', '--bogus'], /Unknown option '--bogus'/],
] as const)('ops %j is refused with exit 2', async (argv, message) => {
  const { io, sink } = capture();
  expect(await runCli([...argv], sink)).toBe(2);
  expect(io.err).toMatch(message);
});

test.each([
  ['ok', 'fail', 0],
  ['warn', 'fail', 0],
  ['error', 'fail', 1],
  ['fail', 'fail', 1],
  ['warn', 'warn', 1],
  ['ok', 'warn', 0],
  ['fail', 'never', 0],
] as const)('verdict %s with --fail-on %s exits %i', (verdict, failOn, code) => {
  expect(exitCodeFor(verdict, failOn)).toBe(code);
});

test('without a sandbox it says how to start one', async () => {
  const { io, sink } = capture();
  expect(await runCli(['daily'], { ...sink, envPath: '/nonexistent/env.json' })).toBe(2);
  expect(io.err).toMatch(/start the sandbox first \(npm run dev/);
});

run('ops against the sandbox', () => {
  let sandbox: TestSandbox;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox('ops_cli');
    dir = sandbox.dir;
  });
  afterAll(() => sandbox?.stop());

  test('backup: a pg_dump of the sandbox lands in its local backup store', async () => {
    const { io, sink } = capture();
    const code = await runCli(['backup', '--json'], {
      ...sink,
      envPath: sandbox.envPath,
      incidentsRoot: dir,
    });
    expect(io.err).not.toMatch(/failed/);
    expect(code).toBe(0);
    const result = JSON.parse(io.out) as {
      name: string;
      store: string;
      metadata: { sizeBytes: number; rowCounts: Record<string, number> };
    };
    expect(result.name).toMatch(/^\d{8}T\d{9}Z\.dump$/);
    expect(result.metadata.sizeBytes).toBeGreaterThan(10_000);
    expect(result.metadata.rowCounts['public.devices']).toBe(sandbox.platform.env.devices.length + 1);
    expect(result.store).toBe(`local directory ${join(dir, 'backups')}`);
    expect(await readdir(join(dir, 'backups'))).toEqual(expect.arrayContaining([result.name]));
  }, 60_000);

  test('daily: every check ok, report printed and written, exit 0', async () => {
    const { io, sink } = capture();
    const reportDir = join(dir, 'reports');
    const code = await runCli(['daily', '--report-dir', reportDir], {
      ...sink,
      envPath: sandbox.envPath,
      incidentsRoot: dir,
    });
    expect(io.out).toMatch(/^# daily checks \(local\): ok$/m);
    for (const id of [
      'daily.broker-uptime.mqtt',
      'daily.broker-uptime.websocket',
      'daily.function-health',
      'daily.ingest-canary',
      'daily.bridge-backlog',
      'daily.dead-letters',
    ])
      expect(io.out).toContain(id);
    expect(io.err).toMatch(/ops: \[\d+\/\d+\] daily.ingest-canary: ok \(\d+ ms\)/);
    expect(code).toBe(0);
    const [file] = await readdir(reportDir);
    expect(await readFile(join(reportDir, file!), 'utf8')).toBe(io.out);
  }, 60_000);

  test('weekly --json: one JSON object with the weekly checks, exit 0', async () => {
    const { io, sink } = capture();
    const code = await runCli(['weekly', '--json', '--report-dir', join(dir, 'r2')], {
      ...sink,
      envPath: sandbox.envPath,
      incidentsRoot: dir,
    });
    const parsed = JSON.parse(io.out) as { verdict: string; results: { id: string }[]; report: string };
    expect(parsed.results.map((r) => r.id)).toEqual([
      'weekly.top-tenants',
      'weekly.ai-spend',
      'weekly.restore-test',
    ]);
    // The restore test restored the backup above into a scratch database and checked it.
    expect(parsed.verdict).toBe('ok');
    expect(parsed.report).toMatch(/weekly-local-.*\.md$/);
    expect(code).toBe(0);
  }, 60_000);

  test('golive: telemetry arrives, an alert fires and is delivered, the probe is alive; twice in a row', async () => {
    for (const round of [1, 2]) {
      const { io, sink } = capture();
      const code = await runCli(['golive', '--json', '--report-dir', join(dir, `golive-${round}`)], {
        ...sink,
        envPath: sandbox.envPath,
        incidentsRoot: dir,
      });
      const parsed = JSON.parse(io.out) as {
        verdict: string;
        results: { id: string; status: string; summary: string }[];
      };
      expect(parsed.results.map((r) => [r.id, r.status])).toEqual([
        ['daily.ingest-canary', 'ok'],
        ['daily.bridge-backlog', 'ok'],
        ['daily.function-health', 'ok'],
        ['daily.endpoints', 'skipped'],
        ['golive.alert-delivered', 'ok'],
        ['daily.backup-freshness', 'ok'],
        ['golive.archive', 'ok'],
        ['golive.probe-heartbeat', 'ok'],
        ['golive.budget', 'skipped'],
      ]);
      expect(parsed.results[4]!.summary).toMatch(/mqtt notification delivered .* resolved$/);
      expect(code).toBe(0);
    }
  }, 120_000);

  test('uptime and monthly run against the sandbox too', async () => {
    for (const cadence of ['uptime', 'monthly']) {
      const { io, sink } = capture();
      const code = await runCli([cadence, '--json', '--report-dir', join(dir, cadence)], {
        ...sink,
        envPath: sandbox.envPath,
        incidentsRoot: dir,
      });
      const parsed = JSON.parse(io.out) as { verdict: string; results: { id: string; status: string }[] };
      expect(parsed.results.length).toBeGreaterThan(0);
      expect(parsed.results.filter((r) => r.status === 'error' || r.status === 'fail')).toEqual([]);
      expect(code).toBe(0);
    }
  }, 60_000);

  test('uptime with --incidents github against the stand-in: a flapping broker opens its issues after two failures and closes them after two passes', async () => {
    const standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' });
    try {
      const env = {
        GITHUB_API_URL: standin.url,
        GITHUB_REPOSITORY: standin.repository,
        GITHUB_TOKEN: standin.token,
        GITHUB_SERVER_URL: 'https://github.example',
      };
      // The flapping target: the probe's password, wrong in some runs.
      const good = JSON.parse(await readFile(sandbox.envPath, 'utf8'));
      const badPath = join(dir, 'env-bad-probe.json');
      await writeFile(
        badPath,
        JSON.stringify({ ...good, uptimeProbe: { ...good.uptimeProbe, password: 'wrong' } }),
      );
      // The real time, strictly increasing: the probe heartbeat and the bridge's reports the uptime
      // cadence reads are stamped by the database's clock, so a clock run ahead would age them.
      let clock = Date.now();
      const runs: { status: string; opened: number; closed: number; commented: number }[] = [];
      for (const broken of [true, false, true, true, true, false, false]) {
        clock = Math.max(clock + 1, Date.now());
        const { io, sink } = capture();
        const code = await runCli(
          ['uptime', '--json', '--incidents', 'github', '--report-dir', join(dir, 'inc')],
          {
            ...sink,
            env,
            now: () => clock,
            envPath: broken ? badPath : sandbox.envPath,
          },
        );
        const out = JSON.parse(io.out) as {
          verdict: string;
          incidents: { opened: unknown[]; closed: unknown[]; updated: { commented: boolean }[] };
        };
        runs.push({
          status: out.verdict,
          opened: out.incidents.opened.length,
          closed: out.incidents.closed.length,
          commented: out.incidents.updated.filter((u) => u.commented).length,
        });
        expect(code).toBe(broken ? 1 : 0);
        expect(io.out).not.toContain(standin.token);
      }
      // openAfter 2, closeAfter 2 (runbook.yaml): a single failure opens nothing. Both listeners
      // (plain and WebSocket) refuse the wrong password: one issue each.
      expect(runs).toEqual([
        { status: 'fail', opened: 0, closed: 0, commented: 0 },
        { status: 'ok', opened: 0, closed: 0, commented: 0 },
        { status: 'fail', opened: 0, closed: 0, commented: 0 },
        { status: 'fail', opened: 2, closed: 0, commented: 0 },
        { status: 'fail', opened: 0, closed: 0, commented: 0 },
        { status: 'ok', opened: 0, closed: 0, commented: 2 },
        { status: 'ok', opened: 0, closed: 2, commented: 0 },
      ]);
      const incidents = standin.issues.filter((i) => i.labels.includes('incident'));
      expect(incidents.map((i) => [(i.body ?? '').includes('daily.broker-uptime.'), i.state])).toEqual([
        [true, 'closed'],
        [true, 'closed'],
      ]);
      const issue = incidents[0]!;
      expect(issue.labels).toEqual(expect.arrayContaining(['severity:critical', 'component:broker']));
      expect(issue.body).toContain(
        'https://github.example/acme/mqtt-saas/actions/workflows/ops-playbook.yml',
      );
      expect(issue.comments.at(-1)!.body).toMatch(/Outage/);
      standin.assertNoViolations();
    } finally {
      await standin.close();
    }
  }, 120_000);

  test('a cloud-style environment: endpoints from its YAML, secrets from variables, masked and never printed', async () => {
    const env = sandbox.platform.env;
    const envDir = join(dir, 'environments');
    await mkdir(envDir, { recursive: true });
    const [tenant, deviceId] = [env.probe.tenant, env.probe.deviceId];
    await writeFile(
      join(envDir, 'staging.yaml'),
      [
        'name: staging',
        'description: the sandbox seen as a cloud environment would be',
        'sandbox: false',
        'database: { urlEnv: STAGING_DATABASE_URL }',
        'mqtt:',
        `  listeners: [{ name: mqtt, url: "${env.mqtt.url}" }]`,
        '  probe: { usernameEnv: STAGING_PROBE_USER, passwordEnv: STAGING_PROBE_PASSWORD }',
        `  canary: { tenant: ${tenant}, deviceId: ${deviceId}, usernameEnv: STAGING_CANARY_USER, passwordEnv: STAGING_CANARY_PASSWORD }`,
        `ingest: { healthUrl: "${env.ingest.healthUrl}" }`,
        `endpoints: [{ name: api, url: "${env.ingest.healthUrl}", expectStatus: [200] }]`,
        'budget: { monthlyUsd: 10, aiMonthlyUsd: 5 }',
        'thresholds: {}',
        '',
      ].join('\n'),
    );
    const secrets = {
      STAGING_DATABASE_URL: env.db.url,
      STAGING_PROBE_USER: env.uptimeProbe.username,
      STAGING_PROBE_PASSWORD: env.uptimeProbe.password,
      STAGING_CANARY_USER: env.probe.username,
      STAGING_CANARY_PASSWORD: env.probe.password,
    };
    const masked: string[] = [];
    const { io, sink } = capture();
    const code = await runCli(
      ['daily', '--env', 'staging', '--json', '--incidents', 'off', '--report-dir', join(dir, 'st')],
      {
        ...sink,
        env: secrets,
        mask: (v) => masked.push(v),
        environmentsDir: envDir,
      },
    );
    const out = JSON.parse(io.out) as { results: { id: string; status: string; summary: string }[] };
    const status = Object.fromEntries(out.results.map((r) => [r.id, r.status]));
    expect(status).toMatchObject({
      'daily.broker-uptime.mqtt': 'ok',
      'daily.function-health': 'ok',
      'daily.endpoints.api': 'ok',
      'daily.ingest-canary': 'ok',
      'daily.dead-letters': expect.stringMatching(/ok|warn/),
      'daily.tls-expiry': 'skipped',
      'daily.cost-burn': 'skipped',
      'daily.backup-freshness': 'skipped',
    });
    expect(code).toBe(0);
    for (const secret of [env.uptimeProbe.password, env.probe.password]) {
      expect(masked).toContain(secret);
      expect(io.out + io.err).not.toContain(secret);
    }
    // A missing secret is the checks' error, naming the variable, and the rest still run.
    const missing = capture();
    await runCli(
      ['uptime', '--env', 'staging', '--json', '--incidents', 'off', '--report-dir', join(dir, 'st2')],
      {
        ...missing.sink,
        env: { ...secrets, STAGING_PROBE_PASSWORD: '' },
        environmentsDir: envDir,
      },
    );
    const partial = JSON.parse(missing.io.out) as {
      results: { id: string; status: string; summary: string }[];
    };
    expect(partial.results.find((r) => r.id === 'daily.broker-uptime')).toMatchObject({
      status: 'error',
      summary: expect.stringMatching(/environment variable STAGING_PROBE_PASSWORD is not set/),
    });
    expect(partial.results.find((r) => r.id === 'daily.function-health')!.status).toBe('ok');
  }, 60_000);
});
