/**
 * `ops provision` through ops/cli.ts, against the HTTPS Azure stand-in: in-process with the
 * stand-in's credential, and end to end as a process the way a new user runs it (the Azure CLI's
 * session played by the stand-in `az` on PATH, OPS_AZURE_ARM_URL, NODE_EXTRA_CA_CERTS).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runOpsProcess } from '../../test/support/ops-process.js';
import {
  deploymentScenario,
  standinCredential,
  startAzureStandin,
  writeAzCliStandin,
  type AzureStandin,
  type FixtureJson,
} from '../../test/support/azure-standin.js';
import { runProvisionCommand, type ProvisionDeps } from './cli.js';

const SUB = '00000000-0000-4000-8000-000000000000';
const RG = `/subscriptions/${SUB}/resourceGroups/rg-mqtt-saas-prod`;

let standin: AzureStandin;
let dir: string;
beforeAll(async () => {
  standin = await startAzureStandin();
  dir = await mkdtemp(join(tmpdir(), 'provision-cli-'));
});
afterAll(async () => {
  await standin.close();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(() => (standin.requests.length = 0));

/** The seed as what-if sees it: the VM and the app exist (adopted), the NSG is new, a disk is not ours. */
function seedChanges(): FixtureJson[] {
  const [modify, create] = standin.template('subscriptionWhatIf').properties.changes as FixtureJson[];
  const id = (p: string) => `${RG}/providers/${p}`;
  const resource = (p: string, type: string, apiVersion: string) => ({
    ...create.after,
    id: id(p),
    name: p.split('/').at(-1),
    type,
    apiVersion,
    location: 'southeastasia',
  });
  const nsg = 'Microsoft.Network/networkSecurityGroups/nsg-mqtt-saas-prod';
  const vm = 'Microsoft.Compute/virtualMachines/vm-mqtt-broker';
  const app = 'Microsoft.Web/sites/func-mqtt-saas-prod';
  return [
    {
      ...create,
      resourceId: id(nsg),
      after: resource(nsg, 'Microsoft.Network/networkSecurityGroups', '2024-05-01'),
    },
    {
      ...modify,
      resourceId: id(vm),
      before: resource(vm, 'Microsoft.Compute/virtualMachines', '2024-07-01'),
      after: resource(vm, 'Microsoft.Compute/virtualMachines', '2024-07-01'),
      delta: [
        { path: 'tags.managed-by', after: 'ops-provision', propertyChangeType: 'Create' },
        {
          path: 'properties.storageProfile.osDisk.managedDisk.storageAccountType',
          before: 'Premium_LRS',
          after: 'StandardSSD_LRS',
          propertyChangeType: 'Modify',
        },
      ],
    },
    {
      ...create,
      changeType: 'NoChange',
      resourceId: id(app),
      after: resource(app, 'Microsoft.Web/sites', '2024-04-01'),
    },
    { changeType: 'Ignore', resourceId: id('Microsoft.Compute/disks/vm-mqtt-broker_OsDisk_1') },
  ];
}

function capture() {
  const io = { out: '', err: '' };
  return { io, sink: { out: (t: string) => (io.out += t), err: (t: string) => (io.err += t) } };
}

const deps = (): ProvisionDeps => ({
  credential: standinCredential(standin.token),
  ca: standin.ca,
  pollIntervalMs: 5,
});
const env = () => ({ OPS_AZURE_ARM_URL: standin.url });
const NOW = () => Date.parse('2026-12-01T10:15:30Z');

