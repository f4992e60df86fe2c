/**
 * The what-if and the deployment through the real @azure/arm-resourcesdeployments client against
 * the HTTPS Azure stand-in, which answers with the published examples' shapes and polls as
 * Resource Manager does: what-if 202 + Location, deployment 201 + Azure-AsyncOperation.
 */
import {
  deploymentScenario,
  standinCredential,
  startAzureStandin,
  type AzureStandin,
  type FixtureJson,
} from '../../test/support/azure-standin.js';
import { createAzureClients } from '../sources/azure-clients.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import {
  apply,
  createDeploymentsClient,
  DeploymentError,
  deploymentName,
  DEPLOYMENTS_API_VERSION,
  existingBudgetStart,
  formatArmError,
  whatIf,
  type DeploymentRequest,
} from './deployment.js';
import { provisionParameters } from './parameters.js';
import { composeTemplate } from './templates.js';

const SUB = '00000000-0000-4000-8000-000000000000';
let standin: AzureStandin;
beforeAll(async () => {
  standin = await startAzureStandin();
});
afterAll(() => standin.close());
beforeEach(() => (standin.requests.length = 0));

const client = () =>
  createDeploymentsClient({
    credential: standinCredential(standin.token),
    subscriptionId: SUB,
    armUrl: standin.url,
    ca: standin.ca,
  });

function request(): DeploymentRequest {
  const built = provisionParameters(loadEnvironmentConfig('prod'), { budgetStartDate: '2026-12-01' });
  return {
    name: 'ops-provision-prod-20261201T000000Z',
    location: built.location,
    template: composeTemplate(),
    parameters: built.parameters,
  };
}

/** What-if changes in the published example's shape, for prod's resources. */
function changes(): FixtureJson[] {
  const [modify, create] = standin.template('subscriptionWhatIf').properties.changes as FixtureJson[];
  const rg = `/subscriptions/${SUB}/resourceGroups/rg-mqtt-saas-prod`;
  const nsg = `${rg}/providers/Microsoft.Network/networkSecurityGroups/nsg-mqtt-saas-prod`;
  const vm = `${rg}/providers/Microsoft.Compute/virtualMachines/vm-mqtt-broker`;
  return [
    {
      ...create,
      resourceId: nsg,
      after: {
        ...create.after,
        id: nsg,
        name: 'nsg-mqtt-saas-prod',
        type: 'Microsoft.Network/networkSecurityGroups',
        apiVersion: '2024-05-01',
        location: 'southeastasia',
        tags: { project: 'mqtt-saas' },
        properties: { securityRules: [] },
      },
    },
    {
      ...modify,
      resourceId: vm,
      before: {
        ...modify.before,
        id: vm,
        name: 'vm-mqtt-broker',
        type: 'Microsoft.Compute/virtualMachines',
        apiVersion: '2024-07-01',
        location: 'southeastasia',
      },
      after: {
        ...modify.after,
        id: vm,
        name: 'vm-mqtt-broker',
        type: 'Microsoft.Compute/virtualMachines',
        apiVersion: '2024-07-01',
        location: 'southeastasia',
        tags: { project: 'mqtt-saas' },
      },
      delta: [
        { path: 'tags.project', after: 'mqtt-saas', propertyChangeType: 'Create' },
        {
          path: 'properties.hardwareProfile.vmSize',
          before: 'Standard_B1ms',
          after: 'Standard_B1s',
          propertyChangeType: 'Modify',
        },
      ],
    },
    { changeType: 'Ignore', resourceId: `${rg}/providers/Microsoft.Compute/disks/vm-mqtt-broker_OsDisk_1` },
  ];
}

