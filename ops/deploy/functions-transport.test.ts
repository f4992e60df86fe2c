/**
 * The functions transports against the HTTPS stand-in for a Function App's SCM site and Resource
 * Manager (test/support/kudu-standin.ts), through the real client code: Flex Consumption's One
 * Deploy (accepted, polled to success; synchronous; failed with its log; refused; too slow) and
 * Linux Consumption's WEBSITE_RUN_FROM_PACKAGE (the zip in the app's storage, on Azurite, the
 * setting pointing at it with a read SAS, triggers synced after retries).
 */
import { zipSync } from 'fflate';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { standinCredential } from '../../test/support/azure-standin.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { startKuduStandin, type KuduStandin } from '../../test/support/kudu-standin.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import { createSecretReader } from '../config/secrets.js';
import { bearerFromCredential, nodeHttpClient } from './functions-transport-http.js';
import { linuxConsumptionTransport } from './functions-transport-linux.js';
import { functionsTransportFor, oneDeployTransport } from './functions-transport.js';

const SUB = '00000000-1111-2222-3333-444444444444';
const RG = 'rg-test';
const APP = 'func-test';

let standin: KuduStandin;
let azurite: Azurite;
let work: string;
let zip: string;
let zipSha: string;

beforeAll(async () => {
  [standin, azurite] = await Promise.all([
    startKuduStandin({ subscriptionId: SUB, resourceGroup: RG, functionApp: APP }),
    startAzurite(),
  ]);
  work = await mkdtemp(join(tmpdir(), 'functions-transport-'));
  zip = join(work, 'functions.zip');
  const bytes = zipSync({ 'host.json': new TextEncoder().encode('{"version":"2.0"}\n') });
  await writeFile(zip, bytes);
  zipSha = createHash('sha256').update(bytes).digest('hex');
}, 60_000);
afterAll(async () => {
  await standin?.close();
  await azurite?.stop();
  await rm(work, { recursive: true, force: true });
});
beforeEach(() => {
  standin.reset();
  Object.assign(standin.scenario, {
    publish: 'async',
    statuses: [4],
    log: [],
    statusText: '',
    syncFailures: 0,
  });
});

function flex(extra: Partial<Parameters<typeof oneDeployTransport>[0]> = {}) {
  const sleeps: number[] = [];
  const transport = oneDeployTransport({
    scmUrl: standin.scmUrl,
    authorization: bearerFromCredential(standinCredential(standin.token)),
    http: nodeHttpClient({ ca: standin.caPem }),
    commitSha: 'abc1234',
    sleep: async (ms) => void sleeps.push(ms),
    ...extra,
  });
  return { transport, sleeps };
}

test('Flex: One Deploy uploads the zip, then polls the deployment until it succeeds', async () => {
  standin.scenario.statuses = [0, 1, 2, 4];
  standin.scenario.statusText = 'Deployment successful.';
  const { transport, sleeps } = flex();
  const lines: string[] = [];
  await transport.deploy(zip, (l) => lines.push(l));

  const [publish, ...polls] = standin.requests;
  expect(publish).toMatchObject({
    method: 'POST',
    path: '/api/publish',
    authorization: `Bearer ${standin.token}`,
    contentType: 'application/zip',
    bodySha256: zipSha,
  });
  expect(publish!.query).toMatchObject({ RemoteBuild: 'false', Deployer: 'ops-deploy' });
  expect(JSON.parse(publish!.query.message!)).toEqual({ type: 'deployment', sha: 'abc1234' });
  expect(polls.map((r) => `${r.method} ${r.path}`)).toEqual(
    Array(4).fill(`GET /api/deployments/${polls[0]!.path.split('/').at(-1)}`),
  );
  expect(sleeps).toEqual([5_000, 5_000, 5_000]); // functions-action's interval, between polls
  expect(lines.at(-1)).toMatch(/success \(Deployment successful\.\)$/);
});

test('Flex: a synchronous 200 is done without polling', async () => {
  standin.scenario.publish = 'sync';
  const { transport } = flex();
  await transport.deploy(zip, () => undefined);
  expect(standin.requests.map((r) => r.path)).toEqual(['/api/publish']);
});

test('Flex: a failed deployment throws with its status text and log', async () => {
  standin.scenario.statuses = [1, 3];
  standin.scenario.statusText = 'Deployment Failed.';
  standin.scenario.log = ['Starting deployment', 'Error: the package could not be mounted'];
  const { transport } = flex();
  const error = (await transport.deploy(zip, () => undefined).catch((e: Error) => e)) as Error;
  expect(error.message).toMatch(/^deployment [0-9a-f-]+ failed: Deployment Failed\./);
  expect(error.message).toContain('  Error: the package could not be mounted');
  expect(error.message).toContain('  details of the first entry');
});

test('Flex: a refused token says which role is missing; a wrong token is never retried blindly', async () => {
  standin.scenario.publish = { status: 403, body: 'Forbidden' };
  const { transport } = flex();
  await expect(transport.deploy(zip, () => undefined)).rejects.toThrow(
    /refused the credential \(403\).*Website Contributor/,
  );
  const wrong = oneDeployTransport({
    scmUrl: standin.scmUrl,
    authorization: bearerFromCredential(standinCredential('not-the-token')),
    http: nodeHttpClient({ ca: standin.caPem }),
  });
  await expect(wrong.deploy(zip, () => undefined)).rejects.toThrow(/\(401\)/);
  expect(standin.requests).toHaveLength(2);
});

