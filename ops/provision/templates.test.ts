/**
 * infra/'s templates as the environment YAML fills them: every resource of the seed is there with
 * its size and settings, the NSG opens exactly the configured ports (22 only from the admin
 * ranges), SSH takes keys only, every resource that takes tags has them, the conditional parts
 * (archive container, IoT Hub, Flex or Linux Consumption) follow their settings, and the
 * deployment is Incremental at every level. Resources are evaluated offline (arm-expressions.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import { evaluate, evaluateValue } from './arm-expressions.js';
import { provisionParameters } from './parameters.js';
import {
  composeTemplate,
  NESTED_DEPLOYMENT,
  plannedResources,
  readTemplate,
  withDefaults,
  type ArmResource,
  type ArmTemplate,
} from './templates.js';

const prod = loadEnvironmentConfig('prod');
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

interface Rendered extends Json {
  type: string;
  name: string;
  deployed: boolean;
}

function variant(change: (c: EnvironmentConfig) => void): EnvironmentConfig {
  const c = structuredClone(prod);
  change(c);
  return c;
}

/** main.json's and resources.json's resources, evaluated with `config`'s parameters. */
function render(config: EnvironmentConfig, override: Json = {}): { main: Rendered[]; group: Rendered[] } {
  const template = composeTemplate();
  const { parameters } = provisionParameters(config, { budgetStartDate: '2026-12-01' });
  const evaluateAll = (t: ArmTemplate, values: Json): Rendered[] => {
    const ctx = { parameters: withDefaults(t, values), variables: t.variables ?? {}, deploymentName: 'dep' };
    return t.resources.map((r) => {
      const { condition, properties, ...rest } = r;
      const inline =
        r.type === NESTED_DEPLOYMENT && typeof properties === 'object' ? properties.template : null;
      const evaluated = evaluateValue(rest, ctx) as Rendered;
      return {
        ...evaluated,
        properties: inline
          ? { ...(properties as Json), template: '(nested)' }
          : evaluateValue(properties, ctx),
        deployed: condition === undefined || Boolean(evaluate(condition, ctx)),
      };
    });
  };
  const nested = template.resources.find((r) => r.type === NESTED_DEPLOYMENT)!;
  const inner = (nested.properties as Json).template as ArmTemplate;
  const values = Object.fromEntries(
    Object.entries(parameters.resourceGroupParameters as Record<string, { value: unknown }>).map(([k, v]) => [
      k,
      v.value,
    ]),
  );
  return { main: evaluateAll(template, parameters), group: evaluateAll(inner, { ...values, ...override }) };
}

const one = (list: Rendered[], type: string, deployed = true) => {
  const found = list.filter((r) => r.type === type && r.deployed === deployed);
  if (found.length !== 1) throw new Error(`${found.length} ${type} (deployed: ${deployed})`);
  return found[0]!;
};

