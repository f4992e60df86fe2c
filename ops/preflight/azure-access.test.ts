/**
 * The Azure items together (sign-in, then the subscription through the real SubscriptionClient
 * against the HTTPS stand-in), when they do not apply, and the same check as the deploy's
 * preflight probe for the functions stage.
 */
import { CredentialUnavailableError } from '@azure/identity';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import { createSecretReader } from '../config/secrets.js';
import type { OpsTarget } from '../config/ops-target.js';
import { runPreflightStage } from '../deploy/preflight-stage.js';
import { startAzureStandin, standinCredential, type AzureStandin } from '../../test/support/azure-standin.js';
import { armUrlFrom, azureAccessItems, azurePreflightProbe } from './azure-access.js';

const SUB = '3f2b1c4d-9e8a-4b7c-8d6e-5f4a3b2c1d0e';
const SOURCE = 'runbook/environments/prod.yaml';

let standin: AzureStandin;
beforeAll(async () => {
  standin = await startAzureStandin();
}, 30_000);
afterAll(() => standin?.close());

function prod(): EnvironmentConfig {
  const config = loadEnvironmentConfig('prod');
  return { ...config, azure: { ...config.azure!, subscriptionId: SUB } };
}

const viaStandin = (credential = standinCredential()) => ({
  credentials: [{ name: 'stand-in credential', credential }],
  armUrl: standin.url,
  ca: standin.ca,
});

function answer(state: string) {
  standin.on('subscription', (request, body) => {
    const id = request.path.split('/').at(-1)!;
    return Object.assign(body, {
      id: `/subscriptions/${id}`,
      subscriptionId: id,
      displayName: 'Prod',
      state,
    });
  });
}

test('signed in, the subscription Enabled: two ok lines, the second from Resource Manager', async () => {
  answer('Enabled');
  const items = await azureAccessItems(prod(), {}, SOURCE, viaStandin());
  expect(items).toEqual([
    { item: 'azure login', status: 'ok', detail: 'stand-in credential answered' },
    { item: 'subscription', status: 'ok', detail: `"Prod" (${SUB}) is Enabled` },
  ]);
  expect(standin.requests.at(-1)).toMatchObject({ route: 'subscription', path: `/subscriptions/${SUB}` });
});

test('no sign-in: the subscription is not asked for', async () => {
  const before = standin.requests.length;
  const items = await azureAccessItems(prod(), { GITHUB_ACTIONS: 'true' }, SOURCE, {
    ...viaStandin(),
    credentials: [
      {
        name: 'AzureCliCredential',
        credential: {
          getToken: async () => {
            throw new CredentialUnavailableError('Azure CLI could not be found.');
          },
        },
      },
    ],
  });
  expect(items.map((i) => [i.item, i.status])).toEqual([
    ['azure login', 'fail'],
    ['subscription', 'skip'],
  ]);
  expect(items[0]!.detail).toMatch(/check the azure\/login step/);
  expect(items[1]!.detail).toBe(`${SUB} not read: no Azure sign-in`);
  expect(standin.requests.length).toBe(before);
});

test('the sandbox, and an environment without an azure section: skipped, saying why', async () => {
  const local = await azureAccessItems(loadEnvironmentConfig('local'), {}, 'runbook/environments/local.yaml');
  expect(local).toEqual([
    {
      item: 'azure login',
      status: 'skip',
      detail: 'the sandbox runs no Azure (its functions and broker run on this machine)',
    },
    {
      item: 'subscription',
      status: 'skip',
      detail: 'the sandbox runs no Azure (its functions and broker run on this machine)',
    },
  ]);
  const { azure: _none, ...bare } = prod();
  const items = await azureAccessItems(bare, {}, 'envs/bare.yaml');
  expect(items.map((i) => i.status)).toEqual(['skip', 'skip']);
  expect(items[0]!.detail).toBe(
    'environment prod has no azure section in envs/bare.yaml: nothing to sign in to (docs/adopt.md)',
  );
});

test('OPS_AZURE_ARM_URL points Resource Manager elsewhere; only https:// is taken', () => {
  expect(armUrlFrom({})).toBeUndefined();
  expect(armUrlFrom({ OPS_AZURE_ARM_URL: 'https://127.0.0.1:4443/' })).toBe('https://127.0.0.1:4443');
  expect(() => armUrlFrom({ OPS_AZURE_ARM_URL: 'http://127.0.0.1:4443' })).toThrow(
    'OPS_AZURE_ARM_URL must be an https:// URL (got "http://127.0.0.1:4443")',
  );
});

describe("the deploy's preflight probe (functions stage)", () => {
  function target(): OpsTarget {
    return { name: 'prod', config: prod(), secrets: createSecretReader('prod', {}), env: {} };
  }
  const functionsOnly = { http: async () => 'HTTP 200' };

  test('a disabled subscription stops the deploy before it starts, with the line preflight prints', async () => {
    answer('Disabled');
    const r = await runPreflightStage({
      target: target(),
      stages: ['functions'],
      probes: { ...functionsOnly, azure: azurePreflightProbe(viaStandin()) },
      log: () => {},
    });
    expect(r.status).toBe('failure');
    expect(r.reachability.map((x) => [x.what, x.ok])).toEqual([
      ['function app', true],
      ['azure', false],
    ]);
    expect(r.reachability[1]!.detail).toMatch(
      new RegExp(`^subscription: "Prod" \\(${SUB}\\) is Disabled: its resources are stopped`),
    );
  });

  test('signed in and Enabled: azure is reachable, saying who signed in', async () => {
    answer('Enabled');
    const r = await runPreflightStage({
      target: target(),
      stages: ['functions'],
      probes: { ...functionsOnly, azure: azurePreflightProbe(viaStandin()) },
      log: () => {},
    });
    expect(r.status).toBe('success');
    expect(r.reachability[1]).toMatchObject({
      what: 'azure',
      ok: true,
      detail: `stand-in credential answered; "Prod" (${SUB}) is Enabled`,
    });
  });

  test('a deploy without the functions stage does not ask Azure', async () => {
    const before = standin.requests.length;
    const r = await runPreflightStage({
      target: target(),
      stages: ['pages'],
      probes: { azure: azurePreflightProbe(viaStandin()) },
      log: () => {},
    });
    expect(r.reachability).toEqual([]);
    expect(standin.requests.length).toBe(before);
  });
});