test('--what-if prints the change list, grouped, and sends nothing but the what-if', async () => {
  deploymentScenario(standin, { changes: seedChanges() });
  const { io, sink } = capture();
  const code = await runProvisionCommand(
    ['--env', 'prod', '--what-if'],
    { ...sink, env: env(), now: NOW },
    deps(),
  );
  expect({ code, err: io.err.split('\n').filter((l) => !l.startsWith('ops provision: ')) }).toEqual({
    code: 0,
    err: [''],
  });
  expect(io.out).toContain('## What-if: prod');
  expect(io.out).toContain('Deployment `ops-provision-prod-20261201T101530Z`');
  expect(io.out).toContain('**1 to create, 1 to modify, 0 to delete, 1 ignored, 1 unchanged**');
  expect(io.out).toContain(
    '- `Microsoft.Network/networkSecurityGroups` **nsg-mqtt-saas-prod** in rg-mqtt-saas-prod',
  );
  expect(io.out).toContain(
    '  - `~ properties.storageProfile.osDisk.managedDisk.storageAccountType`: `"Premium_LRS"` → `"StandardSSD_LRS"`',
  );
  expect(io.out).toContain(
    "- `Microsoft.Storage/storageAccounts/blobServices/containers` stmqttsaasdataprod/default/archive: `[parameters('archiveEnabled')]`",
  );
  expect(standin.requests.map((r) => `${r.method} ${r.route}`)).toEqual([
    'GET budget',
    'POST subscriptionWhatIf',
    'GET armOperationResult',
    'GET armOperationResult',
  ]);
  // The existing budget keeps the start date Azure has for it.
  expect((standin.requests[1]!.body as FixtureJson).properties.parameters.budgetStartDate).toEqual({
    value: '2017-10-01',
  });
  expect(io.err).toMatch(/^ops provision: what-if: 1 to create, 1 to modify, 0 to delete$/m);
});

test('without --what-if: the change list, then the deployment with progress, then its outputs', async () => {
  deploymentScenario(standin, {
    changes: seedChanges(),
    outputs: {
      publicIpAddress: '20.195.1.2',
      fqdn: 'mqtt-saas-prod.southeastasia.cloudapp.azure.com',
      functionAppHost: 'func-mqtt-saas-prod.azurewebsites.net',
      logAnalyticsCustomerId: '00000000-0000-4000-8000-000000000001',
    },
  });
  const output = join(dir, 'summary.md');
  const direct = capture();
  expect(
    await runProvisionCommand(
      ['--env', 'prod', '--output', output],
      { ...direct.sink, env: env(), now: NOW },
      deps(),
    ),
  ).toBe(0);
  const text = await readFile(output, 'utf8');
  expect(text).toContain('## What-if: prod');
  expect(text).toContain(
    [
      '## Applied',
      '',
      "- public IP (the broker's address): `20.195.1.2`",
      '- DNS name (the static IP’s label): `mqtt-saas-prod.southeastasia.cloudapp.azure.com`',
      '- Function App host: `func-mqtt-saas-prod.azurewebsites.net`',
      '- Log Analytics workspace id (azure.logAnalyticsWorkspaceId): `00000000-0000-4000-8000-000000000001`',
    ].join('\n'),
  );
  const progress = direct.io.err.trimEnd().split('\n');
  expect(progress).toEqual(
    expect.arrayContaining([
      'ops provision: applying ops-provision-prod-20261201T101530Z (Incremental: nothing the template omits is deleted)',
      'ops provision: deployment ops-provision-prod-20261201T101530Z accepted: running',
      expect.stringMatching(/^ops provision: deployment ops-provision-prod-20261201T101530Z Succeeded in PT/),
      `ops provision: output written to ${output}`,
    ]),
  );
  expect(
    standin.requests.filter((r) => r.method === 'PUT').map((r) => (r.body as FixtureJson).properties.mode),
  ).toEqual(['Incremental']);
});

