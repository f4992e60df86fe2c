/**
 * The whole preflight for an environment, in process: the Azure items through the real SDK client
 * against the HTTPS stand-in, the secrets, names and placeholders from the environment's YAML (a copy
 * of prod.yaml, as an adopter fills it in).
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRunbookConfig } from '../config/runbook-config.js';
import { ENVIRONMENTS_DIR } from '../config/environment-config.js';
import { startAzureStandin, standinCredential, type AzureStandin } from '../../test/support/azure-standin.js';
import { runEnvironmentPreflight } from './run-preflight.js';
import { workflowSecretFindings } from './workflow-secrets.js';
import { loadOpsTarget } from '../config/ops-target.js';

const SUB = '3f2b1c4d-9e8a-4b7c-8d6e-5f4a3b2c1d0e';
const runbook = loadRunbookConfig();

let standin: AzureStandin;
let dir: string;
beforeAll(async () => {
  standin = await startAzureStandin();
  dir = await mkdtemp(join(tmpdir(), 'preflight-envs-'));
  // prod.yaml with every placeholder replaced, as an adopter leaves it.
  const filled = (await readFile(join(ENVIRONMENTS_DIR, 'prod.yaml'), 'utf8'))
    .replace('name: prod', 'name: filled')
    .replaceAll('mqtt.example.com', 'mqtt.acme-iot.net')
    .replaceAll('example-project.supabase.co', 'acmeiot.supabase.co')
    .replace('00000000-0000-4000-8000-000000000000', SUB)
    .replace('00000000-0000-4000-8000-000000000001', '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d')
    .replace(/SHA256:A{43}/, 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s')
    .replace(/AAAAC3NzaC1lZDI1NTE5AAAAI\S+ placeholder-admin-key/, 'AAAAC3NzaC1lZDI1NTE5AAAAIGb0 admin@acme')
    .replace('203.0.113.0/24', '81.2.69.0/28')
    .replaceAll('ops@example.com', 'ops@acme-iot.net')
    .replace('vm-mqtt-broker', 'mqtt-broker-vm');
  await writeFile(join(dir, 'filled.yaml'), filled);
  standin.on('subscription', (request, body) => {
    const id = request.path.split('/').at(-1)!;
    if (id !== SUB)
      return {
        status: 404,
        body: {
          error: { code: 'SubscriptionNotFound', message: `The subscription '${id}' could not be found.` },
        },
      };
    return Object.assign(body, {
      id: `/subscriptions/${id}`,
      subscriptionId: id,
      displayName: 'Acme IoT',
      state: 'Enabled',
    });
  });
}, 30_000);
afterAll(async () => {
  await standin?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const azure = () => ({
  credentials: [{ name: 'stand-in credential', credential: standinCredential() }],
  armUrl: standin.url,
  ca: standin.ca,
});

/** Every secret prod's workflows read, set to a value that must never be printed. */
async function allSecrets(): Promise<Record<string, string>> {
  const found = await workflowSecretFindings(await loadOpsTarget('prod', { env: {} }), runbook);
  return Object.fromEntries(found.required.map((n) => [n, `value-of-${n}`]));
}

test('a filled-in environment with its secrets: every item ok but the one bad name; items come as they are known', async () => {
  const secrets = await allSecrets();
  const seen: string[] = [];
  const r = await runEnvironmentPreflight({
    envName: 'filled',
    environmentsDir: dir,
    runbook,
    env: { ...secrets, OPS_BACKUP_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true' },
    azure: azure(),
    onItem: (i) => seen.push(i.item),
  });
  expect(r.source).toBe(join(dir, 'filled.yaml'));
  expect(r.items.map((i) => [i.item, i.status])).toEqual([
    ['azure login', 'ok'],
    ['subscription', 'ok'],
    ['secrets', 'ok'],
    ['name azure.vmName', 'fail'],
    ['placeholders', 'ok'],
  ]);
  expect(seen).toEqual(r.items.map((i) => i.item));
  expect(r.items[1]!.detail).toBe(`"Acme IoT" (${SUB}) is Enabled`);
  expect(r.items[2]!.detail).toBe(`all ${Object.keys(secrets).length} secrets read by the workflows are set`);
  expect(r.items[3]!.detail).toMatch(
    /^"mqtt-broker-vm" does not match infra\.naming\.virtualMachine \(\^vm-mqtt-\[a-z0-9-\]\+\$\)/,
  );
  expect(JSON.stringify(r)).not.toMatch(/value-of-/);
}, 30_000);

test('prod as committed, no secrets: the all-zero subscription is not found, secrets and placeholders named', async () => {
  const r = await runEnvironmentPreflight({ envName: 'prod', runbook, env: {}, azure: azure() });
  expect(r.source).toBe('runbook/environments/prod.yaml');
  expect(r.items.map((i) => [i.item, i.status])).toEqual([
    ['azure login', 'ok'],
    ['subscription', 'fail'],
    ['secrets', 'fail'],
    ['names', 'ok'],
    ['placeholders', 'fail'],
  ]);
  expect(r.items[1]!.detail).toMatch(
    /^00000000-0000-4000-8000-000000000000 not found, or the signed-in identity has no role on it \(ARM 404 SubscriptionNotFound: /,
  );
  expect(r.items[4]!.detail).toMatch(
    /azure\.subscriptionId=00000000-0000-4000-8000-000000000000 \(all-zero id\)/,
  );
  expect(r.items[4]!.detail).toMatch(
    /infra\.network\.adminAddressRanges\[0\]=203\.0\.113\.0\/24 \(documentation address\)/,
  );
}, 30_000);

test('the sandbox: Azure and names skipped, and whether it runs', async () => {
  const r = await runEnvironmentPreflight({
    envName: 'local',
    runbook,
    env: {},
    localEnvPath: join(dir, 'no-sandbox', 'env.json'),
  });
  expect(r.items.map((i) => [i.item, i.status])).toEqual([
    ['azure login', 'skip'],
    ['subscription', 'skip'],
    ['sandbox', 'fail'],
    ['names', 'skip'],
    ['placeholders', 'skip'],
  ]);
  expect(r.items[2]!.detail).toMatch(
    /^the local sandbox is not running \(.*not found\): start it with `npm run dev`/,
  );
});

test('an environment that cannot be loaded throws (the command exits 2)', async () => {
  await expect(
    runEnvironmentPreflight({ envName: 'nowhere', runbook, environmentsDir: dir }),
  ).rejects.toThrow(/no environment "nowhere"/);
});
