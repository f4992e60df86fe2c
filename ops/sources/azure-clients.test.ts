import { standinCredential, startAzureStandin, type AzureStandin } from '../../test/support/azure-standin.js';
import { createAzureClients } from './azure-clients.js';
import { createAzureCredential } from './azure-credential.js';

const SUB = '11111111-2222-3333-4444-555555555555';
let standin: AzureStandin;
beforeAll(async () => {
  standin = await startAzureStandin();
});
afterAll(() => standin.close());

const budget = (ca?: string) =>
  createAzureClients({
    credential: standinCredential(standin.token),
    subscriptionId: SUB,
    armEndpoint: standin.url,
    ca,
    maxRetries: 0,
  }).consumption.budgets.get(`subscriptions/${SUB}`, 'b');

test('TLS is verified: the self-signed stand-in is refused unless its certificate is the given CA', async () => {
  await expect(budget()).rejects.toThrow(/self[- ]signed certificate/i);
  await expect(budget(standin.ca)).resolves.toMatchObject({ amount: 100.65 });
});

test('options are validated early', () => {
  const credential = standinCredential();
  expect(() => createAzureClients({ credential, subscriptionId: 'sub' })).toThrow(
    /subscriptionId must be a GUID/,
  );
  expect(() => createAzureClients({ credential, subscriptionId: SUB, armEndpoint: 'http://x' })).toThrow(
    /armEndpoint must be an https/,
  );
});

test('the production credential is DefaultAzureCredential, with ids checked', () => {
  expect(createAzureCredential().constructor.name).toBe('DefaultAzureCredential');
  expect(() => createAzureCredential({ tenantId: 'contoso' })).toThrow(/tenantId must be a GUID/);
});