test('what-if: POST whatIf, 202 + Location polled until the result, Incremental, read-only validation', async () => {
  deploymentScenario(standin, { changes: changes(), polls: 2 });
  const result = await whatIf(client(), request(), { pollIntervalMs: 5 });
  expect(result.changes?.map((c) => [c.changeType, c.resourceId?.split('/').at(-1)])).toEqual([
    ['Create', 'nsg-mqtt-saas-prod'],
    ['Modify', 'vm-mqtt-broker'],
    ['Ignore', 'vm-mqtt-broker_OsDisk_1'],
  ]);
  expect(result.changes?.[1]?.delta?.[1]).toMatchObject({ before: 'Standard_B1ms', after: 'Standard_B1s' });
  expect(standin.requests.map((r) => `${r.method} ${r.route} ${r.apiVersion}`)).toEqual([
    `POST subscriptionWhatIf ${DEPLOYMENTS_API_VERSION}`,
    `GET armOperationResult ${DEPLOYMENTS_API_VERSION}`,
    `GET armOperationResult ${DEPLOYMENTS_API_VERSION}`,
    `GET armOperationResult ${DEPLOYMENTS_API_VERSION}`,
  ]);
  const sent = standin.requests[0]!;
  expect(sent.path).toBe(
    `/subscriptions/${SUB}/providers/Microsoft.Resources/deployments/ops-provision-prod-20261201T000000Z/whatIf`,
  );
  expect(sent.authorization).toBe(`Bearer ${standin.token}`);
  const body = sent.body as FixtureJson;
  expect(body.location).toBe('southeastasia');
  expect(body.properties).toMatchObject({
    mode: 'Incremental',
    validationLevel: 'ProviderNoRbac',
    whatIfSettings: { resultFormat: 'FullResourcePayloads' },
    parameters: { resourceGroupName: { value: 'rg-mqtt-saas-prod' }, budgetAmount: { value: '60' } },
  });
  expect(body.properties.template.resources.map((r: FixtureJson) => r.type)).toContain(
    'Microsoft.Resources/deployments',
  );
  expect(body.properties).not.toHaveProperty('templateLink');
});

