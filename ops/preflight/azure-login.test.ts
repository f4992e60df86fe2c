/**
 * The "azure login" item: which credential answered, why each other did not, and what to do when
 * none did. The default chain is the real @azure/identity credentials, with the Azure CLI they
 * call played by the stand-in `az` (test/support/azure-standin.ts) first on PATH.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { CredentialUnavailableError } from '@azure/identity';
import type { TokenCredential } from '@azure/core-auth';
import { standinCredential, writeAzCliStandin } from '../../test/support/azure-standin.js';
import { defaultCredentialChain, signIn } from './azure-login.js';

const unavailable = (message: string): TokenCredential => ({
  getToken: async () => {
    throw new CredentialUnavailableError(message);
  },
});

test('the first credential that answers is named, and the sign-in carries it', async () => {
  const answering = standinCredential('t-1');
  const r = await signIn(
    [
      { name: 'EnvironmentCredential', credential: unavailable('EnvironmentCredential is unavailable.') },
      { name: 'AzureCliCredential', credential: answering },
      { name: 'Never', credential: unavailable('not asked') },
    ],
    { inActions: false },
  );
  expect(r.ok && r.name).toBe('AzureCliCredential');
  expect(r.ok && r.credential).toBe(answering);
  expect(r.item).toEqual({
    item: 'azure login',
    status: 'ok',
    detail:
      "AzureCliCredential answered (the Azure CLI's session: azure/login in GitHub Actions, `az login` on a laptop)",
  });
});

test('none answers on a laptop: each reason, then `az login`', async () => {
  const r = await signIn(
    [
      { name: 'EnvironmentCredential', credential: unavailable('whatever the SDK says') },
      {
        name: 'AzureCliCredential',
        credential: unavailable(
          "Please run 'az login' from a command prompt to authenticate before using this credential.",
        ),
      },
    ],
    { inActions: false },
  );
  expect(r.ok).toBe(false);
  expect(r.item).toEqual({
    item: 'azure login',
    status: 'fail',
    detail:
      'no credential answered (EnvironmentCredential: not set up (no AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH); ' +
      "AzureCliCredential: Please run 'az login' from a command prompt to authenticate before using this credential.): " +
      'run `az login` (install the Azure CLI first if it is missing: https://aka.ms/azure-cli), then run this again',
  });
});

test('in GitHub Actions the advice is the azure/login step', async () => {
  const r = await signIn(
    [{ name: 'AzureCliCredential', credential: unavailable('Azure CLI could not be found.') }],
    {
      inActions: true,
    },
  );
  expect(r.item.detail).toMatch(
    /^no credential answered \(AzureCliCredential: Azure CLI could not be found\.\): check the azure\/login step .*AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID.*id-token: write/,
  );
});

test('a credential that is set up and fails stops the chain, as DefaultAzureCredential does', async () => {
  const asked: string[] = [];
  const r = await signIn(
    [
      {
        name: 'EnvironmentCredential',
        credential: {
          getToken: async () => {
            asked.push('env');
            throw Object.assign(new Error('AADSTS7000215: Invalid client secret provided.\nTrace ID: 1'), {
              name: 'AuthenticationError',
            });
          },
        },
      },
      {
        name: 'AzureCliCredential',
        credential: {
          getToken: async () => {
            asked.push('cli');
            return { token: 'x', expiresOnTimestamp: Date.now() + 60_000 };
          },
        },
      },
    ],
    { inActions: false },
  );
  expect(asked).toEqual(['env']);
  expect(r.item.status).toBe('fail');
  expect(r.item.detail).toMatch(
    /^EnvironmentCredential is set up but failed \(AADSTS7000215: Invalid client secret provided\.\): run `az login`/,
  );
});

describe('the default chain, with the real credentials', () => {
  const AZURE_VARS = [
    'AZURE_CLIENT_ID',
    'AZURE_TENANT_ID',
    'AZURE_CLIENT_SECRET',
    'AZURE_CLIENT_CERTIFICATE_PATH',
    'AZURE_FEDERATED_TOKEN_FILE',
    'AZURE_USERNAME',
    'AZURE_TOKEN_CREDENTIALS',
  ];
  const saved: Record<string, string | undefined> = {};
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'az-standin-'));
    for (const name of [...AZURE_VARS, 'PATH']) saved[name] = process.env[name];
    for (const name of AZURE_VARS) delete process.env[name];
    // The stand-in `az` first: a real Azure CLI on this machine is never asked.
    process.env.PATH = `${dir}${delimiter}${saved.PATH}`;
  });
  afterAll(async () => {
    for (const [name, value] of Object.entries(saved))
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    await rm(dir, { recursive: true, force: true });
  });

  test('signed in with `az login`: AzureCliCredential answers with the CLI token', async () => {
    await writeAzCliStandin(dir, { token: 'cli-token' });
    const r = await signIn(defaultCredentialChain(), { inActions: false });
    expect(r.item).toMatchObject({
      status: 'ok',
      detail: expect.stringMatching(/^AzureCliCredential answered/),
    });
    expect(r.ok && (await r.credential.getToken('https://management.azure.com/.default'))?.token).toBe(
      'cli-token',
    );
  }, 30_000);

  test('nobody signed in: every credential says why, and the line says `az login`', async () => {
    await writeAzCliStandin(dir, { signedIn: false });
    const r = await signIn(defaultCredentialChain(), { inActions: false });
    expect(r.item).toEqual({
      item: 'azure login',
      status: 'fail',
      detail:
        'no credential answered (EnvironmentCredential: not set up (no AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH); ' +
        'WorkloadIdentityCredential: not set up (no AZURE_FEDERATED_TOKEN_FILE); ' +
        "AzureCliCredential: Please run 'az login' from a command prompt to authenticate before using this credential.): " +
        'run `az login` (install the Azure CLI first if it is missing: https://aka.ms/azure-cli), then run this again',
    });
  }, 30_000);
});
