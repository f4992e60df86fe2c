import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import {
  budgetNotifications,
  DEFAULT_IMAGE,
  firstOfMonth,
  nsgSecurityRules,
  provisionParameters,
  ProvisionSettingsError,
} from './parameters.js';

const prod = loadEnvironmentConfig('prod');
const build = (c: EnvironmentConfig = prod) => provisionParameters(c, { budgetStartDate: '2026-12-01' });
const group = (c?: EnvironmentConfig) =>
  Object.fromEntries(
    Object.entries(build(c).parameters.resourceGroupParameters as Record<string, { value: unknown }>).map(
      ([k, v]) => [k, v.value],
    ),
  );
const variant = (change: (c: EnvironmentConfig) => void) => {
  const c = structuredClone(prod);
  change(c);
  return c;
};

test('every name and size comes from the environment YAML', () => {
  const request = build();
  expect(request).toMatchObject({
    env: 'prod',
    subscriptionId: prod.azure!.subscriptionId,
    location: 'southeastasia',
    resourceGroup: 'rg-mqtt-saas-prod',
  });
  expect(request.parameters).toMatchObject({
    resourceGroupName: 'rg-mqtt-saas-prod',
    budgetName: 'mqtt-saas-monthly',
    budgetAmount: '60',
    budgetStartDate: '2026-12-01',
    tags: prod.infra!.tags,
  });
  expect(group()).toMatchObject({
    vmName: 'vm-mqtt-broker',
    vmSize: 'Standard_B1s',
    adminUsername: 'azureuser',
    imageReference: DEFAULT_IMAGE,
    functionAppName: 'func-mqtt-saas-prod',
    functionsPlan: 'flex-consumption',
    functionInstanceMemoryMb: 2048,
    functionMaximumInstanceCount: 40,
    backupContainerName: 'backups',
    archiveEnabled: false,
    iotHubName: '',
    logRetentionDays: 30,
  });
});

test('the archive container only for an enabled archive, with its configured name', () => {
  const enabled = group(
    variant((c) => {
      c.archive = { mode: 'enabled', container: 'telemetry-archive', connectionStringEnv: 'OPS_ARCHIVE_CS' };
    }),
  );
  expect(enabled).toMatchObject({ archiveEnabled: true, archiveContainerName: 'telemetry-archive' });
  const purge = group(
    variant((c) => {
      c.archive = { mode: 'purge-without-archive', reason: 'no archive wanted for this test environment' };
    }),
  );
  expect(purge).toMatchObject({ archiveEnabled: false });
});

test('infra.vm.image, a local backup store and the Linux Consumption plan are followed', () => {
  const image = {
    publisher: 'Canonical',
    offer: 'ubuntu-24_04-lts',
    sku: 'server-arm64',
    version: '24.04.202501010',
  };
  const g = group(
    variant((c) => {
      c.infra!.vm.image = image;
      c.backup!.store = 'local';
      c.deploy!.functions!.plan = 'linux-consumption';
    }),
  );
  expect(g).toMatchObject({
    imageReference: image,
    backupContainerName: '',
    functionsPlan: 'linux-consumption',
  });
});

test('the NSG rules: one per port vmPorts opens, SSH from the admin ranges on ssh.port', () => {
  const rules = nsgSecurityRules(
    { adminAddressRanges: ['203.0.113.0/24'], plainMqtt: false, websocket: false },
    2222,
  );
  expect(rules.map((r) => [r.name, r.properties.destinationPortRange, r.properties.priority])).toEqual([
    ['allow-ssh', '2222', 100],
    ['allow-https', '443', 110],
    ['allow-mqtt-tls', '8883', 120],
  ]);
  expect(rules[0]!.properties).toMatchObject({
    sourceAddressPrefix: '203.0.113.0/24',
    sourceAddressPrefixes: [],
  });
  expect(rules[1]!.properties).toMatchObject({ sourceAddressPrefix: 'Internet', sourceAddressPrefixes: [] });
  const two = nsgSecurityRules({
    adminAddressRanges: ['198.51.100.7', '203.0.113.0/24'],
    plainMqtt: false,
    websocket: false,
  });
  expect(two[0]!.properties).not.toHaveProperty('sourceAddressPrefix');
  expect(two[0]!.properties.sourceAddressPrefixes).toEqual(['198.51.100.7', '203.0.113.0/24']);
  // The reverse proxy's ACME challenge: 80 from anywhere, only while the proxy is enabled.
  const proxied = nsgSecurityRules(
    { adminAddressRanges: ['203.0.113.0/24'], plainMqtt: false, websocket: false },
    22,
    { enabled: true, domain: 'mqtt.example.net', acmeEmail: 'ops@example.net' },
  );
  expect(proxied.at(-1)).toMatchObject({
    name: 'allow-http-acme',
    properties: { destinationPortRange: '80', sourceAddressPrefix: 'Internet' },
  });
});

test('budget notifications: actual and forecast, at most the five Azure allows', () => {
  const n = budgetNotifications({
    contactEmails: ['a@example.com'],
    actualPercent: [80, 99.5],
    forecastPercent: [100],
  });
  expect(n).toEqual({
    Actual_GreaterThan_80_Percent: {
      enabled: true,
      operator: 'GreaterThan',
      threshold: 80,
      thresholdType: 'Actual',
      contactEmails: ['a@example.com'],
    },
    Actual_GreaterThan_99_5_Percent: expect.objectContaining({ threshold: 99.5, thresholdType: 'Actual' }),
    Forecasted_GreaterThan_100_Percent: expect.objectContaining({
      threshold: 100,
      thresholdType: 'Forecasted',
    }),
  });
  expect(() =>
    budgetNotifications({ contactEmails: ['a@x'], actualPercent: [1, 2, 3], forecastPercent: [4, 5, 6] }),
  ).toThrow(/6 notifications; Azure allows 5/);
  expect(() =>
    budgetNotifications({ contactEmails: ['a@x'], actualPercent: [], forecastPercent: [] }),
  ).toThrow(ProvisionSettingsError);
});

test('an environment without azure or infra, or a start date mid-month, is refused with what to do', () => {
  const local = loadEnvironmentConfig('local');
  expect(() => build(local)).toThrow(/environment local has no (azure|infra) section: .*docs\/infra\.md/);
  expect(() => build(variant((c) => delete c.infra))).toThrow(/has no infra section/);
  expect(() => provisionParameters(prod, { budgetStartDate: '2026-12-15' })).toThrow(/first of a month/);
});

test('firstOfMonth is UTC', () => {
  expect(firstOfMonth(new Date('2026-12-31T23:30:00Z'))).toBe('2026-12-01');
  expect(firstOfMonth(new Date('2027-01-01T00:00:00Z'))).toBe('2027-01-01');
});