test('a what-if that ends Failed says why', async () => {
  deploymentScenario(standin, {
    whatIfError: {
      code: 'InvalidTemplate',
      message: 'Deployment template validation failed',
      details: [{ code: 'SkuNotAvailable', message: 'Standard_B1s is not available in southeastasia' }],
    },
  });
  const error = await whatIf(client(), request(), { pollIntervalMs: 5 }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(DeploymentError);
  expect((error as DeploymentError).message).toBe('what-if Failed');
  expect((error as DeploymentError).details).toEqual([
    'InvalidTemplate: Deployment template validation failed',
    '  SkuNotAvailable: Standard_B1s is not available in southeastasia',
  ]);
});

test('apply: PUT 201 Accepted, the Azure-AsyncOperation status polled, the deployment read for its outputs', async () => {
  deploymentScenario(standin, {
    polls: 2,
    outputs: {
      publicIpAddress: '20.1.2.3',
      fqdn: 'mqtt-saas-prod.southeastasia.cloudapp.azure.com',
      functionAppHost: 'func-mqtt-saas-prod.azurewebsites.net',
    },
  });
  const lines: string[] = [];
  const applied = await apply(client(), request(), { pollIntervalMs: 5, log: (l) => lines.push(l) });
  expect(applied).toMatchObject({
    name: 'ops-provision-prod-20261201T000000Z',
    provisioningState: 'Succeeded',
    outputs: {
      publicIpAddress: '20.1.2.3',
      fqdn: 'mqtt-saas-prod.southeastasia.cloudapp.azure.com',
      functionAppHost: 'func-mqtt-saas-prod.azurewebsites.net',
    },
  });
  expect(standin.requests.map((r) => `${r.method} ${r.route}`)).toEqual([
    'PUT subscriptionDeployment',
    'GET deploymentOperationStatus',
    'GET deploymentOperationStatus',
    'GET deploymentOperationStatus',
    'GET subscriptionDeploymentGet',
  ]);
  expect((standin.requests[0]!.body as FixtureJson).properties.mode).toBe('Incremental');
  expect(standin.requests.every((r) => r.apiVersion === DEPLOYMENTS_API_VERSION)).toBe(true);
  expect(lines[0]).toMatch(/^deployment ops-provision-prod-20261201T000000Z accepted: running$/);
  expect(lines.at(-1)).toMatch(/: succeeded after \d+ s$/);
});

test('a failed deployment is read back: its error and every detail', async () => {
  deploymentScenario(standin, {
    error: {
      code: 'DeploymentFailed',
      message: 'At least one resource deployment operation failed.',
      details: [
        {
          code: 'Conflict',
          target: 'vm-mqtt-broker',
          message: "Changing property 'linuxConfiguration.ssh.publicKeys' is not allowed.",
        },
        {
          code: 'StorageAccountAlreadyTaken',
          message: 'The storage account named stmqttsaasfuncprod is already taken.',
        },
      ],
    },
  });
  const error = (await apply(client(), request(), { pollIntervalMs: 5 }).catch(
    (e: unknown) => e,
  )) as DeploymentError;
  expect(error).toBeInstanceOf(DeploymentError);
  expect(error.message).toBe('deployment ops-provision-prod-20261201T000000Z Failed');
  expect(error.details).toEqual([
    'DeploymentFailed: At least one resource deployment operation failed.',
    "  Conflict (vm-mqtt-broker): Changing property 'linuxConfiguration.ssh.publicKeys' is not allowed.",
    '  StorageAccountAlreadyTaken: The storage account named stmqttsaasfuncprod is already taken.',
  ]);
  expect(standin.requests.at(-1)?.route).toBe('subscriptionDeploymentGet');
});

test('a deployment refused up front (400) carries the service error, and nothing is read back', async () => {
  standin.on('subscriptionDeployment', () => ({
    status: 400,
    body: {
      error: {
        code: 'InvalidTemplate',
        message: 'Deployment template validation failed.',
        details: [{ code: 'X', message: 'y' }],
      },
    },
  }));
  const error = (await apply(client(), request(), { pollIntervalMs: 5 }).catch(
    (e: unknown) => e,
  )) as DeploymentError;
  expect(error.message).toBe('deployment ops-provision-prod-20261201T000000Z failed (HTTP 400)');
  expect(error.details).toEqual(['InvalidTemplate: Deployment template validation failed.', '  X: y']);
  expect(standin.requests.map((r) => r.route)).toEqual(['subscriptionDeployment']);
});

test("the existing budget's start date is kept; no budget, none", async () => {
  const consumption = createAzureClients({
    credential: standinCredential(standin.token),
    subscriptionId: SUB,
    armEndpoint: standin.url,
    ca: standin.ca,
    maxRetries: 0,
  }).consumption;
  await expect(existingBudgetStart(consumption, SUB, 'mqtt-saas-monthly')).resolves.toBe('2017-10-01');
  expect(standin.requests.at(-1)?.path).toBe(
    `/subscriptions/${SUB}/providers/Microsoft.Consumption/budgets/mqtt-saas-monthly`,
  );
  standin.on('budget', () => ({ status: 404, body: { error: { code: 'NotFound', message: 'no budget' } } }));
  await expect(existingBudgetStart(consumption, SUB, 'mqtt-saas-monthly')).resolves.toBeUndefined();
});

test('names, client options and error lines', () => {
  expect(deploymentName('prod', new Date('2026-12-01T10:15:30.123Z'))).toBe(
    'ops-provision-prod-20261201T101530Z',
  );
  const credential = standinCredential();
  expect(() => createDeploymentsClient({ credential, subscriptionId: 'x' })).toThrow(/GUID/);
  expect(() => createDeploymentsClient({ credential, subscriptionId: SUB, armUrl: 'http://x' })).toThrow(
    /https/,
  );
  expect(
    formatArmError({
      code: 'A',
      message: 'b',
      details: [{ code: 'C', message: 'd', details: [{ message: 'e' }] }],
    }),
  ).toEqual(['A: b', '  C: d', '    Error: e']);
});
