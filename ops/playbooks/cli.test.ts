/** `ops playbook` argument handling: every bad invocation exits 2 with a message, before any step runs. */
import { PLAYBOOKS, runPlaybookCommand } from './cli.js';
import {
  recordingIo,
  writeTestEnvironment,
  type TestEnvironment,
} from '../../test/support/playbook-fixture.js';

let environment: TestEnvironment;
beforeAll(async () => {
  // Nothing listens at this URL: a bad invocation must fail before connecting anywhere.
  environment = await writeTestEnvironment({ databaseUrl: 'postgres://ops:s3cret-pass@127.0.0.1:1/none' });
});
afterAll(() => environment.remove());

test.each([
  [[], 'give one playbook: broker-down, cost-spike, growth-spike, resize-vm (got none)'],
  [
    ['reboot-everything', '--env', 'test'],
    'unknown playbook "reboot-everything": known are broker-down, cost-spike, growth-spike, resize-vm',
  ],
  [
    ['resize-vm', '--env', 'test'],
    'resize-vm needs --size SIZE (e.g. npm run ops -- playbook resize-vm --env prod --size Standard_B2s)',
  ],
  [
    ['resize-vm', '--env', 'test', '--size', 'B2s'],
    '--size must be an Azure VM size like Standard_B2s (got "B2s")',
  ],
  [['broker-down', '--env', 'test', '--size', 'Standard_B2s'], 'broker-down does not take --size'],
  [['broker-down', 'cost-spike', '--env', 'test'], 'give one playbook'],
  [['broker-down'], '--env <environment> is required'],
  [
    ['broker-down', '--env', 'test', '--bogus'],
    'unknown option --bogus (see npm run ops -- playbook broker-down --help)',
  ],
  [['broker-down', '--env'], '--env needs a value'],
  [['cost-spike', '--env', 'test', '--apply', '--dry-run'], '--apply and --dry-run contradict each other'],
  [
    ['broker-down', '--env', 'test', '--incident', '0'],
    '--incident must be a positive whole number (got "0")',
  ],
  [['broker-down', '--env', 'test', '--incident', '3x'], '--incident must be a positive whole number'],
  [
    ['broker-down', '--env', 'test', '--maintenance', 'maybe'],
    '--maintenance must be on or off (got "maybe")',
  ],
  [
    ['broker-down', '--env', 'test', '--tenant', 'acme', '--rate-per-second', '5'],
    'broker-down does not take --tenant, --rate-per-second',
  ],
  [['cost-spike', '--env', 'test', '--force-restart'], 'cost-spike does not take --force-restart'],
  [['cost-spike', '--env', 'test', '--rate-per-second', '5'], 'need --tenant <slug>'],
  [
    ['cost-spike', '--env', 'test', '--tenant', 'acme'],
    '--tenant needs --rate-per-second N and/or --retention-days N',
  ],
  [
    ['cost-spike', '--env', 'test', '--tenant', 'Not A Slug', '--rate-per-second', '5'],
    '--tenant must be a tenant slug',
  ],
  [
    ['cost-spike', '--env', 'test', '--tenant', 'acme', '--rate-per-second=-1'],
    '--rate-per-second must be a positive number',
  ],
  [
    ['cost-spike', '--env', 'test', '--tenant', 'acme', '--rate-per-second', '10', '--burst', '5'],
    '--burst (5) must be at least --rate-per-second (10)',
  ],
  [
    ['cost-spike', '--env', 'test', '--tenant', 'acme', '--retention-days', '1.5'],
    '--retention-days must be a positive whole number',
  ],
  [
    [
      'cost-spike',
      '--env',
      'test',
      '--tenant',
      'acme',
      '--rate-per-second',
      '5',
      '--retention-for-days',
      '3',
    ],
    '--retention-for-days goes with --retention-days',
  ],
  [
    ['growth-spike', '--env', 'test', '--max-metrics', '5'],
    '--max-metrics and --max-string-length and --lift-limits need --tenant <slug>',
  ],
  [
    ['growth-spike', '--env', 'test', '--tenant', 'acme', '--retention-days', '14'],
    '--tenant needs --max-metrics N and/or --max-string-length N and/or --lift-limits',
  ],
  [
    ['growth-spike', '--env', 'test', '--tenant', 'acme', '--lift-limits', '--max-metrics', '5'],
    '--lift-limits takes the caps away: not with --max-metrics or --max-string-length',
  ],
  [
    ['growth-spike', '--env', 'test', '--tenant', 'acme', '--max-metrics', '65'],
    '--max-metrics must be a whole number from 1 to 64, the global limit (got "65")',
  ],
  [
    ['growth-spike', '--env', 'test', '--tenant', 'acme', '--max-string-length', '257'],
    '--max-string-length must be a whole number from 0 to 256, the global limit (got "257")',
  ],
  [
    ['growth-spike', '--env', 'test', '--tenant', 'acme', '--max-metrics', '0'],
    '--max-metrics must be a whole number from 1 to 64',
  ],
  [
    ['growth-spike', '--env', 'test', '--retention-days', '14', '--limits-for-days', '3'],
    '--limits-for-days goes with --max-metrics or --max-string-length',
  ],
  [
    ['growth-spike', '--env', 'test', '--retention-days', 'soon'],
    '--retention-days must be a positive whole number',
  ],
  [
    ['growth-spike', '--env', 'test', '--rate-per-second', '5'],
    'growth-spike does not take --rate-per-second',
  ],
  [
    ['cost-spike', '--env', 'test', '--tenant', 'acme', '--max-metrics', '5'],
    'cost-spike does not take --max-metrics',
  ],
  [['growth-spike', '--env', 'nowhere'], 'no environment "nowhere"'],
  [['growth-spike', '--env', 'Bad_Name'], 'environment name "Bad_Name" is not a valid name'],
])('%j exits 2: %s', async (argv, message) => {
  const io = recordingIo(environment);
  expect(await runPlaybookCommand(argv, io)).toBe(2);
  expect(io.errors.join('')).toContain(message);
  expect(io.errors.join('')).toMatch(/^ops playbook: /);
  expect(io.printed).toEqual([]);
});

