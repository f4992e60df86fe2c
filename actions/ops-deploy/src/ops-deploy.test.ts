import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliIo } from '../../../ops/cli-io.js';
import { renderRunJson, renderRunMarkdown } from '../../../ops/deploy/run-report.js';
import type { DeployRun } from '../../../ops/deploy/run.js';
import { recordingCore } from '../../shared/src/recording-core.js';
import {
  CHECKOUT_PACKAGES,
  deployArgv,
  deployResult,
  readDeployInputs,
  runDeployAction,
  STAGE_INPUTS,
  type DeployJson,
} from './ops-deploy.js';

const HEAD = '0123456789abcdef0123456789abcdef01234567';
const DB_URL = 'postgres://ops:pw-9f8e7d6c@db.example.com:5432/postgres';

/**
 * A deploy run as ops/deploy/run.ts makes it, printed by the CLI's own JSON renderer (cast: the
 * run's optional parts grow with the stages; the action relies only on what DeployJson names).
 */
function deployRun(stages: DeployRun['stages'], deploymentId?: number): DeployRun {
  return {
    deployed: {},
    env: 'prod',
    head: HEAD,
    selected: ['database'],
    stages,
    plan: {
      env: 'prod',
      head: HEAD,
      deploys: ['database'],
      stages: [{ stage: 'database', run: 'yes', reason: 'migrations changed' }],
      changed: ['supabase/migrations/1_x.sql'],
      notDeployed: [],
    },
    allowances: { flags: [], commits: [] },
    deployment:
      deploymentId !== undefined
        ? { id: deploymentId, state: 'success' }
        : { note: 'nothing deployed, so no deployment recorded' },
  } as DeployRun;
}

