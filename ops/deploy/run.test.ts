/**
 * The deploy's orchestration (run.ts) with its decisions in view: the stages are recording
 * runners (injected, as the CLI injects the real ones), the smoke test a scripted cadence, the
 * deployment records go to the GitHub stand-in through Octokit, the incident to the real local
 * incident store. What is asserted is what run.ts decides: when to roll back, what, in which
 * order, the smoke test after it, the incident opened and later closed, the deployment's status.
 */
import { getOctokit } from '@actions/github';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import { createSecretReader } from '../config/secrets.js';
import type { CheckResult, CheckStatus } from '../engine/check.js';
import { createIncidentStore } from '../incidents/create-incident-store.js';
import { localIncidentFile, readIncidentFile } from '../incidents/local-store.js';
import type { CadenceRun } from '../run-cadence.js';
import type { DeploymentsRepo } from './deployments.js';
import type { DeployPlan } from './plan.js';
import { exitCodeOf, runDeploy, type RunDeployOptions, type RunStage } from './run.js';
import { renderRunMarkdown } from './run-report.js';
import type { StageRunner, StageRunResult } from './stage-runner.js';

const HEAD = 'a'.repeat(40);
let standin: GitHubStandin;
let github: DeploymentsRepo;
let dir: string;

beforeAll(async () => {
  standin = await startGitHubStandin();
  github = {
    octokit: getOctokit(standin.token, { baseUrl: standin.url }),
    owner: standin.owner,
    repo: standin.repo,
  };
  dir = await mkdtemp(join(tmpdir(), 'deploy-run-'));
});
afterAll(async () => {
  standin.assertNoViolations();
  await standin.close();
  await rm(dir, { recursive: true, force: true });
});

const config: EnvironmentConfig = {
  name: 'runtest',
  description: 'run.ts test',
  sandbox: false,
  ingest: { healthUrl: 'https://func-runtest.azurewebsites.net/api/health' },
  azure: {
    subscriptionId: '00000000-0000-4000-8000-000000000000',
    resourceGroup: 'rg',
    vmName: 'vm',
    functionApp: 'func-runtest',
    logAnalyticsWorkspaceId: '00000000-0000-4000-8000-000000000001',
    budgetName: 'b',
  },
  ssh: {
    host: '127.0.0.1',
    port: 22,
    username: 'ops',
    hostKeySha256: `SHA256:${'A'.repeat(43)}`,
    privateKeyEnv: 'RUNTEST_SSH_KEY',
  },
  deploy: {
    functions: { plan: 'flex-consumption' },
    vm: {
      inventory: 'ansible/inventories/runtest.yml',
      knownHostsEnv: 'RUNTEST_KNOWN_HOSTS',
      ingestKeyEnv: 'RUNTEST_INGEST_KEY',
      serviceUsers: [
        { role: 'bridge', usernameEnv: 'RUNTEST_BRIDGE_USER', passwordEnv: 'RUNTEST_BRIDGE_PASSWORD' },
      ],
    },
  },
  budget: { monthlyUsd: 1, aiMonthlyUsd: 1 },
  thresholds: {},
};

const SECRETS = {
  RUNTEST_SSH_KEY: 'k',
  RUNTEST_KNOWN_HOSTS: 'h',
  RUNTEST_INGEST_KEY: 'i',
  RUNTEST_BRIDGE_USER: 'bridge-runtest',
  RUNTEST_BRIDGE_PASSWORD: 'p',
};

function target(env: Record<string, string> = SECRETS): OpsTarget {
  return { name: 'runtest', config, secrets: createSecretReader('runtest', env), env: {} };
}

const plan: DeployPlan = {
  env: 'runtest',
  head: HEAD,
  deploys: ['functions', 'vm'],
  stages: [
    { stage: 'plan', run: 'yes', reason: 'always' },
    { stage: 'functions', run: 'yes', reason: 'functions/ changed' },
    { stage: 'vm', run: 'yes', reason: 'bridge/ changed' },
  ],
  changed: ['functions/src/index.ts', 'bridge/main.ts'],
  notDeployed: [],
};

/** A stage that records its calls and answers as scripted. */
function recorder(
  name: string,
  calls: string[],
  result: Partial<StageRunResult> = {},
  fail?: string,
): StageRunner {
  return {
    async run() {
      calls.push(`${name}.run`);
      if (fail) throw new Error(fail);
      return {
        status: 'success',
        summary: `${name} deployed`,
        ms: 1,
        changed: true,
        versions: { before: 'old', after: 'new' },
        ...result,
      };
    },
    async rollback() {
      calls.push(`${name}.rollback`);
      return { status: 'success', summary: `${name} back`, ms: 1, versions: { before: 'new', after: 'old' } };
    },
  };
}

