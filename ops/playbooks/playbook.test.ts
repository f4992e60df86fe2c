/** The playbook runner: order, redaction, errors, the audit rule and the outcome line. */
import type pg from 'pg';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import { createSecretReader } from '../config/secrets.js';
import { NotConfiguredError, type OpsTarget } from '../config/ops-target.js';
import { actorFor, outcomeLine, runPlaybook, type Playbook, type PlaybookContext } from './playbook.js';

function context(dryRun: boolean, queries: unknown[][], failAudit = false): PlaybookContext {
  const secrets = createSecretReader('prod', { TOKEN: 'hunter2-token' });
  secrets.read('TOKEN');
  const target: OpsTarget = {
    name: 'prod',
    config: loadEnvironmentConfig('prod'),
    secrets,
    env: { GITHUB_ACTOR: 'ana' },
  };
  const db = {
    query: async (...args: unknown[]) => {
      if (failAudit) throw new Error('permission denied for table audit_log');
      queries.push(args);
      return { rows: [], rowCount: 1 };
    },
  } as unknown as pg.Pool;
  return {
    target,
    options: { dryRun, incident: 4 },
    sources: {
      db: () => db,
      ssh: () => {
        throw new Error('no ssh in this test');
      },
      azure: () => {
        throw new Error('no azure in this test');
      },
      smoke: () => Promise.reject(new Error('no smoke in this test')),
    },
    now: () => 0,
    restartWait: { timeoutMs: 0, pollMs: 0 },
    facts: new Map(),
    environmentFile: 'runbook/environments/prod.yaml',
    progress: () => {},
  };
}

const playbook: Playbook = {
  name: 'demo',
  title: 'Demo',
  accepts: [],
  needs: ['database'],
  steps: [
    {
      id: 'look',
      title: 'look',
      kind: 'diagnose',
      run: async () => ({ status: 'ok', lines: ['token is hunter2-token'] }),
    },
    {
      id: 'boom',
      title: 'boom',
      kind: 'diagnose',
      run: async () => {
        throw new Error('cannot reach hunter2-token');
      },
    },
    {
      id: 'fix',
      title: 'fix',
      kind: 'act',
      run: async (ctx) =>
        ctx.options.dryRun
          ? { status: 'dry-run', lines: ['would fix'], summary: 'would fix it' }
          : {
              status: 'ok',
              lines: ['fixed'],
              summary: 'fixed it',
              audit: { action: 'demo.fix', target: 'x', detail: { n: 1 } },
            },
    },
  ],
};

test('prints each step as it runs with secrets redacted; an error is a step result and exit 1', async () => {
  const printed: string[] = [];
  const run = await runPlaybook(playbook, context(true, []), (l) => printed.push(l));
  expect(printed).toEqual([
    'Playbook demo on prod (dry run, --apply to act): Demo',
    '[ok] diagnose look: look',
    '    token is ***',
    '[ERROR] diagnose boom: boom',
    '    cannot reach ***',
    '[dry run] act fix: fix',
    '    would fix',
  ]);
  expect(run.exitCode).toBe(1);
  expect(run.outcome).toBe('Outcome: demo on prod (dry run): 1 ok, 1 error, 1 dry-run; would fix it');
});

test('an applied act step writes one audit row; a dry run writes none', async () => {
  const dry: unknown[][] = [];
  expect((await runPlaybook(playbook, context(true, dry), () => undefined)).mode).toBe('dry run');
  expect(dry).toEqual([]);
  const applied: unknown[][] = [];
  const printed: string[] = [];
  const run = await runPlaybook(playbook, context(false, applied), (l) => printed.push(l));
  expect(printed[0]).toBe('Playbook demo on prod (applying): Demo');
  expect(run.mode).toBe('applied');
  expect(run.outcome).toBe('Outcome: demo on prod (applied): 2 ok, 1 error; fixed it');
  expect(applied).toHaveLength(1);
  const [sql, params] = applied[0] as [string, unknown[]];
  expect(sql).toContain('insert into ops.audit_log');
  expect(params.slice(0, 3)).toEqual(['playbook:demo (ana)', 'demo.fix', 'x']);
  expect(JSON.parse(params[3] as string)).toEqual({ n: 1, env: 'prod', status: 'ok', incident: 4 });
});

test('an audit row that cannot be written turns the action into a warning, saying so', async () => {
  const printed: string[] = [];
  const run = await runPlaybook(playbook, context(false, [], true), (l) => printed.push(l));
  expect(run.steps[2]).toMatchObject({ status: 'warn' });
  expect(printed).toContain('    ops.audit_log not written: permission denied for table audit_log');
});

test('--apply with nothing to do says "nothing applied", not "applied"', async () => {
  const idle: Playbook = {
    ...playbook,
    steps: [
      playbook.steps[0]!,
      {
        id: 'fix',
        title: 'fix',
        kind: 'act',
        run: async () => ({ status: 'skipped', lines: ['not asked'] }),
      },
    ],
  };
  const run = await runPlaybook(idle, context(false, []), () => undefined);
  expect(run.mode).toBe('nothing applied');
  expect(run.outcome).toBe('Outcome: demo on prod (nothing applied): 1 ok, 1 skipped; no action taken');
});

test('a step the environment cannot run is skipped with the reason, not an error', async () => {
  const printed: string[] = [];
  const ssh: Playbook = {
    ...playbook,
    steps: [
      {
        id: 'services',
        title: 'services',
        kind: 'diagnose',
        run: async (ctx) => {
          ctx.sources.ssh();
          return { status: 'ok', lines: [] };
        },
      },
    ],
  };
  const ctx = context(true, []);
  ctx.sources.ssh = () => {
    throw new NotConfiguredError('SSH access to the broker VM', 'local');
  };
  const run = await runPlaybook(ssh, ctx, (l) => printed.push(l));
  expect(printed.slice(1)).toEqual([
    '[skipped] diagnose services: services',
    '    not possible here: environment "local" configures no SSH access to the broker VM',
  ]);
  expect(run.exitCode).toBe(0);
});

test('actor and outcome line', () => {
  expect(actorFor('cost-spike', {})).toBe('playbook:cost-spike');
  expect(actorFor('cost-spike', { GITHUB_ACTOR: ' ana ' })).toBe('playbook:cost-spike (ana)');
  expect(outcomeLine('x', 'prod', false, [])).toBe(
    'Outcome: x on prod (nothing applied): no steps; no action taken',
  );
});
