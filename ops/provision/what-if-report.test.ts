import type { WhatIfOperationResult } from '@azure/arm-resourcesdeployments';
import { countChanges, describeResource, renderWhatIf } from './what-if-report.js';

const SUB = '/subscriptions/00000000-0000-4000-8000-000000000000';
const RG = `${SUB}/resourceGroups/rg-mqtt-saas-prod`;

const result: WhatIfOperationResult = {
  status: 'Succeeded',
  changes: [
    {
      changeType: 'NoChange',
      resourceId: `${RG}/providers/Microsoft.Network/virtualNetworks/vnet-mqtt-saas-prod`,
    },
    {
      changeType: 'Create',
      resourceId: `${RG}/providers/Microsoft.Network/networkSecurityGroups/nsg-mqtt-saas-prod`,
    },
    {
      changeType: 'Modify',
      resourceId: `${RG}/providers/Microsoft.Compute/virtualMachines/vm-mqtt-broker`,
      delta: [
        {
          path: 'properties.hardwareProfile.vmSize',
          propertyChangeType: 'Modify',
          before: 'Standard_B1ms',
          after: 'Standard_B1s',
        },
        { path: 'tags.managed-by', propertyChangeType: 'Create', after: 'ops-provision' },
        { path: 'properties.osProfile.secrets', propertyChangeType: 'Delete', before: [] },
        {
          path: 'properties.networkProfile.networkInterfaces',
          propertyChangeType: 'Array',
          children: [{ path: '0', propertyChangeType: 'Modify', before: { id: 'a' }, after: { id: 'b' } }],
        },
        { path: 'properties.osDisk.caching', propertyChangeType: 'NoEffect', after: 'ReadWrite' },
      ],
    },
    { changeType: 'Ignore', resourceId: `${RG}/providers/Microsoft.Compute/disks/vm-mqtt-broker_OsDisk_1` },
    { changeType: 'Create', resourceId: RG },
    {
      changeType: 'Modify',
      resourceId: `${SUB}/providers/Microsoft.Consumption/budgets/mqtt-saas-monthly`,
      delta: [],
    },
    {
      changeType: 'Unsupported',
      resourceId: `${RG}/providers/Microsoft.Storage/storageAccounts/stmqttsaasdataprod/blobServices/default/containers/backups`,
      unsupportedReason: 'the name depends on a reference',
    },
  ],
};

const header = {
  env: 'prod',
  subscriptionId: '00000000-0000-4000-8000-000000000000',
  location: 'southeastasia',
  deploymentName: 'ops-provision-prod-20261201T000000Z',
  planned: [
    {
      type: 'Microsoft.Devices/IotHubs',
      name: 'none',
      deployed: false,
      condition: "[not(empty(parameters('iotHubName')))]",
    },
    { type: 'Microsoft.Compute/virtualMachines', name: 'vm-mqtt-broker', deployed: true },
  ],
};

test('groups the changes by type, counted, with each modified property before and after', () => {
  const text = renderWhatIf(result, header);
  expect(text).toContain(
    '**2 to create, 2 to modify, 0 to delete, 1 ignored, 1 unchanged** (1 deployed or unsupported)',
  );
  expect(text).toContain("- `Microsoft.Devices/IotHubs` none: `[not(empty(parameters('iotHubName')))]`");
  const sections = [...text.matchAll(/^### (.+)$/gm)].map((m) => m[1]);
  expect(sections).toEqual([
    'Create (2)',
    'Modify (2)',
    'Unsupported (1): what-if cannot predict these',
    'Ignore (1): in Azure but not in the template: left as they are',
    'No change (1)',
  ]);
  expect(text).toContain('- `Microsoft.Resources/resourceGroups` **rg-mqtt-saas-prod**\n');
  expect(text).toContain(
    '- `Microsoft.Network/networkSecurityGroups` **nsg-mqtt-saas-prod** in rg-mqtt-saas-prod',
  );
  expect(text).toContain('- `Microsoft.Consumption/budgets` **mqtt-saas-monthly** (subscription)');
  expect(text).toContain(
    [
      '- `Microsoft.Compute/virtualMachines` **vm-mqtt-broker** in rg-mqtt-saas-prod',
      '  - `~ properties.hardwareProfile.vmSize`: `"Standard_B1ms"` → `"Standard_B1s"`',
      '  - `+ tags.managed-by`: `"ops-provision"`',
      '  - `- properties.osProfile.secrets`: `[]` (removed)',
      '  - `~ properties.networkProfile.networkInterfaces`: changes:',
      '    - `~ properties.networkProfile.networkInterfaces[0]`: `{"id":"a"}` → `{"id":"b"}`',
      '  - `= properties.osDisk.caching`: `"ReadWrite"` (no effect: Azure keeps its own value)',
    ].join('\n'),
  );
  expect(text).toContain(
    '- `Microsoft.Storage/storageAccounts/blobServices/containers` **stmqttsaasdataprod/default/backups** in rg-mqtt-saas-prod (the name depends on a reference)',
  );
  expect(countChanges(result)).toEqual({ create: 2, modify: 2, delete: 0, other: 1, unchanged: 2 });
});

test('long values are cut; an empty result says so', () => {
  const long = 'x'.repeat(300);
  const text = renderWhatIf(
    {
      changes: [
        {
          changeType: 'Modify',
          resourceId: `${RG}/providers/A.B/c/d`,
          delta: [{ path: 'p', propertyChangeType: 'Create', after: long }],
        },
      ],
    },
    header,
  );
  expect(text).toMatch(/`"x{116}\.\.\.`/);
  expect(renderWhatIf({ changes: [] }, { ...header, planned: [] })).toContain('No resources in the result.');
});

test('describeResource reads type, name and group from the id', () => {
  expect(describeResource({ changeType: 'Create', resourceId: RG })).toEqual({
    type: 'Microsoft.Resources/resourceGroups',
    name: 'rg-mqtt-saas-prod',
    where: '',
  });
  expect(
    describeResource({
      changeType: 'Create',
      resourceId: `${SUB}/providers/Microsoft.Consumption/budgets/b`,
    }),
  ).toEqual({
    type: 'Microsoft.Consumption/budgets',
    name: 'b',
    where: ' (subscription)',
  });
});