/** The smoke cadence answering each run with the next verdict (the canary check's status). */
function cadence(verdicts: CheckStatus[], calls: string[]) {
  let n = 0;
  return async (): Promise<CadenceRun> => {
    const verdict = verdicts[Math.min(n++, verdicts.length - 1)]!;
    calls.push(`smoke:${verdict}`);
    const results = [
      {
        id: 'daily.ingest-canary',
        status: verdict,
        summary: verdict,
        evidence: [],
      } as unknown as CheckResult,
    ];
    return { cadence: 'golive', environment: 'runtest', verdict, results, markdown: '', file: `r${n}.md` };
  };
}

function options(
  calls: string[],
  verdicts: CheckStatus[],
  runners: RunDeployOptions['runners'],
  extra: Partial<RunDeployOptions> = {},
): RunDeployOptions {
  return {
    target: target(),
    plan,
    selected: ['functions', 'vm', 'smoke'] as RunStage[],
    planMs: 0,
    git: async () => '',
    root: dir,
    allowDestructive: [],
    runners,
    smoke: {
      attempts: 2,
      intervalMs: 0,
      reportDir: dir,
      sleep: async () => {},
      runCadence: cadence(verdicts, calls),
    },
    preflight: {
      probes: {
        http: async () => 'HTTP 200',
        ssh: async () => 'SSH-2.0-OpenSSH_9.6',
        database: async () => 'PostgreSQL 17',
      },
    },
    incidents: createIncidentStore({ mode: 'local', env: 'runtest', rootDir: dir }),
    github,
    log: () => {},
    ...extra,
  };
}

const incidentFile = () => readIncidentFile(localIncidentFile(dir, 'runtest'), 'runtest');
const statesOf = (id: number) => standin.deployments.find((d) => d.id === id)!.statuses.map((s) => s.state);

