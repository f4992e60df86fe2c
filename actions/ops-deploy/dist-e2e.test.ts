/**
 * The committed ops-deploy bundle, run the way the runner runs it (`node dist/index.js` with
 * INPUT_* and the GITHUB_* files, in a checkout), on the database migration path: a scratch
 * checkout holding this repository's supabase/ and a later merge's migration, the running sandbox
 * as `--env local`, the real `supabase db push`, and the GitHub stand-in for the deployment
 * record. The migration guard parses the migration with PostgreSQL's parser, whose WASM the bundle
 * loads from node_modules (scripts/build-actions.ts keeps it external): a destructive migration is
 * refused by rule, then a safe one is applied and the smoke test passes.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { LOCAL_ENV_PATH } from '../../common/local-env.js';
import { migrationsDir, REPO_ROOT } from '../../supabase/migrate.js';
import {
  BASE_FILES,
  createGitRepoFixture,
  type GitRepoFixture,
} from '../../test/support/git-repo-fixture.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { mosquittoForTests } from '../../test/support/mosquitto-process.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';

const run = promisify(execFile);
const bundle = join(dirname(fileURLToPath(import.meta.url)), 'dist', 'index.js');
const suite = mosquittoForTests() ? describe : describe.skip;

const DESTRUCTIVE = '20991202000001_drop_device_names.sql';
const SAFE = '20991202000002_deploy_action_notes.sql';

suite('the ops-deploy action bundle', () => {
  let sandbox: TestSandbox;
  let standin: GitHubStandin;
  let repo: GitRepoFixture;
  let databaseUrl: string;
  /** The runner's files: the job summary and the step outputs. */
  let runnerDir: string;
  beforeAll(async () => {
    runnerDir = await mkdtemp(join(tmpdir(), 'deploy-action-runner-'));
    sandbox = await startTestSandbox('deploy_action');
    standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' });
    const files: Record<string, string> = { ...BASE_FILES };
    delete files['supabase/migrations/0001_init.sql'];
    files['supabase/config.toml'] = readFileSync(join(REPO_ROOT, 'supabase', 'config.toml'), 'utf8');
    for (const f of readdirSync(migrationsDir()))
      files[`supabase/migrations/${f}`] = readFileSync(join(migrationsDir(), f), 'utf8');
    // The runner's workspace is the checkout; the CLI finds the sandbox at LOCAL_ENV_PATH below it.
    repo = createGitRepoFixture(files);
    await mkdir(join(repo.dir, dirname(LOCAL_ENV_PATH)), { recursive: true });
    await copyFile(sandbox.envPath, join(repo.dir, LOCAL_ENV_PATH));
    databaseUrl = (JSON.parse(await readFile(sandbox.envPath, 'utf8')) as { db: { url: string } }).db.url;
  }, 120_000);
  afterAll(async () => {
    await standin?.close();
    await sandbox?.stop();
    repo?.remove();
    if (runnerDir) await rm(runnerDir, { recursive: true, force: true });
  });

  async function runAction(inputs: Record<string, string>) {
    const summary = join(runnerDir, 'summary.md');
    const output = join(runnerDir, 'output.txt');
    await writeFile(summary, '');
    await writeFile(output, '');
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      GITHUB_API_URL: standin.url,
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_REPOSITORY: standin.repository,
      GITHUB_RUN_ID: '777',
      GITHUB_WORKSPACE: repo.dir,
      'INPUT_GITHUB-TOKEN': standin.token,
      'INPUT_REPORT-DIR': 'reports',
      ...Object.fromEntries(Object.entries(inputs).map(([k, v]) => [`INPUT_${k.toUpperCase()}`, v])),
    };
    const result = await run(process.execPath, [bundle], { cwd: repo.dir, env, timeout: 240_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );
    const outputs = await readFile(output, 'utf8');
    const value = (name: string) => new RegExp(`^${name}<<(\\S+)\\n([^]*?)\\n\\1$`, 'm').exec(outputs)?.[2];
    const masked = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    return {
      ...result,
      masked,
      summary: await readFile(summary, 'utf8'),
      output: { result: value('result'), id: value('deployment-id'), report: value('report-path') },
    };
  }

  test('a destructive migration is refused by the guard; a safe one is applied, smoke passes, the deployment recorded', async () => {
    repo.commit({
      [`supabase/migrations/${DESTRUCTIVE}`]: 'alter table public.devices drop column name;\n',
    });
    const refused = await runAction({ environment: 'local', stages: 'database', from: repo.base });
    expect(refused.code).toBe(1);
    expect(refused.output.result).toBe('failure');
    // The parser read the file: the refusal names the rule it matched.
    expect(refused.summary).toContain('### Refused');
    expect(refused.summary).toMatch(
      new RegExp(`${DESTRUCTIVE}:1: drop column public\\.devices\\.name \\[drop column\\]`),
    );
    expect(refused.stdout).toMatch(/::error::deploy of local \(database\): database refused: /);
    const failed = standin.deployments.at(-1)!;
    expect(failed).toMatchObject({ environment: 'local', payload: { deployables: ['database'] } });
    expect(failed.statuses.map((s) => s.state)).toEqual(['in_progress', 'failure']);
    expect(refused.output.id).toBe(String(failed.id));
    // The job summary is the report (up to the line end @actions/core adds).
    const file = await readFile(join(repo.dir, refused.output.report!), 'utf8');
    expect(file.trimEnd()).toBe(refused.summary.trimEnd());

    // The next merge takes the destructive file out and brings a safe one.
    const head = repo.commit({
      [`supabase/migrations/${DESTRUCTIVE}`]: null,
      [`supabase/migrations/${SAFE}`]:
        'create table public.deploy_action_notes (id bigint primary key, body text);\n',
    });
    const applied = await runAction({
      environment: 'local',
      stages: 'database,smoke',
      from: repo.base,
      'smoke-attempts': '3',
      'smoke-interval': '1',
    });
    expect({ code: applied.code, stdout: applied.code ? applied.stdout.slice(-3000) : '' }).toEqual({
      code: 0,
      stdout: '',
    });
    expect(applied.output.result).toBe('success');
    expect(applied.summary).toMatch(/^# Deploy of local: database, smoke: /);
    expect(applied.summary).toContain(`Applied:\n\n- \`${SAFE}\``);
    expect(applied.summary).toMatch(/\| smoke \| success \|/);
    const done = standin.deployments.at(-1)!;
    expect(done).toMatchObject({ sha: head, environment: 'local' });
    expect(done.statuses.map((s) => s.state)).toEqual(['in_progress', 'success']);
    expect(applied.output.id).toBe(String(done.id));
    expect(applied.output.report).toBe(`reports/deploy-local-${head.slice(0, 12)}.md`);
    expect((await readFile(join(repo.dir, applied.output.report!), 'utf8')).trimEnd()).toBe(
      applied.summary.trimEnd(),
    );
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query("select to_regclass('public.deploy_action_notes') as t");
      expect(rows[0].t).toBe('deploy_action_notes');
    } finally {
      await client.end();
    }
    // Secrets: the database password and the token are masked, and in nothing the action wrote.
    const password = decodeURIComponent(new URL(databaseUrl).password);
    expect(applied.masked).toEqual(expect.arrayContaining([standin.token]));
    const written = applied.summary + applied.stdout.replace(/^::add-mask::.*$/gm, '') + applied.stderr;
    expect(written).not.toContain(standin.token);
    if (password) expect(written).not.toContain(password);
    standin.assertNoViolations();
  }, 300_000);
});
