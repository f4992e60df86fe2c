/**
 * `npm run ops` against the local sandbox on real services; its usage texts, argument errors and
 * the preflight that refuses an environment that is not ready (a stopped sandbox, missing secrets,
 * placeholder settings) before any check runs.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mosquittoForTests } from '../test/support/mosquitto-process.js';
import { currentOwner } from '../common/local-env.js';
import { startGitHubStandin } from '../test/support/github-standin.js';
import { startTestSandbox, type TestSandbox } from '../test/support/sandbox.js';
import { CADENCES } from './cadences.js';
import { COMMANDS, exitCodeFor, runCli } from './cli.js';
import { PLAYBOOKS } from './playbooks/cli.js';

const run = mosquittoForTests() ? describe : describe.skip;

function capture() {
  const io = { out: '', err: '' };
  return { io, sink: { out: (t: string) => (io.out += t), err: (t: string) => (io.err += t) } };
}

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'ops-cli-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

test.each([
  [
    ['hourly'],
    /^ops: unknown command "hourly": give daily, weekly, monthly, golive, uptime, backup, archive run\|restore, playbook <name>, deploy, preflight or provision \(see npm run ops -- --help\)\n$/,
  ],
  [[], /^ops: give a command: daily, .* \(see npm run ops -- --help\)\n$/],
  [['--json'], /^ops: give a command: /],
  [
    ['daily', 'weekly'],
    /^ops daily: give one command \(got daily weekly\) \(see npm run ops -- daily --help\)\n$/,
  ],
  [
    ['daily', '--fail-on', 'sometimes'],
    /^ops daily: --fail-on must be fail, warn, never \(got "sometimes"\)/,
  ],
  [['daily', '--incidents', 'email'], /^ops daily: --incidents must be github, local, off \(got "email"\)/],
  [['daily', '--env'], /^ops daily: --env needs a value \(see npm run ops -- daily --help\)\n$/],
  [['daily', '--json=yes'], /^ops daily: --json takes no value /],
  [
    ['daily', '--env', 'production'],
    /no environment "production": .*runbook\/environments\/production.yaml does not exist/,
  ],
  [['daily', '--env', '../etc'], /environment name "..\/etc" is not a valid name/],
  [['backup', 'now'], /^ops backup: unexpected argument now \(see npm run ops -- backup --help\)\n$/],
] as const)('ops %j is refused with exit 2 and one line', async (argv, message) => {
  const { io, sink } = capture();
  expect(await runCli([...argv], { ...sink, incidentsRoot: scratch })).toBe(2);
  expect(io.err).toMatch(message);
  expect(io.err.trimEnd().split('\n')).toHaveLength(1);
  expect(io.out).toBe('');
});

/** Every command and subcommand a user can ask --help of. */
const USAGES: [string[], string][] = [
  [[], '<command> [options]'],
  ...CADENCES.map((c): [string[], string] => [[c], `${c} [options]`]),
  [['backup'], 'backup [options]'],
  [['archive'], 'archive <run|restore> [options]'],
  [['archive', 'run'], 'archive run --env NAME [--retention-days N] [--apply] [options]'],
  [['archive', 'restore'], 'archive restore --env NAME --tenant SLUG --from DAY --to DAY [options]'],
  [['playbook'], 'playbook <name> --env NAME [--apply] [options]'],
  ...Object.keys(PLAYBOOKS).map((p): [string[], string] => [
    ['playbook', p],
    `playbook ${p} --env NAME [--apply] [options]`,
  ]),
  [
    ['deploy'],
    'deploy --env NAME [--plan | --stages LIST] [--allow-destructive FILE]... [--from SHA] [options]',
  ],
  [['preflight'], 'preflight --env NAME [--for LIST] [--json]'],
  [['provision'], 'provision --env NAME [--what-if] [--output FILE]'],
];

test('the usage texts cover every command', () => {
  expect(USAGES.map(([argv]) => argv[0]).filter(Boolean)).toEqual(expect.arrayContaining([...COMMANDS]));
});

test.each(
  USAGES.flatMap(([argv, synopsis]) => ['-h', '--help'].map((flag) => [[...argv, flag], synopsis] as const)),
)('ops %j prints its usage on stdout and exits 0', async (argv, synopsis) => {
  const { io, sink } = capture();
  expect(await runCli([...argv], { ...sink, incidentsRoot: scratch })).toBe(0);
  expect(io.err).toBe('');
  expect(io.out).toMatch(new RegExp(`^Usage: npm run ops -- ${synopsis.replace(/[[\]|().]/g, '\\$&')}\n`));
  expect(io.out).toMatch(/\nOptions:\n( {2}.+\n)* {2}-h, --help +show this help\n/);
  expect(io.out).toMatch(/\nExit codes:\n {2}0 .*\n {2}1 .*\n {2}2 .*\n/);
  expect(io.out).toMatch(/\nExample:\n {2}npm run (-s )?ops -- \S.*\n$/);
});