test('Flex: a deployment that never ends fails after the timeout', async () => {
  standin.scenario.statuses = [1];
  let clock = 0;
  const { transport } = flex({
    now: () => clock,
    timeoutMs: 60_000,
    pollIntervalMs: 10_000,
    sleep: async (ms) => void (clock += ms),
  });
  await expect(transport.deploy(zip, () => undefined)).rejects.toThrow(
    /did not finish in 60 s \(last: status 1/,
  );
  expect(standin.requests.filter((r) => r.method === 'GET')).toHaveLength(7);
});

test('Linux Consumption: the zip goes to the app storage, WEBSITE_RUN_FROM_PACKAGE points at it, triggers are synced', async () => {
  standin.scenario.appSettings = {
    FUNCTIONS_EXTENSION_VERSION: '~4',
    AzureWebJobsStorage: azurite.connectionString,
    DATABASE_URL: 'postgres://app:s3cret-db@db.example/postgres',
  };
  standin.scenario.syncFailures = 2;
  const masked: string[] = [];
  const sleeps: number[] = [];
  const transport = linuxConsumptionTransport({
    armUrl: standin.armUrl,
    subscriptionId: SUB,
    resourceGroup: RG,
    functionApp: APP,
    authorization: bearerFromCredential(standinCredential(standin.token)),
    http: nodeHttpClient({ ca: standin.caPem }),
    sleep: async (ms) => void sleeps.push(ms),
    mask: (v) => masked.push(v),
  });
  await transport.deploy(zip, () => undefined);

  const arm = standin.requests.map(
    (r) => `${r.method} ${r.path.split(`/sites/${APP}`)[1]} ${r.query['api-version']}`,
  );
  expect(arm).toEqual([
    'POST /config/appsettings/list 2016-08-01',
    'PUT /config/appsettings 2016-08-01',
    'POST /hostruntime/admin/host/synctriggers 2015-08-01',
    'POST /hostruntime/admin/host/synctriggers 2015-08-01',
    'POST /hostruntime/admin/host/synctriggers 2015-08-01',
  ]);
  expect(sleeps).toEqual([30_000, 2_000, 6_000]);
  const settings = standin.appSettings();
  expect(settings).toMatchObject({
    FUNCTIONS_EXTENSION_VERSION: '~4',
    DATABASE_URL: 'postgres://app:s3cret-db@db.example/postgres',
    WEBSITE_ENABLE_SYNC_UPDATE_SITE: 'false',
  });
  const url = new URL(settings.WEBSITE_RUN_FROM_PACKAGE!);
  expect(url.pathname).toBe(`/devstoreaccount1/github-actions-deploy/functionapp-${zipSha}.zip`);
  expect(url.searchParams.get('sp')).toBe('r');
  // The URL works: it serves exactly the zip.
  const served = Buffer.from(await (await fetch(url)).arrayBuffer());
  expect(createHash('sha256').update(served).digest('hex')).toBe(zipSha);
  expect(masked).toEqual(expect.arrayContaining([azurite.connectionString, url.search.slice(1)]));
}, 30_000);

test('Linux Consumption: an app without its storage setting is refused before anything changes', async () => {
  standin.scenario.appSettings = { FUNCTIONS_EXTENSION_VERSION: '~4' };
  const transport = linuxConsumptionTransport({
    armUrl: standin.armUrl,
    subscriptionId: SUB,
    resourceGroup: RG,
    functionApp: APP,
    authorization: bearerFromCredential(standinCredential(standin.token)),
    http: nodeHttpClient({ ca: standin.caPem }),
    sleep: async () => undefined,
  });
  await expect(transport.deploy(zip, () => undefined)).rejects.toThrow(
    /neither AzureWebJobsStorage nor AzureWebJobsStorage__accountName/,
  );
  expect(standin.requests.map((r) => r.method)).toEqual(['POST']);
});

test('the transport is chosen by the environment: the sandbox endpoint, else the plan', () => {
  const target = (config: Partial<EnvironmentConfig>, local?: OpsTarget['local']): OpsTarget => ({
    name: 'x',
    config: { name: 'x', ...config } as EnvironmentConfig,
    secrets: createSecretReader('x', {}),
    env: {},
    ...(local ? { local, localDir: work } : {}),
  });
  const azure = {
    subscriptionId: SUB,
    resourceGroup: RG,
    vmName: 'vm',
    functionApp: APP,
    logAnalyticsWorkspaceId: SUB,
    budgetName: 'b',
  };
  const credential = standinCredential();
  expect(functionsTransportFor(target({ azure }), { credential }).description).toBe(
    `One Deploy to ${APP} (Flex Consumption, https://${APP}.scm.azurewebsites.net)`,
  );
  expect(
    functionsTransportFor(target({ azure, deploy: { functions: { plan: 'linux-consumption' } } }), {
      credential,
    }).description,
  ).toBe(`WEBSITE_RUN_FROM_PACKAGE on ${APP} (Linux Consumption, https://management.azure.com)`);
  expect(() => functionsTransportFor(target({ azure }))).toThrow(/needs a credential/);
  const local = target({}, {
    functionsDeploy: { url: 'http://127.0.0.1:1', key: 'k-secret-1234' },
  } as OpsTarget['local']);
  expect(functionsTransportFor(local).description).toBe(
    "the sandbox's One Deploy endpoint (http://127.0.0.1:1/api/publish)",
  );
  expect(local.secrets.redact('key k-secret-1234')).toBe('key ***');
});
