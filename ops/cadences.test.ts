import { planCadence } from './cadences.js';
import type { CheckBuilder } from './checks/registry.js';
import { NotConfiguredError, type OpsTarget } from './config/ops-target.js';
import type { RunbookConfig } from './config/runbook-config.js';
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
      playbook: 'broker-down',
      runbookItems: ['daily.uptime'],
      thresholds: { warnMs: 1, top: 3 },
    },
    'daily.azure': { severity: 'low', playbook: null, runbookItems: ['daily.cost'], thresholds: {} },
    'daily.secret': { severity: 'high', playbook: null, runbookItems: ['daily.errors'], thresholds: {} },
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

const builders: Record<string, CheckBuilder> = {
  'daily.a': ({ thresholds }) => [
    check('daily.a.one', { warnMs: thresholds.get('warnMs', 0), top: thresholds.get('top', 0) }),
    check('daily.a.two'),
  ],
  'daily.azure': ({ target: t }) => {
    throw new NotConfiguredError('Azure subscription', t.name);
  },
  'daily.secret': ({ target: t }) => [check(t.secrets.read('OPS_DATABASE_URL'))],
};

test('builds the cadence from the YAML: severity and playbook from the runbook, thresholds with overrides', async () => {
  const plan = planCadence('daily', target({ 'daily.a': { top: 9 } }), runbook, builders);
  const results = await runChecks(plan.checks);
  await plan.close();
  expect(results.map((r) => [r.id, r.status, r.severity, r.playbook])).toEqual([
    ['daily.a.one', 'ok', 'critical', 'broker-down'],
    ['daily.a.two', 'ok', 'critical', 'broker-down'],
    ['daily.azure', 'skipped', 'low', null],
    ['daily.secret', 'error', 'high', null],
  ]);
  expect(JSON.parse(results[0]!.summary)).toEqual({ warnMs: 1, top: 9 });
  expect(results[2]!.summary).toBe('environment "prod" configures no Azure subscription');
  expect(results[3]!.summary).toMatch(
    /cannot build the check: environment variable OPS_DATABASE_URL is not set/,
  );
});

test('a YAML check the registry does not know is a programming error, named', () => {
  expect(() => planCadence('daily', target(), runbook, { 'daily.a': builders['daily.a']! })).toThrow(
    'runbook.yaml names check daily.azure, which ops/checks/registry.ts does not know',
  );
});
