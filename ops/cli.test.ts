/** `npm run ops` against the local sandbox on real services, and its argument errors. */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { mosquittoForTests } from '../broker/mosquitto-process.js';
import { startTestSandbox, type TestSandbox } from '../test/support/sandbox.js';
import { exitCodeFor, runCli } from './cli.js';

const run = mosquittoForTests() ? describe : describe.skip;

function capture() {
  const io = { out: '', err: '' };
  return { io, sink: { out: (t: string) => (io.out += t), err: (t: string) => (io.err += t) } };
}

test.each([
  [['hourly'], /give one cadence: daily \| weekly \| monthly \| golive \| uptime \(got hourly\)/],
  [['daily', '--fail-on', 'sometimes'], /--fail-on must be fail, warn, never/],
  [
    ['daily', '--env', 'production'],
    /no environment "production": .*runbook\/environments\/production.yaml does not exist/,
  ],
  [['daily', '--env', '../etc'], /environment name "..\/etc" is not a valid name/],
  [['daily', '--bogus'], /Unknown option '--bogus'/],
] as const)('ops %j is refused with exit 2', async (argv, message) => {
  const { io, sink } = capture();
  expect(await runCli([...argv], sink)).toBe(2);
  expect(io.err).toMatch(message);
});

test.each([
  ['ok', 'fail', 0],
  ['warn', 'fail', 0],
  ['error', 'fail', 1],
  ['fail', 'fail', 1],
  ['warn', 'warn', 1],
  ['ok', 'warn', 0],
  ['fail', 'never', 0],
] as const)('verdict %s with --fail-on %s exits %i', (verdict, failOn, code) => {
  expect(exitCodeFor(verdict, failOn)).toBe(code);
});

test('without a sandbox it says how to start one', async () => {
  const { io, sink } = capture();
  expect(await runCli(['daily'], { ...sink, envPath: '/nonexistent/env.json' })).toBe(2);
  expect(io.err).toMatch(/start the sandbox first \(npm run dev/);
});

run('ops against the sandbox', () => {
  let sandbox: TestSandbox;
  let dir: string;
  beforeAll(async () => {
    sandbox = await startTestSandbox('ops_cli');
    dir = sandbox.dir;
  });
  afterAll(() => sandbox?.stop());

  test('daily: every check ok, report printed and written, exit 0', async () => {
    const { io, sink } = capture();
    const reportDir = join(dir, 'reports');
    const code = await runCli(['daily', '--report-dir', reportDir], {
      ...sink,
      envPath: sandbox.envPath,
    });
    expect(io.out).toMatch(/^# daily checks \(local\): ok$/m);
    for (const id of [
      'daily.broker-uptime.mqtt',
      'daily.broker-uptime.websocket',
      'daily.function-health',
      'daily.ingest-canary',
      'daily.dead-letters',
    ])
      expect(io.out).toContain(id);
    expect(io.err).toMatch(/ops: \[\d+\/\d+\] daily.ingest-canary: ok \(\d+ ms\)/);
    expect(code).toBe(0);
    const [file] = await readdir(reportDir);
    expect(await readFile(join(reportDir, file!), 'utf8')).toBe(io.out);
  }, 60_000);

  test('weekly --json: one JSON object with the weekly checks, exit 0', async () => {
    const { io, sink } = capture();
    const code = await runCli(['weekly', '--json', '--report-dir', join(dir, 'r2')], {
      ...sink,
      envPath: sandbox.envPath,
    });
    const parsed = JSON.parse(io.out) as { verdict: string; results: { id: string }[]; report: string };
    expect(parsed.results.map((r) => r.id)).toEqual(['weekly.top-tenants', 'weekly.ai-spend']);
    expect(parsed.verdict).toBe('ok');
    expect(parsed.report).toMatch(/weekly-local-.*\.md$/);
    expect(code).toBe(0);
  }, 60_000);
});