describe('the seed, from runbook/environments/prod.yaml', () => {
  const { main, group } = render(prod);

  test('at subscription scope: the resource group, the budget, the group template nested in Incremental mode', () => {
    expect(one(main, 'Microsoft.Resources/resourceGroups')).toMatchObject({
      name: 'rg-mqtt-saas-prod',
      location: 'southeastasia',
      tags: prod.infra!.tags,
    });
    const budget = one(main, 'Microsoft.Consumption/budgets');
    expect(budget).toMatchObject({ name: 'mqtt-saas-monthly' });
    expect(budget.properties).toMatchObject({
      category: 'Cost',
      amount: 60,
      timeGrain: 'Monthly',
      timePeriod: { startDate: '2026-12-01' },
    });
    expect(
      Object.values(budget.properties.notifications).map((n) => [
        (n as Json).thresholdType,
        (n as Json).threshold,
      ]),
    ).toEqual([
      ['Actual', 80],
      ['Actual', 100],
      ['Forecasted', 100],
    ]);
    const nested = one(main, NESTED_DEPLOYMENT);
    expect(nested).toMatchObject({ resourceGroup: 'rg-mqtt-saas-prod', properties: { mode: 'Incremental' } });
  });

  test('the VM: B1s, Ubuntu 24.04, an SSH key and no password, on a NIC with the NSG and the static IP', () => {
    const vm = one(group, 'Microsoft.Compute/virtualMachines');
    expect(vm.name).toBe('vm-mqtt-broker');
    expect(vm.properties.hardwareProfile).toEqual({ vmSize: 'Standard_B1s' });
    expect(vm.properties.storageProfile.imageReference).toEqual({
      publisher: 'Canonical',
      offer: 'ubuntu-24_04-lts',
      sku: 'server',
      version: 'latest',
    });
    expect(vm.properties.storageProfile.osDisk.diskSizeGB).toBe(30);
    expect(vm.properties.osProfile.linuxConfiguration).toEqual({
      disablePasswordAuthentication: true,
      provisionVMAgent: true,
      ssh: {
        publicKeys: prod.infra!.vm.sshPublicKeys.map((keyData) => ({
          path: '/home/azureuser/.ssh/authorized_keys',
          keyData,
        })),
      },
    });
    expect(vm.properties.osProfile).not.toHaveProperty('adminPassword');
    const nic = one(group, 'Microsoft.Network/networkInterfaces');
    expect(nic.properties.networkSecurityGroup.id).toMatch(/networkSecurityGroups\/nsg-mqtt-saas-prod$/);
    expect(nic.properties.ipConfigurations[0].properties.publicIPAddress.id).toMatch(/pip-mqtt-saas-prod$/);
    const ip = one(group, 'Microsoft.Network/publicIPAddresses');
    expect(ip).toMatchObject({ name: 'pip-mqtt-saas-prod', sku: { name: 'Standard' } });
    expect(ip.properties).toMatchObject({
      publicIPAllocationMethod: 'Static',
      dnsSettings: { domainNameLabel: 'mqtt-saas-prod' },
    });
    expect(one(group, 'Microsoft.Network/virtualNetworks').name).toBe('vnet-mqtt-saas-prod');
  });

  test('the Function App on Flex Consumption: Node 22, its memory and scale, its deployment container', () => {
    expect(one(group, 'Microsoft.Web/serverfarms')).toMatchObject({
      name: 'asp-mqtt-saas-prod',
      sku: { name: 'FC1', tier: 'FlexConsumption' },
      properties: { reserved: true },
    });
    const app = one(group, 'Microsoft.Web/sites');
    expect(app).toMatchObject({ name: 'func-mqtt-saas-prod', kind: 'functionapp,linux' });
    expect(app.properties.httpsOnly).toBe(true);
    expect(app.properties.functionAppConfig).toEqual({
      deployment: {
        storage: {
          type: 'blobContainer',
          value: 'https://stmqttsaasfuncprod.blob.core.windows.net/app-package-func-mqtt-saas-prod',
          authentication: {
            type: 'StorageAccountConnectionString',
            storageAccountConnectionStringName: 'DEPLOYMENT_STORAGE_CONNECTION_STRING',
          },
        },
      },
      scaleAndConcurrency: { maximumInstanceCount: 40, instanceMemoryMB: 2048 },
      runtime: { name: 'node', version: '22' },
    });
    expect(app.properties.siteConfig).not.toHaveProperty('linuxFxVersion');
    const containers = group.filter(
      (r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers',
    );
    expect(
      containers.find((c) => c.name === 'stmqttsaasfuncprod/default/app-package-func-mqtt-saas-prod')
        ?.deployed,
    ).toBe(true);
  });

  test("the app's settings are not the template's: adopting the seed's app must not replace them", () => {
    const app = one(group, 'Microsoft.Web/sites');
    expect(app.properties.siteConfig).not.toHaveProperty('appSettings');
    expect(app.properties.siteConfig).not.toHaveProperty('connectionStrings');
    expect(group.filter((r) => r.type === 'Microsoft.Web/sites/config')).toEqual([]);
  });

  test('storage, Log Analytics with its retention, workspace-based Application Insights', () => {
    const accounts = group.filter((r) => r.type === 'Microsoft.Storage/storageAccounts');
    expect(accounts.map((a) => a.name).sort()).toEqual(['stmqttsaasdataprod', 'stmqttsaasfuncprod']);
    for (const a of accounts)
      expect(a.properties).toEqual({
        minimumTlsVersion: 'TLS1_2',
        supportsHttpsTrafficOnly: true,
        allowBlobPublicAccess: false,
      });
    const workspace = one(group, 'Microsoft.OperationalInsights/workspaces');
    expect(workspace).toMatchObject({ name: 'log-mqtt-saas-prod', properties: { retentionInDays: 30 } });
    const insights = one(group, 'Microsoft.Insights/components');
    expect(insights).toMatchObject({ name: 'appi-mqtt-saas-prod', kind: 'web' });
    expect(insights.properties).toMatchObject({
      IngestionMode: 'LogAnalytics',
      WorkspaceResourceId: expect.stringMatching(/workspaces\/log-mqtt-saas-prod$/),
    });
  });

  test('the backup container; the archive container left out while the archive is disabled', () => {
    const containers = group.filter(
      (r) => r.type === 'Microsoft.Storage/storageAccounts/blobServices/containers',
    );
    expect(
      containers.filter((c) => c.deployed && c.name.startsWith('stmqttsaasdataprod/')).map((c) => c.name),
    ).toEqual(['stmqttsaasdataprod/default/backups']);
    expect(prod.archive?.mode).toBe('disabled');
    expect(containers.find((c) => c.name === 'stmqttsaasdataprod/default/archive')?.deployed).toBe(false);
    // Enabled (no environment can say so yet): the container is there.
    const enabled = render(prod, { archiveEnabled: true }).group;
    expect(enabled.find((c) => c.name === 'stmqttsaasdataprod/default/archive')?.deployed).toBe(true);
  });

  test('no IoT Hub unless infra.iotHub names one; then IoT Hub Free', () => {
    expect(group.filter((r) => r.type === 'Microsoft.Devices/IotHubs' && r.deployed)).toEqual([]);
    const hub = one(
      render(variant((c) => (c.infra!.iotHub = { name: 'iot-mqtt-saas-prod' }))).group,
      'Microsoft.Devices/IotHubs',
    );
    expect(hub).toMatchObject({ name: 'iot-mqtt-saas-prod', sku: { name: 'F1', capacity: 1 } });
  });

  test('tags on every resource that takes them', () => {
    // Budgets and blob containers are not tracked resources: Azure has no tags for them.
    const untaggable = [
      'Microsoft.Consumption/budgets',
      'Microsoft.Storage/storageAccounts/blobServices/containers',
    ];
    const taggable = [...main, ...group].filter((r) => !untaggable.includes(r.type));
    expect(taggable.length).toBeGreaterThan(12);
    for (const r of taggable)
      expect({ type: r.type, tags: r.tags }).toEqual({ type: r.type, tags: prod.infra!.tags });
  });
});

describe('the NSG opens exactly infra.network', () => {
  const rules = (config: EnvironmentConfig) =>
    one(render(config).group, 'Microsoft.Network/networkSecurityGroups').properties.securityRules as Json[];
  const summary = (config: EnvironmentConfig) =>
    rules(config).map((r) => [
      r.properties.destinationPortRange,
      r.properties.sourceAddressPrefix ?? r.properties.sourceAddressPrefixes,
    ]);
  const net = (n: Partial<NonNullable<EnvironmentConfig['infra']>['network']>) =>
    variant((c) => Object.assign(c.infra!.network, n));

  test.each([
    [
      { plainMqtt: false, websocket: false },
      [
        ['22', '203.0.113.0/24'],
        ['443', 'Internet'],
        ['8883', 'Internet'],
      ],
    ],
    [
      { plainMqtt: false, websocket: true },
      [
        ['22', '203.0.113.0/24'],
        ['443', 'Internet'],
        ['8883', 'Internet'],
        ['9001', 'Internet'],
      ],
    ],
    [
      { plainMqtt: true, websocket: false },
      [
        ['22', '203.0.113.0/24'],
        ['443', 'Internet'],
        ['8883', 'Internet'],
        ['1883', 'Internet'],
      ],
    ],
    [
      { plainMqtt: true, websocket: true, adminAddressRanges: ['198.51.100.7', '2001:db8::/48'] },
      [
        ['22', ['198.51.100.7', '2001:db8::/48']],
        ['443', 'Internet'],
        ['8883', 'Internet'],
        ['1883', 'Internet'],
        ['9001', 'Internet'],
      ],
    ],
  ])('%j', (network, expected) => {
    expect(summary(net(network))).toEqual(expected);
  });

  test('every rule allows TCP inbound, priorities distinct; 22 never from the internet', () => {
    const all = rules(net({ plainMqtt: true, websocket: true }));
    expect(new Set(all.map((r) => r.properties.priority)).size).toBe(all.length);
    for (const r of all)
      expect(r.properties).toMatchObject({ access: 'Allow', direction: 'Inbound', protocol: 'Tcp' });
    const ssh = all.filter((r) => r.properties.destinationPortRange === '22');
    expect(ssh).toHaveLength(1);
    const sources = [ssh[0]!.properties.sourceAddressPrefix, ...ssh[0]!.properties.sourceAddressPrefixes];
    expect(sources.filter((s) => /^(\*|Internet|Any|0\.0\.0\.0\/0|::\/0)$/i.test(String(s)))).toEqual([]);
  });

  test('SSH open to everyone is refused before anything is built', () => {
    for (const open of ['0.0.0.0/0', '*', '::/0'])
      expect(() => render(net({ adminAddressRanges: [open] }))).toThrow(/opens SSH to the internet/);
  });

  test('the template names no port: its rules are the parameter', () => {
    const nsg = readTemplate('resources.json').resources.find(
      (r) => r.type === 'Microsoft.Network/networkSecurityGroups',
    );
    expect(nsg?.properties).toEqual({ securityRules: "[parameters('securityRules')]" });
    // No rule of its own anywhere: no port range, no source address.
    expect(JSON.stringify(readTemplate('resources.json'))).not.toMatch(
      /PortRange|AddressPrefix(es)?"|securityRules"\s*:\s*\[/,
    );
  });
});

test('Linux Consumption, for the seed’s existing app: Y1, NODE|22, no Flex configuration or container', () => {
  const { group } = render(variant((c) => (c.deploy!.functions!.plan = 'linux-consumption')));
  expect(one(group, 'Microsoft.Web/serverfarms').sku).toEqual({ name: 'Y1', tier: 'Dynamic' });
  const app = one(group, 'Microsoft.Web/sites');
  expect(app.properties.siteConfig).toMatchObject({ linuxFxVersion: 'NODE|22' });
  expect(app.properties.functionAppConfig).toBeNull();
  expect(group.find((r) => String(r.name).includes('app-package-'))?.deployed).toBe(false);
});

test('plannedResources lists what a deployment leaves out, and why', () => {
  const template = composeTemplate();
  const { parameters } = provisionParameters(prod, { budgetStartDate: '2026-12-01' });
  const planned = plannedResources(template, parameters, { deploymentName: 'ops-provision-prod-x' });
  expect(planned.filter((r) => !r.deployed).map((r) => [r.type, r.name, r.condition])).toEqual([
    [
      'Microsoft.Storage/storageAccounts/blobServices/containers',
      'stmqttsaasdataprod/default/archive',
      "[parameters('archiveEnabled')]",
    ],
    ['Microsoft.Devices/IotHubs', 'none', "[not(empty(parameters('iotHubName')))]"],
  ]);
  expect(planned.find((r) => r.type === 'Microsoft.Compute/virtualMachines')).toEqual({
    type: 'Microsoft.Compute/virtualMachines',
    name: 'vm-mqtt-broker',
    resourceGroup: 'rg-mqtt-saas-prod',
    deployed: true,
  });
});

describe('composing', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'infra-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const write = (file: string, t: Partial<ArmTemplate>) =>
    writeFileSync(
      join(dir, file),
      JSON.stringify({ $schema: 's', contentVersion: '1.0.0.0', resources: [], ...t }),
    );
  const nested = (relativePath: string): ArmResource => ({
    type: NESTED_DEPLOYMENT,
    apiVersion: '2024-03-01',
    name: 'n',
    properties: { mode: 'Incremental', templateLink: { relativePath } },
  });

  test('puts each linked template inline, so the request carries one template', () => {
    const template = composeTemplate();
    const resource = template.resources.find((r) => r.type === NESTED_DEPLOYMENT)!;
    expect(resource.properties).not.toHaveProperty('templateLink');
    expect(((resource.properties as Json).template as ArmTemplate).resources.length).toBeGreaterThan(10);
  });

  test('refuses a link outside infra/, a circle and a file that is not a template', () => {
    write('main.json', { resources: [nested('../elsewhere.json')] });
    expect(() => composeTemplate('main.json', dir)).toThrow(/outside infra/);
    write('main.json', { resources: [nested('a.json')] });
    write('a.json', { resources: [nested('main.json')] });
    expect(() => composeTemplate('main.json', dir)).toThrow(/links in a circle/);
    writeFileSync(join(dir, 'main.json'), '{"resources": 1}');
    expect(() => composeTemplate('main.json', dir)).toThrow(/not an ARM template/);
    writeFileSync(join(dir, 'main.json'), '{');
    expect(() => composeTemplate('main.json', dir)).toThrow(/not valid JSON/);
  });
});
