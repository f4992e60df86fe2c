/**
 * `npm run ops -- deploy`: the plan as Markdown and JSON on a scratch repository, its base from
 * --from or from the GitHub stand-in's deployments (across a failed one), and the refusals: no
 * --plan (only the plan is built), an unknown --from, GitHub not configured.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGitRepoFixture, type GitRepoFixture } from '../../test/support/git-repo-fixture.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { runCli } from '../cli.js';
import type { DeployPlan } from './plan.js';

let repo: GitRepoFixture;
let head: string;
let scratch: string;
beforeAll(async () => {
  repo = createGitRepoFixture();
  head = repo.commit({ 'common/a.ts': 'export const a = 2;\n', 'docs/deploy.md': '# Deploy 2\n' });
  scratch = await mkdtemp(join(tmpdir(), 'ops-deploy-'));
});
afterAll(async () => {
  repo.remove();
  await rm(scratch, { recursive: true, force: true });
});

async function deploy(argv: string[], env: Record<string, string | undefined> = {}) {
  const io = { out: '', err: '' };
  const code = await runCli(['deploy', ...argv], {
    out: (t) => (io.out += t),
    err: (t) => (io.err += t),
    cwd: repo.dir,
    env,
  });
  return { code, ...io };
}

test('--plan --from: the Markdown plan on stdout, progress on stderr, exit 0', async () => {
  const r = await deploy(['--env', 'prod', '--plan', '--from', 'base']);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^# Deploy plan for prod: functions, vm\n/);
  expect(r.out).toContain(`HEAD \`${head}\`.`);
  expect(r.out).toContain(`Base: \`${repo.base.slice(0, 7)}\` (--from).`);
  expect(r.out).toContain('2 paths changed; not deployed: `docs/deploy.md`.');
  expect(r.out).toContain('| functions | yes | 1 file changed: common/a.ts |');
  expect(r.out).toContain('| database | no | nothing it deploys changed since');
  expect(r.err).toBe(`ops deploy: planning HEAD against ${repo.base.slice(0, 7)}\n`);
});

test('--json: one JSON object; --output: written to the file', async () => {
  const r = await deploy(['--env', 'prod', '--plan', '--from', repo.base, '--json']);
  expect(r.code).toBe(0);
  const plan = JSON.parse(r.out) as DeployPlan;
  expect(plan).toMatchObject({
    env: 'prod',
    head,
    deploys: ['functions', 'vm'],
    notDeployed: ['docs/deploy.md'],
  });
  expect(plan.stages.find((s) => s.stage === 'functions')).toMatchObject({
    run: 'yes',
    files: ['common/a.ts'],
    base: { source: 'from', sha: repo.base },
  });
  const file = join(scratch, 'plan.json');
  const w = await deploy(['--env', 'prod', '--plan', '--from', repo.base, '--json', '--output', file]);
  expect(w.code).toBe(0);
  expect(w.out).toBe('');
  expect(JSON.parse(await readFile(file, 'utf8'))).toEqual(plan);
});

test('local without --from: no deployment records, so everything', async () => {
  const r = await deploy(['--plan']);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^# Deploy plan for local: database, functions, vm, pages\n/);
  expect(r.out).toContain('Base: none (local keeps no deployment records; give --from <sha>');
});

describe('prod: the base from GitHub Deployments', () => {
  let standin: GitHubStandin;
  let github: Record<string, string>;
  beforeAll(async () => {
    standin = await startGitHubStandin();
    github = {
      GITHUB_TOKEN: standin.token,
      GITHUB_REPOSITORY: standin.repository,
      GITHUB_API_URL: standin.url,
    };
  });
  afterAll(() => standin.close());

  test('the first deploy plans everything', async () => {
    const r = await deploy(['--env', 'prod', '--plan'], github);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# Deploy plan for prod: database, functions, vm, pages\n/);
    expect(r.out).toContain(
      'Base: none (no successful deployment of prod covers it yet), so everything is planned.',
    );
  });

  test('a failed deploy after a successful one: the successful one is the base, so it is retried', async () => {
    const ok = standin.addDeployment(
      { sha: repo.base, environment: 'prod', created_at: '2026-03-01T10:00:00Z' },
      ['in_progress', 'success'],
    );
    standin.addDeployment({ sha: head, environment: 'prod', created_at: '2026-03-01T11:00:00Z' }, [
      'in_progress',
      'failure',
    ]);
    const r = await deploy(['--env', 'prod', '--plan', '--json'], github);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.out) as DeployPlan;
    expect(plan.deploys).toEqual(['functions', 'vm']);
    expect(plan.stages.find((s) => s.stage === 'vm')!.base).toEqual({
      source: 'deployment',
      sha: repo.base,
      deployment: { id: ok.id, createdAt: '2026-03-01T10:00:00Z' },
    });
    standin.assertNoViolations();
  });

  test('--from wins over the deployments, and GitHub is not asked', async () => {
    const before = standin.requests.length;
    const r = await deploy(['--env', 'prod', '--plan', '--from', head], github);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^# Deploy plan for prod: nothing to deploy\n/);
    expect(standin.requests.length).toBe(before);
  });

  test('GitHub refusing the token: exit 1, one line', async () => {
    const r = await deploy(['--env', 'prod', '--plan'], { ...github, GITHUB_TOKEN: 'ghs_wrong' });
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^ops deploy: reading the deployments of prod: Bad credentials/);
    expect(r.out).toBe('');
  });
});

test.each([
  [
    ['--env', 'prod'],
    /^ops deploy: no deployment record: GITHUB_TOKEN and GITHUB_REPOSITORY are not set\nops deploy: GitHub settings: GITHUB_TOKEN is not set; .*: reading the last successful deployment needs them \(or give --from <sha>\)\n$/,
  ],
  [
    ['--stages', 'preflight,database'],
    /^ops deploy: --stages preflight: preflight runs with the other stages, not on its own; name some of database, functions, vm, pages, smoke \(see npm run ops -- deploy --help\)\n$/,
  ],
  [['--stages', 'plan'], /^ops deploy: --stages plan: use --plan \(see npm run ops -- deploy --help\)\n$/],
  [
    ['--stages', 'database,bogus'],
    /^ops deploy: unknown stage bogus: the stages are plan, preflight, database, functions, vm, pages, smoke, rollback \(see npm run ops -- deploy --help\)\n$/,
  ],
  [
    ['--plan', '--allow-destructive', 'x.sql'],
    /^ops deploy: --allow-destructive goes with a deploy, not --plan \(see npm run ops -- deploy --help\)\n$/,
  ],
  [
    ['--stages', 'database,vm', '--check'],
    /^ops deploy: --check goes with --stages vm \(the other stages have no dry run\) \(see npm run ops -- deploy --help\)\n$/,
  ],
  [
    ['--incidents', 'email'],
    /^ops deploy: --incidents must be one of github, local, off \(got "email"\) \(see npm run ops -- deploy --help\)\n$/,
  ],
  [['--plan', '--from', 'nope'], /^ops deploy: --from nope is not a commit in this clone\n$/],
  [
    ['--env', 'prod', '--plan'],
    /^ops deploy: GitHub settings: GITHUB_TOKEN is not set; .*: reading the last successful deployment needs them \(or give --from <sha>\)\n$/,
  ],
  [['--env', 'staging', '--plan'], /^ops deploy: no environment "staging": /],
  [['--plan', 'now'], /^ops deploy: unexpected argument now \(see npm run ops -- deploy --help\)\n$/],
  [['--plan', '--bogus'], /^ops deploy: unknown option --bogus \(see npm run ops -- deploy --help\)\n$/],
])('deploy %j: exit 2 and one line', async (argv, message) => {
  const r = await deploy(argv);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(message);
  expect(r.out).toBe('');
});

test('outside a git checkout: exit 2, one line', async () => {
  const io = { out: '', err: '' };
  const code = await runCli(['deploy', '--plan'], {
    out: (t) => (io.out += t),
    err: (t) => (io.err += t),
    cwd: scratch,
  });
  expect(code).toBe(2);
  expect(io.err).toMatch(/^ops deploy: git rev-parse: .*not a git repository/);
});

test('--help: the usage, the stages and what each does', async () => {
  const r = await deploy(['--help']);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(
    /^Usage: npm run ops -- deploy --env NAME \[--plan \| --stages LIST\] \[--allow-destructive FILE\]\.\.\. \[--from SHA\] \[options\]\n/,
  );
  expect(r.out).toContain(
    'Stages, in order: plan, preflight, database, functions, vm, pages, smoke, rollback.',
  );
  expect(r.out).toContain('--from SHA');
  expect(r.out).toMatch(
    /--stages LIST +deploy only these stages .*\(default: database,functions,vm,pages,smoke\)/,
  );
  expect(r.out).toContain('rollback: when the smoke test or the functions, vm or pages stage fails');
  expect(r.out).toMatch(/--incidents MODE +where a failed deploy's incident goes/);
  expect(r.out).toMatch(/--smoke-attempts N +smoke: at most N runs of the go-live checks \(default: 3\)/);
  expect(r.out).toMatch(/--smoke-interval SECONDS +smoke: the wait between two attempts \(default: 10\)/);
  expect(r.out).toMatch(
    /--allow-destructive FILE +a migration file allowed to destroy data .*\(repeatable\)/,
  );
});