let root: string;
let workspace: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'ops-deploy-root-'));
  for (const p of CHECKOUT_PACKAGES) {
    await mkdir(join(root, 'node_modules', p), { recursive: true });
    await writeFile(join(root, 'node_modules', p, 'package.json'), '{}');
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
beforeEach(async () => {
  workspace = await mkdtemp(join(tmpdir(), 'ops-deploy-ws-'));
});
afterEach(async () => {
  await rm(workspace, { recursive: true, force: true });
});

async function act(
  inputs: Record<string, string>,
  cli: (argv: string[], io: CliIo) => Promise<number>,
  env: Record<string, string | undefined> = {},
) {
  const calls: string[][] = [];
  const core = recordingCore(inputs);
  const result = await runDeployAction({
    core,
    env,
    repoRoot: root,
    workspace,
    environmentUrl: () => 'https://func.example.net/api/health',
    runCli: async (argv, io) => {
      calls.push(argv);
      return cli(argv, io);
    },
  });
  return { core, calls, result };
}

describe('readDeployInputs and deployArgv', () => {
  it('passes --stages only when stages are given: empty is the whole deploy', () => {
    const whole = readDeployInputs(recordingCore({}));
    expect(deployArgv(whole)).toEqual(['deploy', '--env', 'prod', '--report-dir', 'reports', '--json']);
    const some = readDeployInputs(
      recordingCore({
        environment: 'prod',
        stages: ' database , smoke,database',
        from: 'abc1234',
        'smoke-attempts': '5',
        'smoke-interval': '2.5',
        'report-dir': 'out/deploy',
      }),
    );
    expect(deployArgv(some)).toEqual([
      'deploy',
      '--env',
      'prod',
      '--stages',
      'database,smoke',
      '--from',
      'abc1234',
      '--smoke-attempts',
      '5',
      '--smoke-interval',
      '2.5',
      '--report-dir',
      'out/deploy',
      '--json',
    ]);
  });

  it('offers the stages ops deploy --stages takes, from the one stage list', () => {
    expect(STAGE_INPUTS).toEqual(expect.arrayContaining(['database', 'functions', 'vm', 'smoke']));
    expect(STAGE_INPUTS).not.toContain('plan');
    expect(STAGE_INPUTS).not.toContain('preflight');
    expect(STAGE_INPUTS).not.toContain('rollback');
  });

  it('names every bad input at once', () => {
    expect(() =>
      readDeployInputs(
        recordingCore({
          environment: 'Prod',
          stages: 'database,plan,dashbord',
          from: 'main; rm -rf /',
          'smoke-attempts': '101',
          'smoke-interval': '601',
          'report-dir': '../x',
        }),
      ),
    ).toThrow(
      'invalid inputs: "environment" must be a lower-case name like "prod" (got "Prod"); ' +
        '"report-dir" must be a relative path inside the workspace (got "../x"); ' +
        `"stages" must be empty (the whole deploy) or a comma-separated list of ${STAGE_INPUTS.join(', ')} (got "database,plan,dashbord"); ` +
        '"from" must be a commit SHA (7 to 40 lower-case hex digits) (got "main; rm -rf /"); ' +
        '"smoke-attempts" must be at most 100 (got 101); ' +
        '"smoke-interval" must be seconds from 0 to 600 (got "601")',
    );
    expect(() => readDeployInputs(recordingCore({ stages: ' , ' }))).toThrow('"stages" must be empty');
  });
});

describe('deployResult', () => {
  const json = (stages: DeployJson['stages']): DeployJson => ({
    env: 'prod',
    head: HEAD,
    stages,
    deployment: {},
  });
  it('is success when a deploy stage succeeded, nothing when only plan and smoke ran, failure otherwise', () => {
    const plan = { stage: 'plan', status: 'success', summary: '', ms: 1 };
    const smoke = { stage: 'smoke', status: 'success', summary: '', ms: 1 };
    expect(deployResult(0, json([plan, { stage: 'database', status: 'success', summary: '', ms: 1 }]))).toBe(
      'success',
    );
    expect(
      deployResult(0, json([plan, { stage: 'database', status: 'skipped', summary: '', ms: 0 }, smoke])),
    ).toBe('nothing');
    expect(deployResult(1, json([plan, { stage: 'vm', status: 'failure', summary: '', ms: 1 }]))).toBe(
      'failure',
    );
    expect(deployResult(0, json([plan, { stage: 'database', status: 'refused', summary: '', ms: 1 }]))).toBe(
      'failure',
    );
    expect(deployResult(2, undefined)).toBe('failure');
  });
});

describe('runDeployAction', () => {
  it('runs the deploy command, writes the report (summary and file), sets the outputs and masks secrets', async () => {
    const run = deployRun(
      [
        { stage: 'plan', status: 'success', summary: 'runs database', ms: 12 },
        { stage: 'database', status: 'success', summary: 'applied 1 migration(s)', ms: 3400 },
      ],
      42,
    );
    const env: Record<string, string | undefined> = { OPS_DATABASE_URL: DB_URL };
    const { core, calls, result } = await act(
      { environment: 'prod', stages: 'database', 'github-token': 'ghs_token_from_input' },
      async (_argv, io) => {
        io.err('ops deploy: database: 1 pending migration(s)\n');
        io.mask?.('value-the-cli-read');
        io.out(renderRunJson(run));
        return 0;
      },
      env,
    );
    expect(calls).toEqual([
      ['deploy', '--env', 'prod', '--stages', 'database', '--report-dir', 'reports', '--json'],
    ]);
    expect(result).toBe('success');
    expect(core.failed).toEqual([]);
    expect(core.secrets).toEqual(
      expect.arrayContaining([DB_URL, 'pw-9f8e7d6c', 'ghs_token_from_input', 'value-the-cli-read']),
    );
    // The CLI reads the token from the environment, as on a laptop.
    expect(env.GITHUB_TOKEN).toBe('ghs_token_from_input');
    expect(core.logs).toContain('ops deploy: database: 1 pending migration(s)');
    expect(core.outputs).toEqual({
      result: 'success',
      'deployment-id': '42',
      'report-path': `reports/deploy-prod-${HEAD.slice(0, 12)}.md`,
      'environment-url': 'https://func.example.net/api/health',
    });
    // The CLI's own Markdown, rendered from its JSON.
    expect(core.summary).toBe(renderRunMarkdown(run));
    expect(await readFile(join(workspace, core.outputs['report-path']!), 'utf8')).toBe(core.summary);
    const saved = JSON.parse(
      await readFile(join(workspace, `reports/deploy-prod-${HEAD.slice(0, 12)}.json`), 'utf8'),
    ) as DeployJson;
    expect(saved.deployment.id).toBe(42);
  });

  it('prefers the Markdown the CLI includes, and cuts every masked value from the report file', async () => {
    const { core } = await act({ stages: 'smoke' }, async (_argv, io) => {
      io.mask?.('s3cret-in-report');
      const json = JSON.parse(
        renderRunJson(deployRun([{ stage: 'plan', status: 'success', summary: '', ms: 1 }])),
      );
      io.out(JSON.stringify({ ...json, markdown: '# from the CLI: s3cret-in-report\n' }));
      return 0;
    });
    expect(core.outputs.result).toBe('nothing');
    expect(core.outputs['deployment-id']).toBe('');
    const file = await readFile(join(workspace, core.outputs['report-path']!), 'utf8');
    expect(file).toBe('# from the CLI: ***\n');
    expect(core.summary).toBe(file);
  });

  it('fails the step with the failing stage when the deploy failed, the report still written', async () => {
    const run = deployRun(
      [
        { stage: 'plan', status: 'success', summary: 'runs database', ms: 12 },
        {
          stage: 'database',
          status: 'refused',
          summary: 'refused: 1 pending migration would destroy data',
          ms: 40,
        },
      ],
      43,
    );
    const { core, result } = await act({ stages: 'database' }, async (_argv, io) => {
      io.out(renderRunJson(run));
      return 1;
    });
    expect(result).toBe('failure');
    expect(core.failed).toEqual([
      'deploy of prod (database): database refused: refused: 1 pending migration would destroy data',
    ]);
    expect(core.outputs).toMatchObject({ result: 'failure', 'deployment-id': '43' });
    expect(await readFile(join(workspace, core.outputs['report-path']!), 'utf8')).toContain(
      '| database | refused |',
    );
  });

  it('reports what the CLI said when it printed no report (the whole deploy, environment not ready)', async () => {
    const env = { OPS_SSH_PRIVATE_KEY: 'line-one-of-a-key\nline-two-of-a-key' };
    const { core, calls } = await act(
      {},
      async (_argv, io) => {
        io.err('ops deploy: environment "prod" is not ready: missing secrets OPS_DATABASE_URL\n');
        io.err('ops deploy: echo of line-two-of-a-key\n');
        return 2;
      },
      env,
    );
    expect(calls).toEqual([['deploy', '--env', 'prod', '--report-dir', 'reports', '--json']]);
    expect(core.outputs).toMatchObject({
      result: 'failure',
      'deployment-id': '',
      'report-path': 'reports/deploy-prod.md',
    });
    expect(core.failed[0]).toContain(
      'deploy of prod (the whole deploy): ops deploy exited 2: ops deploy: environment',
    );
    expect(core.failed[0]).not.toContain('line-two-of-a-key');
    const file = await readFile(join(workspace, 'reports/deploy-prod.md'), 'utf8');
    expect(file).toMatch(/^# Deploy of prod: failure\n/);
    expect(file).toContain('missing secrets OPS_DATABASE_URL');
    expect(file).toContain('ops deploy: echo of ***');
  });

  it('refuses to start without npm ci, naming what is missing, and with bad inputs', async () => {
    await rm(join(root, 'node_modules', '@libpg-query'), { recursive: true });
    try {
      const { core, calls } = await act({ stages: 'database' }, async () => 0);
      expect(calls).toEqual([]);
      expect(core.outputs.result).toBe('failure');
      expect(core.failed[0]).toMatch(
        /^the deploy loads @libpg-query\/parser from the checkout's node_modules .* run `npm ci` before this step$/,
      );
    } finally {
      await mkdir(join(root, 'node_modules', '@libpg-query', 'parser'), { recursive: true });
      await writeFile(join(root, 'node_modules', '@libpg-query', 'parser', 'package.json'), '{}');
    }
    const bad = await act({ stages: 'deploy-everything' }, async () => 0);
    expect(bad.calls).toEqual([]);
    expect(bad.core.failed[0]).toContain('"stages" must be empty (the whole deploy)');
  });
});
