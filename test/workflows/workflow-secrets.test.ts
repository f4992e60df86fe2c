/**
 * Every secret a workflow's ops command reads for the prod environment is passed to that step:
 * the cadence's checks are planned for `prod` with an environment that records what is read, and
 * the names must all be in the step's (or job's) `env`. A secret missing there would turn checks
 * into `error` in production only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { backupStoreFor } from '../../ops/checks/shared-sources.js';
import { planCadence, type Cadence } from '../../ops/cadences.js';
import { databaseUrl, loadOpsTarget } from '../../ops/config/ops-target.js';
import { loadRunbookConfig } from '../../ops/config/runbook-config.js';
import { exerciseStages } from '../../ops/deploy/preflight-stage.js';
import { openSources, PLAYBOOKS } from '../../ops/playbooks/cli.js';

const WORKFLOWS = join(process.cwd(), '.github', 'workflows');
// Set by the runner (GITHUB_REPOSITORY, ...) or by the action from its github-token input.
const FROM_RUNNER = /^GITHUB_/;

interface Step {
  uses?: string;
  with?: Record<string, string>;
  env?: Record<string, string>;
}
interface Job {
  env?: Record<string, string>;
  steps?: Step[];
}

/** The ops steps of every workflow: which command, and the env names they get. */
function opsSteps() {
  const out: { workflow: string; action: string; cadence?: string; env: Set<string> }[] = [];
  for (const file of readdirSync(WORKFLOWS).filter((f) => f.endsWith('.yml'))) {
    const wf = parse(readFileSync(join(WORKFLOWS, file), 'utf8')) as {
      env?: Record<string, string>;
      jobs: Record<string, Job>;
    };
    for (const job of Object.values(wf.jobs)) {
      for (const step of job.steps ?? []) {
        const action = step.uses?.match(/^\.\/actions\/(ops-[a-z]+)$/)?.[1];
        if (!action) continue;
        const env = new Set([
          ...Object.keys(wf.env ?? {}),
          ...Object.keys(job.env ?? {}),
          ...Object.keys(step.env ?? {}),
        ]);
        out.push({ workflow: file, action, cadence: step.with?.cadence, env });
      }
    }
  }
  return out;
}

/** The prod target with an environment that answers every name and remembers which were asked. */
async function recordingProd() {
  const read = new Set<string>();
  const env = new Proxy({} as Record<string, string | undefined>, {
    get: (_t, name) => {
      if (typeof name !== 'string') return undefined;
      read.add(name);
      if (name === 'GITHUB_REPOSITORY') return 'acme/mqtt-saas';
      if (name.startsWith('GITHUB_') && name !== 'GITHUB_TOKEN') return undefined;
      return 'postgres://ops:placeholder-secret@db.example.com:5432/postgres';
    },
  });
  return { target: await loadOpsTarget('prod', { env }), read };
}

const steps = opsSteps();

test('the workflows run the ops actions', () => {
  expect(steps.map((s) => `${s.workflow}: ${s.action}${s.cadence ? ` ${s.cadence}` : ''}`).sort()).toEqual([
    'backup.yml: ops-backup',
    'deploy.yml: ops-deploy',
    'ops-daily.yml: ops-cadence daily',
    'ops-monthly.yml: ops-cadence monthly',
    'ops-playbook.yml: ops-playbook',
    'ops-weekly.yml: ops-cadence weekly',
    'uptime-watchdog.yml: ops-cadence uptime',
  ]);
});

test.each(steps.filter((s) => s.cadence).map((s) => [s.workflow, s] as const))(
  '%s passes every secret its cadence reads',
  async (_name, step) => {
    const { target, read } = await recordingProd();
    const plan = planCadence(step.cadence as Cadence, target, loadRunbookConfig());
    await plan.close();
    const missing = [...read].filter((n) => n.startsWith('OPS_') && !step.env.has(n) && !FROM_RUNNER.test(n));
    expect({ workflow: step.workflow, missing }).toEqual({ workflow: step.workflow, missing: [] });
    expect(read.size).toBeGreaterThan(0);
  },
);

test('backup.yml passes what ops backup reads', async () => {
  const step = steps.find((s) => s.action === 'ops-backup')!;
  const { target, read } = await recordingProd();
  databaseUrl(target);
  // The placeholder is no connection string: what matters is which variables it asked for.
  expect(() => backupStoreFor(target)).toThrow(/connection string is malformed/);
  expect([...read].filter((n) => n.startsWith('OPS_') && !step.env.has(n))).toEqual([]);
  expect(read).toEqual(new Set(['OPS_DATABASE_URL', 'OPS_BACKUP_STORAGE_CONNECTION_STRING']));
});

test('ops-playbook.yml passes what every playbook reads (resize-vm: the go-live smoke test too)', async () => {
  const step = steps.find((s) => s.action === 'ops-playbook')!;
  const { target, read } = await recordingProd();
  for (const playbook of Object.values(PLAYBOOKS)) await openSources(playbook, target);
  expect([...read].filter((n) => n.startsWith('OPS_') && !step.env.has(n))).toEqual([]);
  expect([...read]).toEqual(expect.arrayContaining(['OPS_SSH_PRIVATE_KEY', 'OPS_CANARY_MQTT_PASSWORD']));
});

test('deploy.yml passes exactly the secrets the deploy stages read', async () => {
  const step = steps.find((s) => s.action === 'ops-deploy')!;
  const { target, read } = await recordingProd();
  // The preflight's own exercise of each stage a whole deploy may run (ops/deploy/preflight-stage.ts),
  // one at a time: the placeholder is no connection string, so the database stage's backup store
  // throws after asking for it. What matters is which variables were asked for.
  expect(() => exerciseStages(target, ['database'])).toThrow(/connection string is malformed/);
  for (const stage of ['functions', 'vm', 'pages', 'smoke'] as const)
    await exerciseStages(target, [stage], loadRunbookConfig());
  const secretsRead = [...read].filter((n) => n.startsWith('OPS_') || n.startsWith('CLOUDFLARE_'));
  expect(secretsRead.filter((n) => !step.env.has(n))).toEqual([]);
  // And nothing more: the restore test's database URL, say, stays out of the deploy.
  expect([...step.env].filter((n) => !read.has(n)).sort()).toEqual([]);
  expect(secretsRead).toEqual(expect.arrayContaining(['OPS_DATABASE_URL', 'OPS_SSH_KNOWN_HOSTS']));
});
