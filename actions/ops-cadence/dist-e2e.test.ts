/**
 * The committed bundle, run the way the runner runs it (`node dist/index.js` with INPUT_* and the
 * GITHUB_* files), against the sandbox and the validating GitHub stand-in: the job summary, the
 * outputs, the report file, incident issues, and the exit code.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { mosquittoForTests } from '../../test/support/mosquitto-process.js';
import { LOCAL_ENV_PATH } from '../../common/local-env.js';
import { startGitHubStandin, type GitHubStandin } from '../../test/support/github-standin.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';

const run = promisify(execFile);
const bundle = join(dirname(fileURLToPath(import.meta.url)), 'dist', 'index.js');
const suite = mosquittoForTests() ? describe : describe.skip;

suite('the ops-cadence action bundle', () => {
  let sandbox: TestSandbox;
  let standin: GitHubStandin;
  let workspace: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox('action_e2e');
    standin = await startGitHubStandin({ owner: 'acme', repo: 'mqtt-saas' });
    // The runner's workspace: the CLI finds the sandbox at LOCAL_ENV_PATH below it.
    workspace = await mkdtemp(join(tmpdir(), 'action-workspace-'));
    await mkdir(join(workspace, dirname(LOCAL_ENV_PATH)), { recursive: true });
  });
  afterAll(async () => {
    await standin?.close();
    await sandbox?.stop();
    await rm(workspace, { recursive: true, force: true });
  });

  async function runAction(cadence: string, envFile: string) {
    await copyFile(envFile, join(workspace, LOCAL_ENV_PATH));
    const summary = join(workspace, 'summary.md');
    const output = join(workspace, 'output.txt');
    await writeFile(summary, '');
    await writeFile(output, '');
    const env = {
      PATH: process.env.PATH,
      GITHUB_ACTIONS: 'true',
      GITHUB_STEP_SUMMARY: summary,
      GITHUB_OUTPUT: output,
      GITHUB_API_URL: standin.url,
      GITHUB_SERVER_URL: 'https://github.example',
      GITHUB_REPOSITORY: standin.repository,
      GITHUB_WORKSPACE: workspace,
      INPUT_CADENCE: cadence,
      INPUT_ENVIRONMENT: 'local',
      INPUT_INCIDENTS: 'github',
      'INPUT_FAIL-ON': 'fail',
      'INPUT_REPORT-DIR': 'reports',
      'INPUT_GITHUB-TOKEN': standin.token,
    };
    const result = await run(process.execPath, [bundle], { cwd: workspace, env, timeout: 60_000 }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => ({
        code: e.code,
        stdout: e.stdout,
        stderr: e.stderr,
      }),
    );
    // `::add-mask::<value>` is how a step tells the runner what to blank: the one place a secret belongs.
    const masked = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('::add-mask::'))
      .map((l) => l.slice('::add-mask::'.length));
    const printed = result.stdout
      .split('\n')
      .filter((l) => !l.startsWith('::add-mask::'))
      .join('\n');
    return {
      ...result,
      masked,
      printed,
      summary: await readFile(summary, 'utf8'),
      outputs: await readFile(output, 'utf8'),
    };
  }

  test('uptime: ok, then a broken probe twice opens incidents; summary, outputs and report written', async () => {
    const ok = await runAction('uptime', sandbox.envPath);
    expect(ok.masked).toEqual(
      expect.arrayContaining([
        standin.token,
        JSON.parse(await readFile(sandbox.envPath, 'utf8')).uptimeProbe.password,
      ]),
    );
    expect(ok.printed + ok.stderr + ok.summary).not.toContain(standin.token);
    expect(ok.code).toBe(0);
    expect(ok.summary).toMatch(/^# uptime checks \(local\): ok$/m);
    expect(ok.outputs).toMatch(/verdict<<.*\nok\n/s);
    expect(ok.outputs).toMatch(/report-path<<.*\n.*reports\/uptime-local-.*\.md\n/s);

    const good = JSON.parse(await readFile(sandbox.envPath, 'utf8'));
    const bad = join(workspace, 'bad-env.json');
    await writeFile(
      bad,
      JSON.stringify({ ...good, uptimeProbe: { ...good.uptimeProbe, password: 'wrong-password' } }),
    );
    const first = await runAction('uptime', bad);
    expect(first.code).not.toBe(0);
    expect(first.outputs).toMatch(/verdict<<.*\nfail\n/s);
    expect(standin.issues.filter((i) => i.labels.includes('incident'))).toHaveLength(0);
    const second = await runAction('uptime', bad);
    expect(second.code).not.toBe(0);
    expect(second.summary).toMatch(/Incidents \(github, local\): 2 opened/);
    expect(standin.issues.filter((i) => i.labels.includes('incident') && i.state === 'open')).toHaveLength(2);
    expect(second.masked).toContain('wrong-password');
    expect(second.printed + second.stderr + second.summary).not.toContain('wrong-password');
    standin.assertNoViolations();
  }, 120_000);
});
