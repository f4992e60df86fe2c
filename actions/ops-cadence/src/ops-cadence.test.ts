import type { CliIo } from '../../../ops/cli-io.js';
import { recordingCore } from '../../shared/src/recording-core.js';
import {
  cadenceArgv,
  countStatuses,
  parseCadenceJson,
  readCadenceInputs,
  runCadenceAction,
} from './ops-cadence.js';

const DEFAULTS = {
  incidents: 'github',
  'fail-on': 'fail',
  'report-dir': 'reports',
  'github-token': 'ghs_token_123',
};
const RESULTS = [
  { id: 'daily.broker-uptime', status: 'ok' },
  { id: 'daily.tls-expiry', status: 'warn' },
  { id: 'daily.cost-burn', status: 'fail' },
  { id: 'daily.backup-freshness', status: 'ok' },
];

/** A stand-in CLI that answers like `ops <cadence> --json` and records what it was given. */
function fakeCli(code: number, extra: Record<string, unknown> = {}) {
  const calls: { argv: string[]; token: string | undefined }[] = [];
  const env: Record<string, string | undefined> = {
    OPS_DATABASE_URL: 'postgres://ops:pw-secret@db.example.com/postgres',
  };
  const runCli = async (argv: string[], io: CliIo) => {
    calls.push({ argv, token: env.GITHUB_TOKEN });
    io.mask?.('canary-password-from-config');
    io.err('ops: daily.cost-burn: fail (12 ms)\n');
    io.out(
      JSON.stringify({
        cadence: argv[0],
        verdict: 'fail',
        results: RESULTS,
        report: 'reports/daily.md',
        ...extra,
      }),
    );
    return code;
  };
  return { calls, env, runCli };
}

const files = { 'reports/daily.md': '# daily checks (prod): FAIL\n' };
const readFile = async (path: string) => {
  const text = (files as Record<string, string>)[path];
  if (text === undefined) throw new Error(`ENOENT: ${path}`);
  return text;
};

describe('readCadenceInputs / cadenceArgv', () => {
  it('builds the CLI call from the inputs', () => {
    const inputs = readCadenceInputs(
      recordingCore({
        ...DEFAULTS,
        cadence: 'golive',
        environment: 'prod',
        incidents: 'off',
        'fail-on': 'warn',
      }),
    );
    expect(cadenceArgv(inputs)).toEqual([
      'golive',
      '--env',
      'prod',
      '--json',
      '--incidents',
      'off',
      '--fail-on',
      'warn',
      '--report-dir',
      'reports',
    ]);
  });

  it('refuses an unknown cadence before running anything', async () => {
    const cli = fakeCli(0);
    const core = recordingCore({ ...DEFAULTS, cadence: 'hourly', environment: 'prod' });
    await runCadenceAction({ core, runCli: cli.runCli, env: cli.env, readFile });
    expect(cli.calls).toEqual([]);
    expect(core.failed).toEqual([
      'invalid inputs: "cadence" must be one of daily, weekly, monthly, golive, uptime (got "hourly")',
    ]);
  });

  it('needs a token when incidents go to GitHub', async () => {
    const cli = fakeCli(0);
    const core = recordingCore({ ...DEFAULTS, 'github-token': '', cadence: 'daily', environment: 'prod' });
    await runCadenceAction({ core, runCli: cli.runCli, env: cli.env, readFile });
    expect(cli.calls).toEqual([]);
    expect(core.failed[0]).toContain('github-token');
  });
});

describe('runCadenceAction', () => {
  it('runs the cadence, writes the summary, sets outputs and fails the step as the CLI says', async () => {
    const cli = fakeCli(1);
    const core = recordingCore({ ...DEFAULTS, cadence: 'daily', environment: 'prod' });
    await runCadenceAction({ core, runCli: cli.runCli, env: cli.env, readFile });

    expect(cli.calls).toEqual([{ argv: cadenceArgv(readCadenceInputs(core)), token: 'ghs_token_123' }]);
    expect(core.secrets).toEqual(
      expect.arrayContaining([
        'ghs_token_123',
        'postgres://ops:pw-secret@db.example.com/postgres',
        'pw-secret',
      ]),
    );
    expect(core.summary).toBe('# daily checks (prod): FAIL\n');
    expect(core.outputs).toEqual({
      verdict: 'fail',
      'report-path': 'reports/daily.md',
      counts: JSON.stringify({ ok: 2, warn: 1, fail: 1, error: 0, skipped: 0 }),
      'ok-count': '2',
      'warn-count': '1',
      'fail-count': '1',
      'error-count': '0',
      'skipped-count': '0',
    });
    expect(core.logs).toContain('ops: daily.cost-burn: fail (12 ms)');
    expect(core.failed).toEqual(['daily on prod: verdict fail (fail-on: fail)']);
  });

  it('passes when the CLI exits 0 (fail-on never) and prefers Markdown from the JSON', async () => {
    const cli = fakeCli(0, { markdown: '# from json\n' });
    const core = recordingCore({ ...DEFAULTS, cadence: 'daily', environment: 'prod', 'fail-on': 'never' });
    await runCadenceAction({ core, runCli: cli.runCli, env: cli.env, readFile });
    expect(core.failed).toEqual([]);
    expect(core.summary).toBe('# from json\n');
    expect(core.outputs.verdict).toBe('fail');
  });

  it('keeps an existing GITHUB_TOKEN rather than the input', async () => {
    const cli = fakeCli(0);
    cli.env.GITHUB_TOKEN = 'ghs_from_env';
    const core = recordingCore({ ...DEFAULTS, cadence: 'daily', environment: 'prod' });
    await runCadenceAction({ core, runCli: cli.runCli, env: cli.env, readFile });
    expect(cli.calls[0]!.token).toBe('ghs_from_env');
  });

  it('fails with the CLI error when it prints no JSON (bad environment)', async () => {
    const core = recordingCore({ ...DEFAULTS, cadence: 'daily', environment: 'staging' });
    await runCadenceAction({
      core,
      env: {},
      readFile,
      runCli: async (_argv, io) => {
        io.err('ops: --env staging: no runbook/environments/staging.yaml\n');
        return 2;
      },
    });
    expect(core.failed).toEqual([
      'ops daily exited 2: ops: --env staging: no runbook/environments/staging.yaml',
    ]);
    expect(core.outputs).toEqual({});
  });

  it('warns but still sets outputs when the report file is gone', async () => {
    const cli = fakeCli(0);
    const core = recordingCore({ ...DEFAULTS, cadence: 'daily', environment: 'prod' });
    await runCadenceAction({
      core,
      runCli: cli.runCli,
      env: cli.env,
      readFile: async () => {
        throw new Error('ENOENT');
      },
    });
    expect(core.warnings).toEqual(['report reports/daily.md could not be read: ENOENT']);
    expect(core.outputs.verdict).toBe('fail');
  });
});

describe('parseCadenceJson / countStatuses', () => {
  it('refuses output that is not the CLI JSON', () => {
    expect(() => parseCadenceJson('# markdown')).toThrow('did not print JSON');
    expect(() => parseCadenceJson('{"verdict":"ok"}')).toThrow('without verdict, results and report');
  });

  it('counts statuses, ignoring unknown ones', () => {
    expect(countStatuses([{ status: 'ok' }, { status: 'error' }, { status: 'weird' }])).toEqual({
      ok: 1,
      warn: 0,
      fail: 0,
      error: 1,
      skipped: 0,
    });
  });
});
