/** The "names" item: every Azure name of the environment YAML against infra.naming. */
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import { namedResources, namingItems } from './naming.js';

const SOURCE = 'runbook/environments/prod.yaml';

test("prod's names all follow its convention: one ok line naming them", () => {
  const config = loadEnvironmentConfig('prod');
  expect(namedResources(config).map((n) => `${n.path}:${n.kind}`)).toEqual([
    'azure.resourceGroup:resourceGroup',
    'azure.vmName:virtualMachine',
    'azure.functionApp:functionApp',
    'azure.budgetName:other',
    'infra.names.networkSecurityGroup:other',
    'infra.names.publicIp:other',
    'infra.names.virtualNetwork:other',
    'infra.names.networkInterface:other',
    'infra.names.functionStorage:storageAccount',
    'infra.names.dataStorage:storageAccount',
    'infra.names.logAnalytics:other',
    'infra.names.applicationInsights:other',
    'infra.names.functionPlan:other',
  ]);
  const items = namingItems(config, SOURCE);
  expect(items).toHaveLength(1);
  expect(items[0]).toMatchObject({ item: 'names', status: 'ok' });
  expect(items[0]!.detail).toMatch(
    /^all 13 resource names follow infra\.naming \(rg-mqtt-saas-prod, vm-mqtt-broker, /,
  );
});

test('one line per name that fails, saying which pattern', () => {
  const prod = loadEnvironmentConfig('prod');
  const config: EnvironmentConfig = {
    ...prod,
    azure: { ...prod.azure!, resourceGroup: 'mqtt-prod-rg' },
    infra: {
      ...prod.infra!,
      names: { ...prod.infra!.names, dataStorage: 'mqttsaasdata', publicIp: 'pip-mqtt-saas-prod' },
      iotHub: { name: 'IoTHub-Prod' },
    },
  };
  expect(namingItems(config, SOURCE)).toEqual([
    {
      item: 'name azure.resourceGroup',
      status: 'fail',
      detail:
        '"mqtt-prod-rg" does not match infra.naming.resourceGroup (^rg-mqtt-saas-prod$): rename it in ' +
        `${SOURCE}, or, for a resource that exists already under that name, widen the pattern`,
    },
    {
      item: 'name infra.names.dataStorage',
      status: 'fail',
      detail: expect.stringMatching(
        /^"mqttsaasdata" does not match infra\.naming\.storageAccount \(\^stmqttsaas\[a-z0-9\]\*prod\$\)/,
      ),
    },
    {
      item: 'name infra.iotHub.name',
      status: 'fail',
      detail: expect.stringMatching(/^"IoTHub-Prod" does not match infra\.naming\.other /),
    },
  ]);
});

test('no convention to check against, and the sandbox: skipped, saying why', () => {
  const { infra: _none, ...noInfra } = loadEnvironmentConfig('prod');
  expect(namingItems(noInfra, SOURCE)).toEqual([
    {
      item: 'names',
      status: 'skip',
      detail: `no infra.naming in ${SOURCE}: no naming convention to check the names against`,
    },
  ]);
  expect(namingItems(loadEnvironmentConfig('local'), 'runbook/environments/local.yaml')).toEqual([
    { item: 'names', status: 'skip', detail: 'the sandbox names no Azure resources' },
  ]);
});
