/** The "placeholders" item: settings used, plus the azure section, still holding example values. */
import { loadEnvironmentConfig } from '../config/environment-config.js';
import { placeholdersIn, placeholdersItem } from './placeholder-settings.js';

const SOURCE = 'runbook/environments/prod.yaml';

test('placeholders under a section, by YAML path', () => {
  const prod = loadEnvironmentConfig('prod');
  expect(placeholdersIn(prod.infra, 'infra').map((p) => `${p.path} (${p.reason})`)).toEqual([
    'infra.vm.sshPublicKeys[0] (placeholder text)',
    'infra.network.adminAddressRanges[0] (documentation address)',
    'infra.reverseProxy.domain (example host)',
    'infra.reverseProxy.acmeEmail (example e-mail)',
    'infra.budgetAlerts.contactEmails[0] (example e-mail)',
  ]);
});

test('what the commands read, and the azure section always: one line naming each', () => {
  const prod = loadEnvironmentConfig('prod');
  const used = [{ path: 'ssh.host', value: 'mqtt.example.com', reason: 'example host' }];
  expect(placeholdersItem(prod, used, SOURCE)).toEqual({
    item: 'placeholders',
    status: 'fail',
    detail:
      `3 settings in ${SOURCE} still hold placeholders: ssh.host=mqtt.example.com (example host), ` +
      'azure.subscriptionId=00000000-0000-4000-8000-000000000000 (all-zero id), ' +
      'azure.logAnalyticsWorkspaceId=00000000-0000-4000-8000-000000000001 (all-zero id): ' +
      'replace them with the real values (docs/adopt.md)',
  });
});

test('none left: ok', () => {
  const prod = loadEnvironmentConfig('prod');
  const config = {
    ...prod,
    azure: {
      ...prod.azure!,
      subscriptionId: '3f2b1c4d-9e8a-4b7c-8d6e-5f4a3b2c1d0e',
      logAnalyticsWorkspaceId: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    },
  };
  expect(placeholdersItem(config, [], SOURCE)).toEqual({
    item: 'placeholders',
    status: 'ok',
    detail: `none among the settings used from ${SOURCE}`,
  });
});
