/**
 * The subscription item through the real SubscriptionClient against the HTTPS Azure stand-in,
 * answering with the published Subscriptions_Get example (2022-12-01) and ARM's CloudError shape.
 */
import { startAzureStandin, standinCredential, type AzureStandin } from '../../test/support/azure-standin.js';
import { checkSubscription } from './subscription.js';

const SUB = '3f2b1c4d-9e8a-4b7c-8d6e-5f4a3b2c1d0e';
const SOURCE = 'runbook/environments/prod.yaml';

let standin: AzureStandin;
beforeAll(async () => {
  standin = await startAzureStandin();
}, 30_000);
afterAll(() => standin?.close());

const check = (subscriptionId = SUB, credential = standinCredential()) =>
  checkSubscription({ credential, subscriptionId, source: SOURCE, armUrl: standin.url, ca: standin.ca });

/** The published body, for the asked subscription, in `state`. */
function answer(state: string, displayName = 'mqtt-saas production') {
  standin.on('subscription', (request, body) => {
    const id = request.path.split('/').at(-1)!;
    Object.assign(body, { id: `/subscriptions/${id}`, subscriptionId: id, displayName, state });
    return body;
  });
}

test('an Enabled subscription: ok, with its display name; the SDK sent the version the fixture is for', async () => {
  answer('Enabled');
  expect(await check()).toEqual({
    item: 'subscription',
    status: 'ok',
    detail: `"mqtt-saas production" (${SUB}) is Enabled`,
  });
  expect(standin.requests.at(-1)).toMatchObject({
    route: 'subscription',
    method: 'GET',
    path: `/subscriptions/${SUB}`,
    apiVersion: '2022-12-01',
    authorization: `Bearer ${standin.token}`,
  });
});

test.each([
  ['Warned', 'warn', /is Warned: Azure warns before disabling it .*Cost Management \+ Billing$/],
  ['PastDue', 'warn', /is PastDue: a payment is past due; .*pay the outstanding balance/],
  ['Disabled', 'fail', /is Disabled: its resources are stopped .*reactivate it in the Azure portal/],
  ['Deleted', 'fail', /is Deleted: it no longer exists: set azure\.subscriptionId/],
] as const)('a %s subscription: %s, saying what to do', async (state, status, detail) => {
  answer(state);
  const item = await check();
  expect(item.status).toBe(status);
  expect(item.detail).toMatch(new RegExp(`^"mqtt-saas production" \\(${SUB}\\) ${detail.source}`));
});

test("a subscription ARM does not know (a wrong id): ARM's 404 in one line, what to check", async () => {
  const wrong = '11111111-2222-4333-8444-555555555555';
  standin.on('subscription', (request) => ({
    status: 404,
    body: {
      error: {
        code: 'SubscriptionNotFound',
        message: `The subscription '${request.path.split('/').at(-1)}' could not be found.`,
      },
    },
  }));
  const item = await check(wrong);
  expect(item).toEqual({
    item: 'subscription',
    status: 'fail',
    detail:
      `${wrong} not found, or the signed-in identity has no role on it (ARM 404 SubscriptionNotFound: ` +
      `The subscription '${wrong}' could not be found.): check azure.subscriptionId in ${SOURCE} ` +
      '(`az account list -o table`) and give the identity a role on the subscription (docs/adopt.md)',
  });
});

test('a token ARM refuses: 401 with the advice to sign in again', async () => {
  answer('Enabled');
  const item = await check(SUB, standinCredential('an-expired-token'));
  expect(item.status).toBe('fail');
  expect(item.detail).toMatch(
    /^Resource Manager refused the token \(ARM 401 AuthenticationFailed: missing or wrong bearer token\): sign in again/,
  );
});

test('Resource Manager not answering: the endpoint named', async () => {
  const closed = await startAzureStandin();
  const url = closed.url;
  await closed.close();
  const item = await checkSubscription({
    credential: standinCredential(),
    subscriptionId: SUB,
    source: SOURCE,
    armUrl: url,
    ca: standin.ca,
  });
  expect(item.status).toBe('fail');
  expect(item.detail).toMatch(new RegExp(`^Resource Manager at ${url} did not answer \\(.*ECONNREFUSED`));
}, 30_000);
