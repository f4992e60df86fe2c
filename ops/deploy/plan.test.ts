/**
 * The plan from path changes, on a scratch repository with real git and real esbuild
 * (test/support/git-repo-fixture.ts): which stages run for which change, docs-only and first
 * deploys, a base the clone lacks; and the bundles of this repository, read from esbuild's
 * metafile, so the Functions row covers exactly the ops modules its probe imports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createGitRepoFixture,
  lockfile,
  PROD_YAML,
  PROD_YAML_REORDERED,
  type GitRepoFixture,
} from '../../test/support/git-repo-fixture.js';
import { DEPLOYABLES, DEPLOY_STAGES, globToRegExp, type DeployStage } from './deployables.js';
import { gitIn } from './git.js';
import { planDeploy, type PlanBase } from './plan.js';
import { esbuildBundleInputs } from './plan-bundles.js';
import { changedLockedPackages, lockedClosure, type Lockfile } from './plan-lockfile.js';
import { renderDeployablesTable, renderPlanJson, renderPlanMarkdown } from './plan-report.js';
import { STAGES } from './stages.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '../../..');

let repo: GitRepoFixture;
beforeAll(() => {
  repo = createGitRepoFixture();
});
afterAll(() => repo.remove());

const basesAt = (sha: string | null, source: PlanBase['source'] = 'from', note?: string) =>
  Object.fromEntries(DEPLOY_STAGES.map((s) => [s, { source, sha, ...(note ? { note } : {}) }])) as Record<
    DeployStage,
    PlanBase
  >;

async function planChange(changes: Record<string, string | null>) {
  repo.reset();
  repo.commit(changes);
  return planDeploy({ env: 'prod', git: gitIn(repo.dir), root: repo.dir, bases: basesAt(repo.base) });
}

const CASES: [string, Record<string, string | null>, DeployStage[]][] = [
  ['docs only', { 'docs/deploy.md': '# Deploy, again\n', 'README.md': '# mini 2\n' }, []],
  ['a README inside a deployable', { 'bridge/README.md': '# the bridge\n' }, []],
  ['a new migration', { 'supabase/migrations/0002_more.sql': 'alter table t add c int;\n' }, ['database']],
  ['a moved migration (the deletion counts)', { 'supabase/migrations/0001_init.sql': null }, ['database']],
  ['the local shim (sandbox only)', { 'supabase/local/shim.sql': 'select 2;\n' }, []],
  ['host.json', { 'functions/host.json': '{ "version": "2.0", "x": 1 }\n' }, ['functions']],
  [
    "the environment's archive settings (app settings the functions stage writes)",
    { 'runbook/environments/prod.yaml': PROD_YAML.replace('mode: disabled', 'mode: enabled') },
    ['functions'],
  ],
  [
    "the environment's network (the VM's firewall ports)",
    { 'runbook/environments/prod.yaml': PROD_YAML.replace('plainMqtt: false', 'plainMqtt: true') },
    ['vm'],
  ],
  [
    "the dashboard's Supabase URL",
    { 'runbook/environments/prod.yaml': PROD_YAML.replace('a.supabase.co', 'b.supabase.co') },
    ['pages'],
  ],
  [
    'the price list (no stage reads it)',
    { 'runbook/environments/prod.yaml': PROD_YAML.replace('0.018', '0.02') },
    [],
  ],
  [
    'a comment and a reordering (the same settings)',
    { 'runbook/environments/prod.yaml': PROD_YAML_REORDERED },
    [],
  ],
  ["another environment's file", { 'runbook/environments/dev.yaml': PROD_YAML.replace('0.018', '0.02') }, []],
  [
    'the file made unreadable',
    { 'runbook/environments/prod.yaml': 'archive: [\n' },
    ['functions', 'vm', 'pages'],
  ],
  [
    'a Functions test and a fixture',
    { 'functions/src/index.test.ts': '//\n', 'functions/src/test-fixtures.ts': '//\n' },
    [],
  ],
  ['common code both bundles import', { 'common/a.ts': 'export const a = 2;\n' }, ['functions', 'vm']],
  ['common code imported for types only', { 'common/types-only.ts': 'export type Only = 1;\n' }, []],
  ['common code nothing imports', { 'common/unused.ts': 'export const u = 2;\n' }, []],
  ['the ops module the probe bundles', { 'ops/checks/probe.ts': 'export const probe = 3;\n' }, ['functions']],
  ['an ops module no bundle has', { 'ops/checks/ssh.ts': 'export const ssh = 4;\n' }, []],
  ['the Ansible playbook', { 'ansible/site.yml': '- hosts: vm\n' }, ['vm']],
  ['the broker configuration', { 'broker/render-config.ts': 'export const config = 2;\n' }, ['vm']],
  ['a package the bridge imports', { 'package-lock.json': lockfile({ mqtt: '5.17.0' }) }, ['vm']],
  ['a dependency of that package', { 'package-lock.json': lockfile({ debug: '4.4.3' }) }, ['vm']],
  ['a dev dependency', { 'package-lock.json': lockfile({ eslint: '9.40.0' }) }, []],
  [
    'a bit of everything',
    { 'supabase/migrations/0002_x.sql': 'select 1;\n', 'common/a.ts': 'export const a = 3;\n' },
    ['database', 'functions', 'vm'],
  ],
];

// The title shows what is expected, not the files' text.
test.each(CASES.map(([name, changes, expected]) => [name, expected, changes] as const))(
  '%s: deploys %j',
  async (_name, expected, changes) => {
    const plan = await planChange(changes);
    expect(plan.deploys).toEqual(expected);
    expect(plan.stages.map((s) => s.stage)).toEqual([...STAGES]);
    const run = (stage: string) => plan.stages.find((s) => s.stage === stage)!.run;
    expect(run('plan')).toBe('yes');
    expect(run('preflight')).toBe(expected.length ? 'yes' : 'no');
    expect(run('smoke')).toBe(expected.length ? 'yes' : 'no');
    expect(run('rollback')).toBe(expected.some((s) => s !== 'database') ? 'if-smoke-fails' : 'no');
    for (const stage of DEPLOY_STAGES) expect(run(stage)).toBe(expected.includes(stage) ? 'yes' : 'no');
  },
);

test('the reasons name the files, and a lockfile change its packages', async () => {
  const plan = await planChange({
    'functions/src/a.ts': '//\n',
    'functions/src/b.ts': '//\n',
    'functions/src/c.ts': '//\n',
    'functions/src/d.ts': '//\n',
    'package-lock.json': lockfile({ mqtt: '5.17.0', eslint: '9.40.0' }),
  });
  const stage = (s: string) => plan.stages.find((p) => p.stage === s)!;
  expect(stage('functions').reason).toBe(
    '4 files changed, e.g. functions/src/a.ts, functions/src/b.ts, functions/src/c.ts',
  );
  expect(stage('vm').reason).toBe('1 file changed: package-lock.json (mqtt 5.16.0 -> 5.17.0)');
  expect(stage('database').reason).toBe(`nothing it deploys changed since ${repo.base.slice(0, 7)}`);
  expect(stage('rollback').reason).toBe(
    'puts the previous Functions package and the previous bridge release back',
  );
  expect(plan.notDeployed).toEqual([]);
  const markdown = renderPlanMarkdown(plan);
  expect(markdown).toMatch(/^# Deploy plan for prod: functions, vm\n/);
  expect(markdown).toContain('| functions | yes | 4 files changed, e.g. functions/src/a.ts,');
  expect(markdown).toContain('| rollback | if smoke fails |');
  expect(markdown).toContain('### functions (4)\n\n- `functions/src/a.ts`');
  expect(JSON.parse(renderPlanJson(plan))).toEqual(JSON.parse(JSON.stringify(plan)));
});

test("the environment's settings: the reason names those a stage reads, the rest are not deployed", async () => {
  const plan = await planChange({
    'runbook/environments/prod.yaml': PROD_YAML.replace('mode: disabled', 'mode: enabled').replace(
      'plainMqtt: false',
      'plainMqtt: true',
    ),
  });
  const stage = (s: string) => plan.stages.find((p) => p.stage === s)!;
  expect(stage('functions').reason).toBe('1 file changed: runbook/environments/prod.yaml (archive)');
  expect(stage('vm').reason).toBe('1 file changed: runbook/environments/prod.yaml (infra.network)');
  expect(plan.notDeployed).toEqual([]);
  const prices = await planChange({ 'runbook/environments/prod.yaml': PROD_YAML.replace('0.018', '0.02') });
  expect(prices.notDeployed).toEqual(['runbook/environments/prod.yaml']);
});

test('a docs-only change plans nothing and says so', async () => {
  const plan = await planChange({ 'docs/deploy.md': '# Deploy 2\n' });
  expect(plan.deploys).toEqual([]);
  expect(plan.notDeployed).toEqual(['docs/deploy.md']);
  const markdown = renderPlanMarkdown(plan);
  expect(markdown).toMatch(/^# Deploy plan for prod: nothing to deploy\n/);
  expect(markdown).toContain('1 path changed, none of them deployed: `docs/deploy.md`.');
  expect(markdown).toContain('| preflight | no | nothing to deploy |');
  expect(markdown).not.toContain('## What changed');
});

test('the same commit plans nothing', async () => {
  repo.reset();
  const plan = await planDeploy({
    env: 'prod',
    git: gitIn(repo.dir),
    root: repo.dir,
    bases: basesAt(repo.base),
  });
  expect(plan.deploys).toEqual([]);
  expect(renderPlanMarkdown(plan)).toContain('No path changed.');
});

test('no base (a first deploy) plans everything, and says why', async () => {
  repo.reset();
  const plan = await planDeploy({
    env: 'prod',
    git: gitIn(repo.dir),
    root: repo.dir,
    bases: basesAt(null, 'none', 'no successful deployment of prod covers it yet'),
  });
  expect(plan.deploys).toEqual(['database', 'functions', 'vm', 'pages']);
  expect(plan.stages.find((s) => s.stage === 'database')!.reason).toBe(
    'no base: all of database migrations (supabase db push, forward only)',
  );
  expect(renderPlanMarkdown(plan)).toContain(
    'Base: none (no successful deployment of prod covers it yet), so everything is planned.',
  );
});

test('a base this clone does not have plans everything for what it was the base of', async () => {
  repo.reset();
  const bases = basesAt(repo.base);
  bases.vm = {
    source: 'deployment',
    sha: 'f'.repeat(40),
    deployment: { id: 7, createdAt: '2026-03-01T10:00:00Z' },
  };
  const plan = await planDeploy({ env: 'prod', git: gitIn(repo.dir), root: repo.dir, bases });
  expect(plan.deploys).toEqual(['vm']);
  const vm = plan.stages.find((s) => s.stage === 'vm')!;
  expect(vm.base?.note).toMatch(/^its base fffffff is not in this clone/);
  const markdown = renderPlanMarkdown(plan);
  expect(markdown).toContain('Bases:\n\n- database: `');
  expect(markdown).toContain('- vm: `fffffff`, deployment 7 of 2026-03-01T10:00:00Z');
});

test('HEAD must be a commit', async () => {
  await expect(
    planDeploy({
      env: 'prod',
      git: gitIn(repo.dir),
      root: repo.dir,
      bases: basesAt(repo.base),
      head: 'nope',
    }),
  ).rejects.toThrow('nope is not a commit in this checkout');
});

describe('globs', () => {
  it.each([
    ['functions/**', 'functions/host.json', true],
    ['functions/**', 'functions/src/a/b.ts', true],
    ['functions/**', 'functionsx/a.ts', false],
    ['**/*.test.ts', 'a.test.ts', true],
    ['**/*.test.ts', 'a/b/c.test.ts', true],
    ['**/test-*', 'functions/src/alerts/test-fixtures.ts', true],
    ['supabase/migrations/**', 'supabase/local/shim.sql', false],
    ['*.md', 'docs/a.md', false],
    ['a?c', 'abc', true],
    ['a.c', 'abc', false],
  ])('%s matches %s: %s', (glob, path, expected) => {
    expect(globToRegExp(glob).test(path)).toBe(expected);
  });
});