test('smoke fails after functions and vm: both go back (vm first), smoke again, incident opened, deployment failure', async () => {
  const calls: string[] = [];
  const run = await runDeploy(
    // Before: ok. After the deploy: fail twice (both attempts). After the rollback: ok.
    options(calls, ['ok', 'fail', 'fail', 'ok'], {
      functions: recorder('functions', calls),
      vm: recorder('vm', calls),
    }),
  );
  expect(run.preflight!.summary).toMatch(/^ready/);
  expect(calls).toEqual([
    'smoke:ok', // preflight's health before
    'functions.run',
    'vm.run',
    'smoke:fail',
    'smoke:fail',
    'vm.rollback',
    'functions.rollback',
    'smoke:ok',
  ]);
  expect(run.stages.map((s) => [s.stage, s.status])).toEqual([
    ['plan', 'success'],
    ['preflight', 'success'],
    ['functions', 'success'],
    ['vm', 'success'],
    ['smoke', 'failure'],
    ['rollback', 'success'],
  ]);
  expect(run.rollback!.smoke!.status).toBe('success');
  expect(run.stages.at(-1)!.summary).toMatch(/^the smoke test failed \(golive fail after 2 attempts/);
  expect(exitCodeOf(run)).toBe(1);
  expect(statesOf(run.deployment.id!)).toEqual(['in_progress', 'failure']);
  expect(
    standin.deployments.find((d) => d.id === run.deployment.id)!.statuses.map((s) => s.environment_url),
  ).toEqual([
    'https://func-runtest.azurewebsites.net/api/health',
    'https://func-runtest.azurewebsites.net/api/health',
  ]);

  const file = await incidentFile();
  const open = file.issues.filter((i) => i.state === 'open');
  expect(open).toHaveLength(1);
  expect(open[0]!.marker.fingerprint).toBe('deploy/runtest');
  expect(open[0]!.body).toContain(`deploy of ${HEAD.slice(0, 7)} rolled back: the smoke test failed`);
  expect(open[0]!.body).toContain('rolled back functions: success, functions back');
  expect(run.incident!.opened).toHaveLength(1);

  const md = renderRunMarkdown(run);
  expect(md).toMatch(/^# Deploy of runtest: functions, vm, smoke: smoke failure\n/);
  expect(md).toContain('## Rollback');
  expect(md).toMatch(/\| functions \| success \| functions deployed \| `old` \| `new` \|/);
  expect(md).toContain(`Incident (local): opened [#${open[0]!.number}]`);

  // The next deploy that passes closes it, once.
  const next = await runDeploy(
    options([], ['ok'], { functions: recorder('functions', []), vm: recorder('vm', []) }),
  );
  expect(exitCodeOf(next)).toBe(0);
  expect(next.incident!.closed.map((c) => c.number)).toEqual([open[0]!.number]);
  expect(statesOf(next.deployment.id!)).toEqual(['in_progress', 'success']);
  expect((await incidentFile()).issues.filter((i) => i.state === 'open')).toHaveLength(0);
});

test('the functions stage fails: vm never runs, functions go back, smoke is skipped but runs after the rollback', async () => {
  const calls: string[] = [];
  const run = await runDeploy(
    options(calls, ['ok'], {
      functions: recorder('functions', calls, {}, '/health still reports old after 120 s'),
      vm: recorder('vm', calls),
    }),
  );
  expect(calls).toEqual(['smoke:ok', 'functions.run', 'functions.rollback', 'smoke:ok']);
  expect(run.stages.map((s) => [s.stage, s.status])).toEqual([
    ['plan', 'success'],
    ['preflight', 'success'],
    ['functions', 'failure'],
    ['smoke', 'skipped'],
    ['rollback', 'success'],
  ]);
  expect(run.stages.find((s) => s.stage === 'functions')!.summary).toBe(
    '/health still reports old after 120 s',
  );
  expect(run.rollback!.reason).toBe('the functions stage failed');
  // Opened by this run; closed again by the next good deploy so the tests stay independent.
  expect(run.incident!.opened).toHaveLength(1);
  const next = await runDeploy(
    options([], ['ok'], { functions: recorder('functions', []), vm: recorder('vm', []) }),
  );
  expect(next.incident!.closed).toHaveLength(1);
});

test('a check failing before the deploy and after it is not held against it: no rollback', async () => {
  const calls: string[] = [];
  const run = await runDeploy(
    options(calls, ['fail'], { functions: recorder('functions', calls), vm: recorder('vm', calls) }),
  );
  expect(calls).toEqual(['smoke:fail', 'functions.run', 'vm.run', 'smoke:fail']);
  expect(run.preflight!.healthBefore).toMatchObject({ verdict: 'fail', failing: ['daily.ingest-canary'] });
  expect(run.preflight!.summary).toContain('already failing before the deploy: daily.ingest-canary');
  expect(run.smoke!.summary).toContain('still failing as before the deploy: daily.ingest-canary');
  expect(run.rollback).toBeUndefined();
  expect(exitCodeOf(run)).toBe(0);
  expect(renderRunMarkdown(run)).toContain(
    'Health before the deploy: **fail**; already failing: daily.ingest-canary (the deploy went on',
  );
});

test('nothing changed by the stages that can be put back: a failed smoke test has nothing to roll back', async () => {
  const calls: string[] = [];
  const run = await runDeploy(
    options(calls, ['ok', 'fail'], {
      functions: recorder('functions', calls, { changed: false, summary: 'the same package runs already' }),
      vm: recorder('vm', calls, { changed: false, summary: '0 changed' }),
    }),
  );
  expect(calls).toEqual(['smoke:ok', 'functions.run', 'vm.run', 'smoke:fail', 'smoke:fail']);
  expect(run.stages.at(-1)).toMatchObject({ stage: 'rollback', status: 'skipped' });
  expect(run.stages.at(-1)!.summary).toContain('nothing that can be put back was deployed');
  expect(exitCodeOf(run)).toBe(1);
  const next = await runDeploy(
    options([], ['ok'], { functions: recorder('functions', []), vm: recorder('vm', []) }),
  );
  expect(next.incident!.closed).toHaveLength(1);
});

test('a missing secret: preflight refuses by name, no stage runs, no incident, the deployment failed', async () => {
  const calls: string[] = [];
  const run = await runDeploy(
    options(
      calls,
      ['ok'],
      { functions: recorder('functions', calls), vm: recorder('vm', calls) },
      {
        target: target({ ...SECRETS, RUNTEST_KNOWN_HOSTS: '' }),
      },
    ),
  );
  expect(calls).toEqual([]);
  expect(run.stages.map((s) => [s.stage, s.status])).toEqual([
    ['plan', 'success'],
    ['preflight', 'refused'],
    ['smoke', 'skipped'],
  ]);
  expect(run.preflight!.missingSecrets).toEqual(['RUNTEST_KNOWN_HOSTS']);
  expect(run.incident).toBeUndefined();
  expect(statesOf(run.deployment.id!)).toEqual(['in_progress', 'failure']);
});

test('an unreachable target fails preflight before anything changes', async () => {
  const calls: string[] = [];
  const base = options(calls, ['ok'], { functions: recorder('functions', calls), vm: recorder('vm', calls) });
  const run = await runDeploy({
    ...base,
    preflight: {
      probes: {
        ...base.preflight!.probes,
        ssh: async () => Promise.reject(new Error('connect ECONNREFUSED')),
      },
    },
  });
  expect(calls).toEqual([]);
  expect(run.stages.find((s) => s.stage === 'preflight')).toMatchObject({ status: 'failure' });
  expect(run.preflight!.summary).toBe(
    'unreachable, nothing deployed: ssh 127.0.0.1:22 (connect ECONNREFUSED)',
  );
});
