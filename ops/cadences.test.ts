import { CADENCES, planCadence } from './cadences.js';
import { CHECK_REGISTRY, type RegisteredCheck } from './checks/registry.js';
import { NotConfiguredError, type OpsTarget } from './config/ops-target.js';
import { loadRunbookConfig, type RunbookConfig } from './config/runbook-config.js';
import { createSecretReader } from './config/secrets.js';
import type { Check } from './engine/check.js';
import { runChecks } from './engine/run-checks.js';

const check = (id: string, thresholds: Record<string, number> = {}): Check => ({
  id,
  title: id,
  severity: 'low',
  playbook: null,
  run: async () => ({ status: 'ok', summary: JSON.stringify(thresholds) }),
});

const runbook: RunbookConfig = {
  version: 1,
  incidents: { openAfter: 2, closeAfter: 2, maxOpenPerRun: 5, warnIsFailure: false },
  cadences: {
    daily: ['daily.a', 'daily.azure', 'daily.secret'],
    weekly: [],
    monthly: [],
    golive: ['daily.a'],
    uptime: [],
  },
  checks: {
    'daily.a': {
      severity: 'critical',
      component: 'broker',
      playbook: 'broker-down',
      runbookItems: ['daily.uptime'],
      thresholds: { warnMs: 1, top: 3 },
    },
    'daily.azure': {
      severity: 'low',
      component: 'cost',
      playbook: null,
      runbookItems: ['daily.cost'],
      thresholds: {},
    },
    'daily.secret': {
      severity: 'high',
      component: 'ops',
      playbook: null,
      runbookItems: ['daily.errors'],
      thresholds: {},
    },
  },
  playbooks: { 'broker-down': { title: 'Broker down', runbookItems: [] } },
};

const target = (thresholds: Record<string, Record<string, number>> = {}): OpsTarget => ({
  name: 'prod',
  env: {},
  secrets: createSecretReader('prod', {}),
  config: {
    name: 'prod',
    description: '',
    sandbox: false,
    budget: { monthlyUsd: 1, aiMonthlyUsd: 1 },
    thresholds,
  },
});

const registry: Record<string, RegisteredCheck> = {
  'daily.a': {
    title: 'Check A',
    build: ({ thresholds }) => [
      check('daily.a.one', { warnMs: thresholds.get('warnMs', 0), top: thresholds.get('top', 0) }),
      check('daily.a.two'),
    ],
  },
  'daily.azure': {
    title: 'Azure things',
    build: ({ target: t }) => {
      throw new NotConfiguredError('Azure subscription', t.name);
    },
  },
  'daily.secret': {
    title: 'Secret things',
    build: ({ target: t }) => [check(t.secrets.read('OPS_DATABASE_URL'))],
  },
};

test('builds the cadence from the YAML: severity, component and playbook from the runbook, thresholds with overrides', async () => {
  const plan = planCadence('daily', target({ 'daily.a': { top: 9 } }), runbook, registry);
  const results = await runChecks(plan.checks);
  await plan.close();
  expect(results.map((r) => [r.id, r.status, r.severity, r.component, r.playbook])).toEqual([
    ['daily.a.one', 'ok', 'critical', 'broker', 'broker-down'],
    ['daily.a.two', 'ok', 'critical', 'broker', 'broker-down'],
    ['daily.azure', 'skipped', 'low', 'cost', null],
    ['daily.secret', 'error', 'high', 'ops', null],
  ]);
  // A check that could not be built keeps its module's title, not its raw id.
  expect(results.slice(2).map((r) => r.title)).toEqual(['Azure things', 'Secret things']);
  expect(JSON.parse(results[0]!.summary)).toEqual({ warnMs: 1, top: 9 });
  expect(results[2]!.summary).toBe('environment "prod" configures no Azure subscription');
  expect(results[3]!.summary).toMatch(
    /cannot build the check: environment variable OPS_DATABASE_URL is not set/,
  );
});

test('with the real registry, a check the environment cannot build is reported under its title, not its id', async () => {
  const real = loadRunbookConfig();
  // Nothing configured and no secrets: every check is skipped or an error, none may show a raw id.
  for (const cadence of CADENCES) {
    const plan = planCadence(cadence, target(), real);
    await plan.close();
    for (const check of plan.checks) {
      expect({ id: check.id, title: check.title }).not.toEqual({ id: check.id, title: check.id });
      const registered = CHECK_REGISTRY[check.id];
      if (registered) expect(check.title).toBe(registered.title);
    }
  }
  const daily = planCadence('daily', target(), real);
  await daily.close();
  expect(daily.checks.find((c) => c.id === 'daily.cost-burn')!.title).toBe(
    'Azure cost burn, month to date and projection',
  );
});

test('a YAML check the registry does not know is a programming error, named', () => {
  expect(() => planCadence('daily', target(), runbook, { 'daily.a': registry['daily.a']! })).toThrow(
    'runbook.yaml names check daily.azure, which ops/checks/registry.ts does not know',
  );
});