describe('lockfile closure', () => {
  const lock: Lockfile = {
    packages: {
      'node_modules/a': { version: '1.0.0', dependencies: { b: '^1', c: '^1' } },
      'node_modules/a/node_modules/b': { version: '1.0.0' },
      'node_modules/b': { version: '2.0.0' },
      'node_modules/c': { version: '1.0.0', dependencies: { b: '^2' } },
    },
  };
  it('resolves nested copies first, as npm lays them out', () => {
    expect([...lockedClosure(lock, ['a'])].sort()).toEqual([
      'node_modules/a',
      'node_modules/a/node_modules/b',
      'node_modules/b',
      'node_modules/c',
    ]);
    expect([...lockedClosure(lock, ['b'])]).toEqual(['node_modules/b']);
  });
  it('reports added, removed and changed packages', () => {
    const head: Lockfile = {
      packages: { ...lock.packages, 'node_modules/c': { version: '1.1.0' }, 'node_modules/b': undefined! },
    };
    delete head.packages!['node_modules/b'];
    expect(changedLockedPackages(lock, head, ['a'])).toEqual(['b 2.0.0 -> absent', 'c 1.0.0 -> 1.1.0']);
  });
});

test('docs/deploy.md shows the table of deployables as it is', () => {
  const doc = readFileSync(join(ROOT, 'docs', 'deploy.md'), 'utf8');
  const m = /<!-- deployables-table:start -->\n([\s\S]*?)\n<!-- deployables-table:end -->/.exec(doc);
  expect(m?.[1]).toBe(renderDeployablesTable(DEPLOYABLES));
});

