/**
 * `npm run ops -- deploy --stages database` end to end: a scratch checkout holding this
 * repository's supabase/ (config.toml, migrations/), a real test database with every committed
 * migration applied as the environment's database, a local backup store, the real
 * `supabase db push`, and the GitHub stand-in for the deployment records. Each test commits a
 * later merge's migration and deploys it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import {
  BASE_FILES,
  createGitRepoFixture,
  type GitRepoFixture,
} from '../../test/support/git-repo-fixture.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { migrationsDir, REPO_ROOT } from '../../supabase/migrate.js';
import { runCli } from '../cli.js';

const SAFE = '20991201000001_device_notes.sql';
const DESTRUCTIVE = '20991201000002_drop_device_note_author.sql';

let db: TestDatabase;
let repo: GitRepoFixture;
let tmp: string;
let envDir: string;
let standin: GitHubStandin;
let secrets: Record<string, string>;
let github: Record<string, string>;

beforeAll(async () => {
  db = await createTestDatabase('deploy_cli');
  const files: Record<string, string> = { ...BASE_FILES };
  delete files['supabase/migrations/0001_init.sql'];
  files['supabase/config.toml'] = readFileSync(join(REPO_ROOT, 'supabase', 'config.toml'), 'utf8');
  for (const f of readdirSync(migrationsDir()))
    files[`supabase/migrations/${f}`] = readFileSync(join(migrationsDir(), f), 'utf8');
  repo = createGitRepoFixture(files);
  tmp = await mkdtemp(join(tmpdir(), 'deploy-cli-run-'));
  envDir = join(tmp, 'environments');
  await mkdir(envDir, { recursive: true });
  await writeFile(
    join(envDir, 'deploytest.yaml'),
    [
      'name: deploytest',
      'description: the deploy command test',
      'sandbox: false',
      'database: { urlEnv: DEPLOYTEST_DATABASE_URL }',
      `backup: { store: local, location: "${join(tmp, 'backups')}", prefix: deploytest/, keepDays: 30 }`,
      'budget: { monthlyUsd: 1, aiMonthlyUsd: 1 }',
      'thresholds: {}',
      '',
    ].join('\n'),
  );
  standin = await startGitHubStandin();
  secrets = { DEPLOYTEST_DATABASE_URL: db.url };
  github = {
    GITHUB_TOKEN: standin.token,
    GITHUB_REPOSITORY: standin.repository,
    GITHUB_API_URL: standin.url,
  };
}, 60_000);
afterAll(async () => {
  await standin?.close();
  repo?.remove();
  await db?.drop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

async function deploy(argv: string[], env: Record<string, string> = { ...secrets, ...github }) {
  const io = { out: '', err: '' };
  const code = await runCli(['deploy', '--env', 'deploytest', ...argv], {
    out: (t) => (io.out += t),
    err: (t) => (io.err += t),
    cwd: repo.dir,
    env,
    environmentsDir: envDir,
    incidentsRoot: tmp,
  });
  return { code, ...io };
}

const states = (id: number) => standin.deployments.find((d) => d.id === id)!.statuses.map((s) => s.state);

test('one pending safe migration: applied, listed in the report, recorded as a successful deployment', async () => {
  const head = repo.commit({
    [`supabase/migrations/${SAFE}`]:
      'create table public.device_notes (id bigint generated always as identity primary key, body text, author text);\n',
  });
  const r = await deploy(['--stages', 'database', '--from', 'base']);
  expect(r.err).not.toContain(db.url);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/^# Deploy of deploytest: database: success\n/);
  expect(r.out).toMatch(/\| database \| success \| applied 1 migration\(s\) .* \| \d+\.\d s \|/);
  expect(r.out).toContain(`Applied:\n\n- \`${SAFE}\``);
  expect(r.out).toMatch(/Backup before applying: `[^`]+` in local directory/);
  expect(r.err).toMatch(/ops deploy: database: 1 pending migration\(s\)/);
  const d = standin.deployments.at(-1)!;
  expect(d).toMatchObject({ sha: head, environment: 'deploytest', payload: { deployables: ['database'] } });
  expect(states(d.id)).toEqual(['in_progress', 'success']);
  expect(r.out).toContain(`Deployment record: GitHub deployment ${d.id} (success).`);

  // The same deploy again: nothing pending, nothing applied, still a success.
  const again = await deploy(['--stages', 'database', '--from', 'base', '--json']);
  expect(again.code).toBe(0);
  const report = JSON.parse(again.out) as { stages: { stage: string; status: string; summary: string }[] };
  expect(report.stages.find((s) => s.stage === 'database')).toMatchObject({
    status: 'success',
    summary: expect.stringMatching(/^no pending migration/),
  });
  standin.assertNoViolations();
}, 120_000);

test('a destructive migration: refused (exit 1, the refusal in the report, deployment failure); allowed with --allow-destructive', async () => {
  repo.commit({
    [`supabase/migrations/${DESTRUCTIVE}`]: 'alter table public.device_notes drop column author;\n',
  });
  const refused = await deploy(['--stages', 'database', '--from', 'base']);
  expect(refused.code).toBe(1);
  expect(refused.out).toMatch(/^# Deploy of deploytest: database: database refused\n/);
  expect(refused.out).toContain('### Refused');
  expect(refused.out).toContain(DESTRUCTIVE);
  expect(refused.out).toContain('Applied:\n\n- none');
  const failed = standin.deployments.at(-1)!;
  expect(states(failed.id)).toEqual(['in_progress', 'failure']);

  const allowed = await deploy([
    '--stages',
    'database',
    '--from',
    'base',
    '--allow-destructive',
    `supabase/migrations/${DESTRUCTIVE}`,
  ]);
  expect(allowed.code).toBe(0);
  expect(allowed.out).toContain(`Applied:\n\n- \`${DESTRUCTIVE}\``);
  expect(allowed.out).toContain(`Allowed to destroy data: \`${DESTRUCTIVE}\``);
  expect(states(standin.deployments.at(-1)!.id)).toEqual(['in_progress', 'success']);
  standin.assertNoViolations();
}, 120_000);

test('an allowance by commit trailer; without GitHub settings no record is made', async () => {
  const name = '20991201000003_drop_device_notes.sql';
  repo.commit(
    { [`supabase/migrations/${name}`]: 'drop table public.device_notes;\n' },
    `Drop the notes\n\nAllow-destructive-migration: ${name}\n`,
  );
  const before = standin.deployments.length;
  const r = await deploy(['--stages', 'database', '--from', 'HEAD~1'], secrets);
  expect(r.code).toBe(0);
  expect(r.out).toContain(`- \`${name}\``);
  expect(r.out).toContain('Deployment record: none (GITHUB_TOKEN and GITHUB_REPOSITORY are not set).');
  expect(r.err).toContain(
    'ops deploy: no deployment record: GITHUB_TOKEN and GITHUB_REPOSITORY are not set\n',
  );
  expect(standin.deployments.length).toBe(before);
}, 120_000);

test('nothing under supabase/migrations changed since --from: the stage is skipped, exit 0', async () => {
  const r = await deploy(['--stages', 'database', '--from', 'HEAD']);
  expect(r.code).toBe(0);
  expect(r.out).toMatch(/\| database \| skipped \| nothing it deploys changed since/);
});

test('the environment not ready: preflight refuses naming the secret, nothing run, the deployment failed', async () => {
  const before = standin.deployments.length;
  const r = await deploy(['--stages', 'database', '--from', 'base'], github);
  expect(r.code).toBe(1);
  expect(r.out).toMatch(
    /\| preflight \| refused \| not ready, nothing deployed: missing secrets DEPLOYTEST_DATABASE_URL \|/,
  );
  expect(r.out).toContain('Missing secrets: DEPLOYTEST_DATABASE_URL.');
  expect(r.out).not.toMatch(/\| database \|/);
  expect(r.err).toContain('ops deploy: preflight: missing secrets DEPLOYTEST_DATABASE_URL\n');
  expect(standin.deployments.length).toBe(before + 1);
  expect(states(standin.deployments.at(-1)!.id)).toEqual(['in_progress', 'failure']);
});

test('an uncommitted migration: exit 2, nothing run', async () => {
  await writeFile(join(repo.dir, 'supabase', 'migrations', '20991201000009_wip.sql'), 'select 1;\n');
  try {
    const r = await deploy(['--stages', 'database', '--from', 'base']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^ops deploy: uncommitted changes to what the deploy ships \(supabase\/migrations\/20991201000009_wip\.sql\)/,
    );
  } finally {
    await rm(join(repo.dir, 'supabase', 'migrations', '20991201000009_wip.sql'));
  }
});