test('a missing secret stops it before any step (exit 2), naming the variable', async () => {
  const io = recordingIo({ ...environment, env: {} });
  expect(await runPlaybookCommand(['cost-spike', '--env', 'test', '--apply'], io)).toBe(2);
  expect(io.errors).toEqual([
    expect.stringMatching(
      /^ops playbook: environment "test" is not ready, nothing was run: missing secrets OPS_DATABASE_URL \(/,
    ),
  ]);
  expect(io.printed).toEqual([]);
});

test.each([
  [[], /^Usage: npm run ops -- playbook <name> --env NAME \[--apply\]/],
  [['broker-down'], /^Usage: npm run ops -- playbook broker-down /],
  [['cost-spike', '--env', 'test'], /^Usage: npm run ops -- playbook cost-spike /],
  [['growth-spike', '--bogus'], /^Usage: npm run ops -- playbook growth-spike /],
  [['resize-vm'], /^Usage: npm run ops -- playbook resize-vm /],
])('%j with -h or --help prints its usage and exits 0', async (argv, usage) => {
  for (const flag of ['-h', '--help']) {
    const io = recordingIo(environment);
    expect(await runPlaybookCommand([...argv, flag], io)).toBe(0);
    const text = io.printed.join('\n');
    expect(text).toMatch(usage);
    expect(text).toMatch(/--apply +do what the act steps say; .* \(default: a dry run\)/);
    expect(text).toMatch(/^Example:\n {2}npm run ops -- playbook /m);
    expect(io.errors).toEqual([]);
  }
});

test("each playbook's usage lists exactly the options it takes", async () => {
  for (const playbook of Object.values(PLAYBOOKS)) {
    const io = recordingIo(environment);
    expect(await runPlaybookCommand([playbook.name, '--help'], io)).toBe(0);
    const options = io.printed
      .filter((l) => /^ {2}--/.test(l))
      .map((l) => l.trim().split(/[ ,]/)[0]!.slice(2));
    expect(options).toEqual(['env', 'apply', 'dry-run', 'incident', ...playbook.accepts]);
    for (const step of playbook.steps) expect(io.printed.join('\n')).toContain(`${step.kind} ${step.id}`);
  }
});

test('a database that does not answer is a step error that never prints the password', async () => {
  const io = recordingIo(environment);
  expect(await runPlaybookCommand(['growth-spike', '--env', 'test'], io)).toBe(1);
  const text = io.printed.join('\n');
  expect(text).toContain('[ERROR] diagnose device-growth');
  expect(text).not.toContain('s3cret-pass');
});
