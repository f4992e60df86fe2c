/**
 * `npm run ops -- preflight`: its arguments and exit codes in process, and once end to end as a new
 * user runs it, a process of its own: `ops/main.ts preflight --env prod` (what `npm run ops` runs)
 * with the Azure CLI's session played by the stand-in `az` on PATH, Resource Manager by the HTTPS
 * stand-in (OPS_AZURE_ARM_URL, its certificate through NODE_EXTRA_CA_CERTS), and no secret set.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOpsProcess } from '../../test/support/ops-process.js';
import { runCli } from '../cli.js';
import {
  startAzureStandin,
  standinCredential,
  writeAzCliStandin,
  type AzureStandin,
} from '../../test/support/azure-standin.js';
import { runPreflightCommand } from './cli.js';

let standin: AzureStandin;
let dir: string;
beforeAll(async () => {
  standin = await startAzureStandin();
  dir = await mkdtemp(join(tmpdir(), 'preflight-cli-'));
  // Resource Manager knows no all-zero subscription (prod.yaml's placeholder).
  standin.on('subscription', (request) => ({
    status: 404,
    body: {
      error: {
        code: 'SubscriptionNotFound',
        message: `The subscription '${request.path.split('/').at(-1)}' could not be found.`,
      },
    },
  }));
}, 30_000);
afterAll(async () => {
  await standin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function capture() {
  const io = { out: '', err: '' };
  return { io, sink: { out: (t: string) => (io.out += t), err: (t: string) => (io.err += t) } };
}

test.each([
  [
    ['preflight'],
    'ops preflight: --env NAME is required (runbook/environments/NAME.yaml) (see npm run ops -- preflight --help)\n',
  ],
  [
    ['preflight', '--env', 'prod', '--for', 'deploy,nightly'],
    'ops preflight: --for: unknown command nightly: give some of daily, weekly, monthly, golive, uptime, backup, playbook, deploy, provision (see npm run ops -- preflight --help)\n',
  ],
  [
    ['preflight', '--env', 'prod', 'now'],
    'ops preflight: unexpected argument now (see npm run ops -- preflight --help)\n',
  ],
  [
    ['preflight', '--env', 'production'],
    expect.stringMatching(
      /^ops preflight: no environment "production": .*production\.yaml does not exist\n$/,
    ),
  ],
])('ops %j: one line, exit 2', async (argv, message) => {
  const { io, sink } = capture();
  expect(await runCli([...argv], sink)).toBe(2);
  expect(io.err).toEqual(message);
  expect(io.out).toBe('');
});

test('--json: one object with every item; --for narrows the secrets to those commands', async () => {
  standin.on('subscription', (request, body) => {
    const id = request.path.split('/').at(-1)!;
    return Object.assign(body, { id: `/subscriptions/${id}`, subscriptionId: id, state: 'Warned' });
  });
  const { io, sink } = capture();
  const code = await runPreflightCommand(
    ['--env', 'prod', '--for', 'provision', '--json'],
    { ...sink, env: {} },
    {
      azure: {
        credentials: [{ name: 'stand-in', credential: standinCredential() }],
        armUrl: standin.url,
        ca: standin.ca,
      },
    },
  );
  const out = JSON.parse(io.out) as {
    env: string;
    ready: boolean;
    items: { item: string; status: string }[];
  };
  expect(out.items.map((i) => [i.item, i.status])).toEqual([
    ['azure login', 'ok'],
    ['subscription', 'warn'],
    ['secrets', 'ok'],
    ['names', 'ok'],
    ['placeholders', 'fail'],
  ]);
  expect(out).toMatchObject({ env: 'prod', ready: false });
  expect(code).toBe(1);
  expect(io.err).toBe('');
}, 30_000);

test('end to end as a new user runs it: one line per item, the verdict, exit 1', async () => {
  const az = await writeAzCliStandin(await mkdtemp(join(dir, 'bin-')));
  const caFile = join(dir, 'standin-ca.pem');
  await writeFile(caFile, standin.ca);
  standin.on('subscription', (request) => ({
    status: 404,
    body: {
      error: {
        code: 'SubscriptionNotFound',
        message: `The subscription '${request.path.split('/').at(-1)}' could not be found.`,
      },
    },
  }));
  // A shell with nothing of ours in it: no AZURE_* sign-in, no secret.
  const { code, out, err } = await runOpsProcess(['preflight', '--env', 'prod'], {
    pathFirst: [az],
    home: dir,
    env: { NODE_EXTRA_CA_CERTS: caFile, OPS_AZURE_ARM_URL: standin.url },
  });
  expect({ code, err }).toEqual({ code: 1, err: '' });
  const lines = out.trimEnd().split('\n');
  expect(lines.map((l) => l.split(':')[0])).toEqual([
    'ok    azure login',
    'fail  subscription',
    'fail  secrets',
    'ok    names',
    'fail  placeholders',
    'NOT ready',
  ]);
  expect(lines[0]).toBe(
    "ok    azure login: AzureCliCredential answered (the Azure CLI's session: azure/login in GitHub Actions, `az login` on a laptop)",
  );
  expect(lines[1]).toMatch(
    /^fail {2}subscription: 00000000-0000-4000-8000-000000000000 not found, or the signed-in identity has no role on it \(ARM 404 SubscriptionNotFound: /,
  );
  expect(lines[2]).toMatch(
    /^fail {2}secrets: (\d+) of \1 secrets read by the workflows are not set: OPS_PROBE_MQTT_USERNAME /,
  );
  expect(lines.at(-1)).toBe('NOT ready: environment prod (2 ok, 3 fail)');
  expect(standin.requests.at(-1)).toMatchObject({
    route: 'subscription',
    path: '/subscriptions/00000000-0000-4000-8000-000000000000',
    authorization: `Bearer ${standin.token}`,
  });
}, 60_000);