test('help wins over other arguments, and `help <command>` is <command> --help', async () => {
  const a = capture();
  expect(await runCli(['daily', '--bogus', '--env', 'nowhere', '-h'], a.sink)).toBe(0);
  const b = capture();
  expect(await runCli(['help', 'daily'], b.sink)).toBe(0);
  expect(a.io.out).toBe(b.io.out);
  expect(a.io.out).toContain('--env NAME');
  expect(a.io.out).toContain('(default: local)');
  expect(a.io.out).toContain('--fail-on LEVEL');
  expect(a.io.out).toContain('(default: fail)');
  expect(a.io.out).toContain('--report-dir DIR');
  expect(a.io.out).toContain('(default: reports)');
  expect(a.io.out).toContain('daily.broker-uptime');
  // The options may come before the command, as before.
  const c = capture();
  expect(await runCli(['--env', 'nowhere', 'daily', '--help'], c.sink)).toBe(0);
  expect(c.io.out).toBe(a.io.out);
});

const COMMAND_WORDS: string[][] = [
  ...CADENCES.map((c) => [c]),
  ['backup'],
  ['playbook'],
  ['playbook', 'broker-down'],
  ['deploy'],
  ['preflight'],
  ['provision'],
];

test.each(COMMAND_WORDS)(
  'ops %s ... --bogus: one line naming the option, a hint to --help, exit 2',
  async (...words) => {
    const { io, sink } = capture();
    expect(await runCli([...words, '--env', 'local', '--bogus'], { ...sink, incidentsRoot: scratch })).toBe(
      2,
    );
    expect(io.err).toBe(
      `ops ${words[0]}: unknown option --bogus (see npm run ops -- ${words.join(' ')} --help)\n`,
    );
    expect(io.out).toBe('');
  },
);

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
  expect(io.err).toMatch(
    /^ops daily: the local sandbox is not running \(\/nonexistent\/env.json not found\): start it with `npm run dev`/,
  );
});

/** The pid of a process that has exited (and been reaped). */
async function gonePid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid!;
}

test('a stale env.json (its sandbox process is gone): one line, exit 2, no check run, no incident', async () => {
  // What `npm start` or a killed `npm run dev` leaves behind: the details of a sandbox that is gone.
  const dir = await mkdtemp(join(scratch, 'stale-'));
  const envPath = join(dir, 'env.json');
  const owner = { ...currentOwner('dev'), pid: await gonePid(), processStart: null };
  await writeFile(envPath, JSON.stringify({ owner, db: { url: 'postgres://127.0.0.1:1/gone' } }));
  const reports = ['--report-dir', join(dir, 'reports')];
  const commands = [
    ['daily', ...reports],
    ['uptime', '--json', ...reports],
    ['backup'],
    ['playbook', 'broker-down', '--env', 'local'],
  ];
  for (const command of commands) {
    // Twice: the second run used to open local incidents for the "outage".
    for (const round of [1, 2]) {
      const { io, sink } = capture();
      const code = await runCli(command, { ...sink, envPath, incidentsRoot: dir });
      expect({ command, round, code }).toEqual({ command, round, code: 2 });
      expect(io.err).toBe(
        `ops ${command[0]}: the local sandbox is not running (its process (pid ${owner.pid}) is gone): ` +
          'start it with `npm run dev` in another terminal and leave it running (`npm start` stops at the end), or give --env <name>\n',
      );
      expect(io.out).toBe('');
    }
  }
  expect(await readdir(dir)).toEqual(['env.json']);
});

