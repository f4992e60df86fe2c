/**
 * Every workflow in .github/workflows and every action in actions/ against its schema and the
 * policies of workflow-policy.ts, plus what ties them together (the playbook choices, the
 * schedules the issue asks for).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PLAYBOOKS } from '../../actions/ops-playbook/src/playbooks.js';
import {
  actionProblems,
  loadAction,
  loadWorkflow,
  workflowProblems,
  type Workflow,
} from './workflow-policy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WORKFLOWS_DIR = join(ROOT, '.github', 'workflows');
const workflows: Workflow[] = readdirSync(WORKFLOWS_DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .sort()
  .map((f) => loadWorkflow(f, readFileSync(join(WORKFLOWS_DIR, f), 'utf8')));
const actionDirs = readdirSync(join(ROOT, 'actions'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && e.name !== 'shared')
  .map((e) => `actions/${e.name}`);

const byName = (name: string) => {
  const w = workflows.find((x) => x.file === `${name}.yml`);
  if (!w) throw new Error(`.github/workflows/${name}.yml is missing`);
  return w;
};
type Json = Record<string, unknown>;
const on = (w: Workflow) => w.doc.on as Json;

describe('workflows', () => {
  it('exist for every cadence, the backup, the watchdog, the playbooks, CI and the deploy', () => {
    expect(workflows.map((w) => w.file)).toEqual(
      expect.arrayContaining([
        'ops-daily.yml',
        'ops-weekly.yml',
        'ops-monthly.yml',
        'backup.yml',
        'uptime-watchdog.yml',
        'ops-playbook.yml',
        'ci.yml',
        'deploy.yml',
        'dashboard-preview.yml',
        'dashboard-preview-deploy.yml',
      ]),
    );
  });

  it.each(workflows.map((w) => [w.file, w] as const))(
    '%s follows the schema and every policy',
    (_file, w) => {
      expect(workflowProblems(w, ROOT)).toEqual([]);
    },
  );

  it.each(['ops-daily', 'ops-weekly', 'ops-monthly', 'backup', 'uptime-watchdog'])(
    '%s runs on a schedule and can be run by hand',
    (name) => {
      const w = byName(name);
      expect(Array.isArray(on(w).schedule) && (on(w).schedule as unknown[]).length).toBeGreaterThan(0);
      expect(on(w)).toHaveProperty('workflow_dispatch');
    },
  );

  it('the watchdog also answers the probe’s repository_dispatch and runs the uptime cadence', () => {
    const w = byName('uptime-watchdog');
    expect((on(w).repository_dispatch as Json).types).toEqual(['probe-state-changed']);
    expect(w.text).toMatch(/uses: \.\/actions\/ops-cadence\n\s+with:\n\s+cadence: uptime/);
  });

  it('the playbook workflow offers exactly the playbooks the action accepts, dry run by default', () => {
    const inputs = ((on(byName('ops-playbook')).workflow_dispatch as Json).inputs ?? {}) as Record<
      string,
      Json
    >;
    expect(inputs.playbook!.options).toEqual([...PLAYBOOKS]);
    // Acting takes a tick, as on the command line (--apply); the action agrees on the default.
    expect(inputs.apply).toMatchObject({ type: 'boolean', default: false });
    expect(inputs['dry-run']).toBeUndefined();
    const dir = 'actions/ops-playbook';
    const action = loadAction(dir, readFileSync(join(ROOT, dir, 'action.yml'), 'utf8'));
    expect((action.doc.inputs as Record<string, Json>).apply).toMatchObject({ default: 'false' });
    expect(byName('ops-playbook').text).toContain('apply: ${{ inputs.apply }}');
  });
});

describe('ci.yml, on pull requests', () => {
  const ci = byName('ci');
  const job = Object.values(ci.doc.jobs as Record<string, Json>)[0]!;
  const steps = job.steps as Json[];
  const runs = steps.map((s) => String(s.run ?? ''));

  it('runs on pull requests only, and cancels the run a newer push supersedes', () => {
    expect(Object.keys(on(ci))).toEqual(['pull_request']);
    expect(ci.doc.concurrency).toEqual({
      group: 'ci-${{ github.event.pull_request.number }}',
      'cancel-in-progress': true,
    });
  });

  it('gets no secret, no environment, and reads contents only', () => {
    expect(ci.text).not.toMatch(/\bsecrets\./);
    expect(job.environment).toBeUndefined();
    expect(ci.doc.permissions).toEqual({});
    expect(job.permissions).toEqual({ contents: 'read' });
  });

  it("runs .ci/run's checks: npm ci, type check, lint and the README's test command", () => {
    const at = (command: string) => runs.findIndex((r) => r.trim() === command);
    const order = ['npm ci --no-audit --no-fund', 'npm run typecheck', 'npm run lint', 'npm test'].map(at);
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    // The services the tests need, before them.
    expect(runs.some((r) => /apt-get install .*mosquitto/s.test(r) && /pgtap/.test(r))).toBe(true);
  });

  it('puts the deploy plan of the pull request against its base in the job summary', () => {
    const checkout = steps.find((s) => String(s.uses).startsWith('actions/checkout@'))!;
    expect((checkout.with as Json)['fetch-depth']).toBe(0);
    const plan = steps.find((s) => s.name === 'Deploy plan')!;
    expect(plan.env).toEqual({ BASE_SHA: '${{ github.event.pull_request.base.sha }}' });
    expect(plan.shell).toBe('bash'); // -o pipefail: a failing plan fails the step despite tee
    expect(plan.run).toBe(
      'npm run -s ops -- deploy --env prod --plan --from "$BASE_SHA" | tee -a "$GITHUB_STEP_SUMMARY"',
    );
  });
});

describe('deploy.yml, on merges to main', () => {
  const deploy = byName('deploy');
  const [jobName, job] = Object.entries(deploy.doc.jobs as Record<string, Json>)[0]!;
  const steps = job.steps as Json[];
  const index = (match: (s: Json) => boolean) => steps.findIndex(match);
  const uses = (prefix: string) => (s: Json) => String(s.uses ?? '').startsWith(prefix);
  const action = loadAction(
    'actions/ops-deploy',
    readFileSync(join(ROOT, 'actions/ops-deploy/action.yml'), 'utf8'),
  );

  it('runs on every push to main, and by hand with an environment and an optional stage list', () => {
    expect(on(deploy).push).toEqual({ branches: ['main'] });
    const inputs = (on(deploy).workflow_dispatch as Json).inputs as Record<string, Json>;
    expect(inputs.environment).toMatchObject({ type: 'choice', options: ['prod'], default: 'prod' });
    expect(inputs.stages).toMatchObject({ type: 'string', default: '' });
    expect(Object.keys(on(deploy)).sort()).toEqual(['push', 'workflow_dispatch']);
  });

  it('one deploy per environment at a time, never cancelled in progress', () => {
    expect(deploy.doc.concurrency).toEqual({
      group: "deploy-${{ inputs.environment || 'prod' }}",
      'cancel-in-progress': false,
    });
  });

  it("runs in the GitHub environment, its URL the action's output", () => {
    expect(job.environment).toEqual({
      name: "${{ inputs.environment || 'prod' }}",
      url: '${{ steps.deploy.outputs.environment-url }}',
    });
    expect(steps.find((s) => s.id === 'deploy')?.uses).toBe('./actions/ops-deploy');
    expect(Object.keys(action.doc.outputs as Json)).toEqual(
      expect.arrayContaining(['environment-url', 'result', 'deployment-id', 'report-path']),
    );
  });

  it('asks for exactly the scopes the deploy uses', () => {
    expect(deploy.doc.permissions).toEqual({});
    expect(job.permissions).toEqual({
      contents: 'read',
      deployments: 'write',
      issues: 'write',
      'id-token': 'write',
    });
    expect(jobName).toBe('deploy');
  });

  it('checks out the whole history, sets up Node without a cache, npm ci, logs in to Azure, then deploys', () => {
    const checkout = steps[index(uses('actions/checkout@'))]!;
    expect(checkout.with).toEqual({ 'persist-credentials': false, 'fetch-depth': 0 });
    const node = steps[index(uses('actions/setup-node@'))]!;
    expect(Object.keys(node.with as Json)).toEqual(['node-version']);
    const order = [
      index(uses('actions/checkout@')),
      index(uses('actions/setup-node@')),
      index((s) => String(s.run ?? '').trim() === 'npm ci --no-audit --no-fund'),
      index((s) => /postgresql-client-/.test(String(s.run ?? ''))),
      index((s) => String(s.run ?? '').trim() === 'ansible-playbook --version'),
      index(uses('azure/login@')),
      index(uses('./actions/ops-deploy')),
      index(uses('actions/upload-artifact@')),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('hands the dispatch inputs to the action (none on a push: the whole deploy of prod)', () => {
    const step = steps.find((s) => s.id === 'deploy')!;
    expect(step.with).toEqual({
      environment: "${{ inputs.environment || 'prod' }}",
      stages: '${{ inputs.stages }}',
    });
    const inputs = action.doc.inputs as Record<string, Json>;
    expect(inputs.environment).toMatchObject({ default: 'prod' });
    expect(inputs.stages).toMatchObject({ default: '' });
  });

  it('uploads the report directory whatever happened', () => {
    const upload = steps[index(uses('actions/upload-artifact@'))]!;
    expect(upload.if).toBe('${{ always() }}');
    expect((upload.with as Json).path).toBe('reports/');
  });
});

describe('provision-what-if.yml and provision.yml (docs/infra.md)', () => {
  const runs = (job: Json) => (job.steps as Json[]).map((s) => String(s.run ?? '').trim()).filter(Boolean);
  const jobs = (name: string) => byName(name).doc.jobs as Record<string, Json>;

  it('pull requests that touch infra/ or an environment get the what-if in their summary, preflight first', () => {
    const w = byName('provision-what-if');
    expect(Object.keys(on(w))).toEqual(['pull_request']);
    expect((on(w).pull_request as Json).paths).toEqual(
      expect.arrayContaining(['infra/**', 'runbook/environments/**']),
    );
    const job = jobs('provision-what-if')['what-if']!;
    expect(job.environment).toBeUndefined();
    expect(job.permissions).toEqual({ contents: 'read', 'id-token': 'write' });
    expect(runs(job).slice(-2)).toEqual([
      'npm run -s ops -- preflight --env prod --for provision',
      'npm run -s ops -- provision --env prod --what-if | tee -a "$GITHUB_STEP_SUMMARY"',
    ]);
  });

  it('by hand: a what-if, or the apply behind the <environment>-infra approval, preflight first', () => {
    const w = byName('provision');
    expect(Object.keys(on(w))).toEqual(['workflow_dispatch']);
    const inputs = (on(w).workflow_dispatch as Json).inputs as Record<string, Json>;
    expect(inputs.apply).toMatchObject({ type: 'boolean', default: false });
    const { 'what-if': whatIf, apply } = jobs('provision');
    expect(whatIf).toMatchObject({ if: '${{ !inputs.apply }}' });
    expect(whatIf!.environment).toBeUndefined();
    expect(apply).toMatchObject({
      if: '${{ inputs.apply }}',
      environment: '${{ inputs.environment }}-infra',
    });
    expect(runs(apply!).slice(-2)).toEqual([
      'npm run -s ops -- preflight --env "$ENVIRONMENT" --for provision',
      'npm run -s ops -- provision --env "$ENVIRONMENT" | tee -a "$GITHUB_STEP_SUMMARY"',
    ]);
    expect(w.doc.concurrency).toEqual({
      group: 'provision-${{ inputs.environment }}',
      'cancel-in-progress': false,
    });
  });
});

describe('actions', () => {
  it('include ops-cadence, ops-backup, ops-playbook and ops-deploy', () => {
    expect(actionDirs).toEqual(
      expect.arrayContaining([
        'actions/ops-cadence',
        'actions/ops-backup',
        'actions/ops-playbook',
        'actions/ops-deploy',
      ]),
    );
  });

  it.each(actionDirs)('%s: schema, node24, committed bundle, documented inputs and outputs', (dir) => {
    const action = loadAction(dir, readFileSync(join(ROOT, dir, 'action.yml'), 'utf8'));
    expect(actionProblems(action, ROOT)).toEqual([]);
  });
});