test("every stage's settings are settings of the environment schema", () => {
  const schema = JSON.parse(
    readFileSync(join(ROOT, 'runbook', 'schema', 'environment.schema.json'), 'utf8'),
  ) as SchemaNode;
  for (const d of DEPLOYABLES)
    for (const setting of d.settings) {
      const node = setting
        .split('.')
        .reduce<SchemaNode | undefined>((n, key) => n?.properties?.[key], schema);
      expect([setting, node !== undefined]).toEqual([setting, true]);
    }
});
interface SchemaNode {
  properties?: Record<string, SchemaNode>;
}

describe("this repository's bundles", () => {
  it('every bundle entry and path root of the table exists', () => {
    for (const d of DEPLOYABLES) {
      for (const entry of d.bundles) expect(existsSync(join(ROOT, entry))).toBe(true);
      // The folder a glob stands in: `a/**` and `a/*.yaml` name `a`.
      for (const path of d.paths) expect(existsSync(join(ROOT, path.replace(/\/\*[^/]*$/, '')))).toBe(true);
    }
  });

  it('the Functions bundle holds its app, common/ and only the ops modules its probe uses', async () => {
    const { files, packages } = await esbuildBundleInputs(ROOT, 'functions/src/index.ts');
    expect(files).toContain('functions/src/functions/mqtt_ingest.ts');
    expect(files).toContain('ops/checks/endpoints.ts');
    expect(files).toContain('ops/sources/mqtt-round-trip.ts');
    expect(files.some((f) => f.startsWith('common/'))).toBe(true);
    expect(files).not.toContain('ops/checks/registry.ts');
    expect(files.filter((f) => /\.test\.ts$/.test(f))).toEqual([]);
    expect(packages).toEqual(expect.arrayContaining(['@azure/functions', 'mqtt', 'pg']));
  }, 30_000);

  it('the bridge bundle holds the bridge and what it imports of common/', async () => {
    const { files, packages } = await esbuildBundleInputs(ROOT, 'bridge/main.ts');
    expect(files).toContain('bridge/journal.ts');
    expect(files.some((f) => f.startsWith('common/'))).toBe(true);
    expect(files.some((f) => f.startsWith('functions/'))).toBe(false);
    expect(packages).toContain('mqtt');
  }, 30_000);
});