test('--env prod without its secrets: one line naming them and the placeholders, exit 2, nothing run', async () => {
  const masked: string[] = [];
  for (const cadence of CADENCES) {
    const { io, sink } = capture();
    const code = await runCli(
      [cadence, '--env', 'prod', '--incidents', 'local', '--report-dir', join(scratch, 'prod')],
      {
        ...sink,
        env: {},
        mask: (v) => masked.push(v),
        incidentsRoot: scratch,
      },
    );
    expect(code).toBe(2);
    expect(io.out).toBe('');
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
    expect(io.err).toMatch(
      new RegExp(
        `^ops ${cadence}: environment "prod" is not ready, nothing was run: missing secrets OPS_[A-Z_]+`,
      ),
    );
    expect(io.err).not.toMatch(/ManagedIdentity|CredentialUnavailable|\n\s+at /);
  }
  const daily = capture();
  await runCli(['daily', '--env', 'prod'], { ...daily.sink, env: {}, incidentsRoot: scratch });
  const line = daily.io.err;
  for (const secret of [
    'OPS_DATABASE_URL',
    'OPS_PROBE_MQTT_USERNAME',
    'OPS_PROBE_MQTT_PASSWORD',
    'OPS_CANARY_MQTT_USERNAME',
    'OPS_CANARY_MQTT_PASSWORD',
    'OPS_SSH_PRIVATE_KEY',
    'OPS_BACKUP_STORAGE_CONNECTION_STRING',
  ])
    expect(line).toContain(secret);
  // Only what daily reads: the restore test's server is weekly's.
  expect(line).not.toContain('OPS_RESTORE_DATABASE_URL');
  expect(line).toContain('placeholders in runbook/environments/prod.yaml: ');
  expect(line).toContain('mqtt.listeners[0].url=mqtts://mqtt.example.com:8883 (example host)');
  expect(line).toContain('azure.subscriptionId=00000000-0000-4000-8000-000000000000 (all-zero id)');
  expect(line).toContain(
    'ssh.hostKeySha256=SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA (placeholder host key)',
  );
  expect(line).toContain(
    'endpoints[1].url=https://example-project.supabase.co/auth/v1/health (example host)',
  );

  const weekly = capture();
  await runCli(['weekly', '--env', 'prod'], { ...weekly.sink, env: {}, incidentsRoot: scratch });
  expect(weekly.io.err).toContain(
    'missing secrets OPS_DATABASE_URL, OPS_BACKUP_STORAGE_CONNECTION_STRING, OPS_RESTORE_DATABASE_URL (',
  );
  const backup = capture();
  expect(await runCli(['backup', '--env', 'prod'], { ...backup.sink, env: {} })).toBe(2);
  expect(backup.io.err).toMatch(
    /^ops backup: environment "prod" is not ready, nothing was run: missing secrets OPS_DATABASE_URL, OPS_BACKUP_STORAGE_CONNECTION_STRING \(/,
  );
  // Nothing ran: no report, no incident counters.
  expect(existsSync(join(scratch, 'prod'))).toBe(false);
  expect(existsSync(join(scratch, '.ops'))).toBe(false);
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

  test('weekly --json --output FILE: one JSON object with the weekly checks in FILE, exit 0', async () => {
    const { io, sink } = capture();
    const output = join(dir, 'out', 'weekly.json');
    const code = await runCli(['weekly', '--json', '--output', output, '--report-dir', join(dir, 'r2')], {
      ...sink,
      envPath: sandbox.envPath,
      incidentsRoot: dir,
    });
    // Nothing on stdout (npm's banner is all a pipe would get), the file holds the JSON.
    expect(io.out).toBe('');
    expect(io.err).toContain(`ops weekly: output written to ${output}\n`);
    const parsed = JSON.parse(await readFile(output, 'utf8')) as {
      verdict: string;
      results: { id: string }[];
      report: string;
    };
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
        // This sandbox serves no dashboard (ops/checks/dashboard-live.test.ts runs it with one).
        ['golive.dashboard-live', 'skipped'],
      ]);
      expect(parsed.results[4]!.summary).toMatch(/mqtt notification delivered .* resolved$/);
      expect(code).toBe(0);
    }
  }, 120_000);

  test('playbook broker-down on the sandbox: the SSH steps are skipped with the reason, the rest runs', async () => {
    const { io, sink } = capture();
    const code = await runCli(['playbook', 'broker-down', '--env', 'local', '--maintenance', 'on'], {
      ...sink,
      envPath: sandbox.envPath,
    });
    expect(io.err).toBe('');
    expect(code).toBe(0);
    expect(io.out).toContain('[skipped] diagnose services');
    expect(io.out).toContain(
      '    not possible here: environment "local" configures no SSH access to the broker VM',
    );
    expect(io.out).toContain('[dry run] act maintenance');
    expect(io.out.trimEnd().split('\n').at(-1)).toBe(
      'Outcome: broker-down on local (dry run): 1 dry-run, 5 skipped; would switch maintenance on',
    );
  }, 60_000);

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
    // A missing secret stops the run before any check, naming the variable.
    const missing = capture();
    const code2 = await runCli(
      ['uptime', '--env', 'staging', '--json', '--incidents', 'off', '--report-dir', join(dir, 'st2')],
      {
        ...missing.sink,
        env: { ...secrets, STAGING_PROBE_PASSWORD: '' },
        environmentsDir: envDir,
      },
    );
    expect(code2).toBe(2);
    expect(missing.io.out).toBe('');
    expect(missing.io.err).toMatch(
      /^ops uptime: environment "staging" is not ready, nothing was run: missing secrets STAGING_PROBE_PASSWORD \(.*\)\n$/,
    );
    expect(existsSync(join(dir, 'st2'))).toBe(false);
  }, 60_000);
});