test('a failed deployment: exit 1, every error detail on stderr, the change list still printed', async () => {
  deploymentScenario(standin, {
    changes: seedChanges(),
    error: {
      code: 'DeploymentFailed',
      message: 'At least one resource deployment operation failed.',
      details: [
        {
          code: 'PropertyChangeNotAllowed',
          target: 'linuxConfiguration.ssh.publicKeys',
          message: "Changing property 'linuxConfiguration.ssh.publicKeys' is not allowed.",
        },
      ],
    },
  });
  const { io, sink } = capture();
  expect(await runProvisionCommand(['--env', 'prod'], { ...sink, env: env(), now: NOW }, deps())).toBe(1);
  expect(io.out).toContain('## What-if: prod');
  expect(io.out).not.toContain('## Applied');
  expect(io.err).toContain(
    [
      'ops provision: deployment ops-provision-prod-20261201T101530Z Failed',
      '  DeploymentFailed: At least one resource deployment operation failed.',
      "    PropertyChangeNotAllowed (linuxConfiguration.ssh.publicKeys): Changing property 'linuxConfiguration.ssh.publicKeys' is not allowed.",
      '',
    ].join('\n'),
  );
});

test.each([
  [[], /^ops provision: give --env NAME/],
  [
    ['--env', 'local', '--what-if'],
    /^ops provision: environment local has no azure section: .*docs\/infra\.md/,
  ],
  [['--env', 'nowhere'], /no environment "nowhere"/],
  [['--env', 'prod', 'now'], /unexpected argument now/],
])('ops provision %j: exit 2, one line, nothing sent', async (argv, message) => {
  const { io, sink } = capture();
  expect(await runProvisionCommand([...argv], { ...sink, env: env() }, deps())).toBe(2);
  expect(io.err).toMatch(message);
  expect(io.err.trimEnd().split('\n')).toHaveLength(1);
  expect(standin.requests).toEqual([]);
});

test('no Azure sign-in: exit 2 and what to do, nothing sent', async () => {
  const { CredentialUnavailableError } = await import('@azure/identity');
  const credential = {
    getToken: async () => {
      throw new CredentialUnavailableError('nobody signed in');
    },
  };
  const { io, sink } = capture();
  expect(
    await runProvisionCommand(
      ['--env', 'prod', '--what-if'],
      { ...sink, env: env() },
      { ...deps(), credential },
    ),
  ).toBe(2);
  expect(io.err).toMatch(/^ops provision: no Azure sign-in: run `az login` \(a laptop\) or azure\/login/m);
  expect(standin.requests).toEqual([]);
});

test('a Resource Manager URL that is not https is refused before signing in', async () => {
  const { io, sink } = capture();
  expect(
    await runProvisionCommand(
      ['--env', 'prod', '--what-if'],
      { ...sink, env: { OPS_AZURE_ARM_URL: 'http://x' } },
      deps(),
    ),
  ).toBe(2);
  expect(io.err).toMatch(/OPS_AZURE_ARM_URL must be an https:\/\/ URL/);
});

test('end to end as a new user runs it: `ops provision --env prod --what-if` prints the change list', async () => {
  deploymentScenario(standin, { changes: seedChanges() });
  const az = await writeAzCliStandin(await mkdtemp(join(dir, 'bin-')));
  const caFile = join(dir, 'standin-ca.pem');
  await writeFile(caFile, standin.ca);
  // A shell with nothing of ours in it: no AZURE_* sign-in, no secret; `az login` done.
  const { code, out, err } = await runOpsProcess(['provision', '--env', 'prod', '--what-if'], {
    pathFirst: [az],
    home: dir,
    env: { NODE_EXTRA_CA_CERTS: caFile, OPS_AZURE_ARM_URL: standin.url },
  });
  expect({ code, err: err.split('\n').filter((l) => l && !l.startsWith('ops provision: ')) }).toEqual({
    code: 0,
    err: [],
  });
  expect(out).toMatch(/^## What-if: prod\n/);
  expect(out).toContain('**1 to create, 1 to modify, 0 to delete, 1 ignored, 1 unchanged**');
  expect(standin.requests.map((r) => r.route)).toEqual([
    'budget',
    'subscriptionWhatIf',
    'armOperationResult',
    'armOperationResult',
  ]);
  expect(standin.requests.every((r) => r.authorization === `Bearer ${standin.token}`)).toBe(true);
  // Shown in the report of this work.
  process.stdout.write(`--- ops provision --env prod --what-if (stand-in) ---\n${err}${out}`);
}, 60_000);
