/**
 * infra/main.json's parameters from an environment YAML (runbook/environments/<name>.yaml), the one
 * source of names, sizes and exposure: the `azure` section names the subscription, resource group,
 * VM, Function App and budget; `infra` the rest. The NSG's rules come from vmPorts() (the list the
 * VM's ufw opens too) and the budget's notifications from infra.budgetAlerts: both are built here
 * and handed to the template as data, so the template holds no port and no threshold of its own.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import { vmPorts, type VmNetwork, type VmReverseProxy } from '../config/vm-ports.js';

/** Ubuntu 24.04 LTS (Canonical's current image), unless infra.vm.image says otherwise. */
export const DEFAULT_IMAGE = {
  publisher: 'Canonical',
  offer: 'ubuntu-24_04-lts',
  sku: 'server',
  version: 'latest',
} as const;

/** The archive container's name when none is configured (the seed deleted its `archive`). */
export const ARCHIVE_CONTAINER = 'archive';

/** Azure allows at most five notifications per budget. */
const MAX_BUDGET_NOTIFICATIONS = 5;

export interface ProvisionRequest {
  env: string;
  subscriptionId: string;
  location: string;
  resourceGroup: string;
  /** infra/main.json's parameter values, by name (resourceGroupParameters holds resources.json's). */
  parameters: Record<string, unknown>;
}

export class ProvisionSettingsError extends Error {}

/** An NSG security rule as Resource Manager takes it (Microsoft.Network 2024-05-01). */
export interface SecurityRule {
  name: string;
  properties: {
    description: string;
    protocol: 'Tcp';
    sourcePortRange: '*';
    destinationPortRange: string;
    destinationAddressPrefix: '*';
    sourceAddressPrefix?: string;
    sourceAddressPrefixes: string[];
    access: 'Allow';
    priority: number;
    direction: 'Inbound';
  };
}

/**
 * One Allow rule per port vmPorts() opens, priorities 100, 110, ... in its order. A port open to
 * everyone takes the service tag Internet; one range is a single prefix, several a list (the way
 * Azure itself returns them). Everything else inbound falls to the NSG's default DenyAllInBound.
 */
export function nsgSecurityRules(
  network: VmNetwork,
  sshPort = 22,
  reverseProxy?: VmReverseProxy,
): SecurityRule[] {
  return vmPorts(network, sshPort, reverseProxy).map((p, i) => {
    const from = p.from === 'any' ? ['Internet'] : p.from;
    return {
      name: `allow-${p.name}`,
      properties: {
        description: `${p.name} (${p.port}) from ${p.from === 'any' ? 'anywhere' : p.from.join(', ')}: infra.network`,
        protocol: 'Tcp',
        sourcePortRange: '*',
        destinationPortRange: String(p.port),
        destinationAddressPrefix: '*',
        ...(from.length === 1 ? { sourceAddressPrefix: from[0]! } : {}),
        sourceAddressPrefixes: from.length === 1 ? [] : from,
        access: 'Allow',
        priority: 100 + 10 * i,
        direction: 'Inbound',
      },
    };
  });
}

export interface BudgetNotification {
  enabled: true;
  operator: 'GreaterThan';
  threshold: number;
  thresholdType: 'Actual' | 'Forecasted';
  contactEmails: string[];
}

/** The budget's notifications: each actual and forecast percentage of infra.budgetAlerts. */
export function budgetNotifications(
  alerts: NonNullable<EnvironmentConfig['infra']>['budgetAlerts'],
): Record<string, BudgetNotification> {
  const entries = [
    ...alerts.actualPercent.map((p) => ['Actual', p] as const),
    ...alerts.forecastPercent.map((p) => ['Forecasted', p] as const),
  ];
  if (entries.length === 0)
    throw new ProvisionSettingsError(
      'infra.budgetAlerts: give at least one actualPercent or forecastPercent',
    );
  if (entries.length > MAX_BUDGET_NOTIFICATIONS)
    throw new ProvisionSettingsError(
      `infra.budgetAlerts: ${entries.length} notifications; Azure allows ${MAX_BUDGET_NOTIFICATIONS} per budget`,
    );
  return Object.fromEntries(
    entries.map(([type, threshold]) => [
      `${type}_GreaterThan_${String(threshold).replace('.', '_')}_Percent`,
      {
        enabled: true,
        operator: 'GreaterThan',
        threshold,
        thresholdType: type,
        contactEmails: alerts.contactEmails,
      },
    ]),
  );
}

/** The first day of `date`'s month (UTC), as a budget's start date wants it. */
export function firstOfMonth(date: Date): string {
  return `${date.toISOString().slice(0, 7)}-01`;
}

/**
 * main.json's parameters for `config`. `budgetStartDate` is the existing budget's (Azure refuses to
 * move it), or the first of this month for a new one (deployment.ts reads it).
 */
export function provisionParameters(
  config: EnvironmentConfig,
  options: { budgetStartDate: string },
): ProvisionRequest {
  const { azure, infra } = config;
  if (!azure || !infra)
    throw new ProvisionSettingsError(
      `environment ${config.name} has no ${!azure ? 'azure' : 'infra'} section: provisioning takes every name and size from it (docs/infra.md)`,
    );
  if (!/^\d{4}-\d{2}-01$/.test(options.budgetStartDate))
    throw new ProvisionSettingsError(`budget start ${options.budgetStartDate}: must be the first of a month`);
  const { names, vm, network, functions } = infra;
  const resources: Record<string, unknown> = {
    location: infra.location,
    tags: infra.tags,
    vmName: azure.vmName,
    vmSize: vm.size,
    adminUsername: vm.adminUsername,
    sshPublicKeys: vm.sshPublicKeys,
    osDiskSizeGb: vm.osDiskGb,
    imageReference: vm.image ?? { ...DEFAULT_IMAGE },
    dnsLabel: vm.dnsLabel,
    networkSecurityGroupName: names.networkSecurityGroup,
    securityRules: nsgSecurityRules(network, config.ssh?.port ?? 22, infra.reverseProxy),
    publicIpName: names.publicIp,
    virtualNetworkName: names.virtualNetwork,
    networkInterfaceName: names.networkInterface,
    functionAppName: azure.functionApp,
    functionPlanName: names.functionPlan,
    functionsPlan: config.deploy?.functions?.plan ?? 'flex-consumption',
    functionStorageName: names.functionStorage,
    functionInstanceMemoryMb: functions.instanceMemoryMb,
    functionMaximumInstanceCount: functions.maximumInstanceCount,
    dataStorageName: names.dataStorage,
    backupContainerName: config.backup?.store === 'blob' ? config.backup.location : '',
    // Only an enabled archive has a container (archive.container); disabled and
    // purge-without-archive keep none, as the seed's deleted `archive` container stays deleted.
    archiveEnabled: config.archive?.mode === 'enabled',
    archiveContainerName: config.archive?.mode === 'enabled' ? config.archive.container : ARCHIVE_CONTAINER,
    logAnalyticsName: names.logAnalytics,
    logRetentionDays: infra.logAnalytics.retentionDays,
    applicationInsightsName: names.applicationInsights,
    iotHubName: infra.iotHub?.name ?? '',
  };
  return {
    env: config.name,
    subscriptionId: azure.subscriptionId,
    location: infra.location,
    resourceGroup: azure.resourceGroup,
    parameters: {
      resourceGroupName: azure.resourceGroup,
      location: infra.location,
      tags: infra.tags,
      budgetName: azure.budgetName,
      budgetAmount: String(config.budget.monthlyUsd),
      budgetStartDate: options.budgetStartDate,
      budgetNotifications: budgetNotifications(infra.budgetAlerts),
      resourceGroupParameters: asDeploymentParameters(resources),
    },
  };
}

/** `{ name: value }` as a deployment's parameters: `{ name: { value } }`. */
export function asDeploymentParameters(values: Record<string, unknown>): Record<string, { value: unknown }> {
  return Object.fromEntries(Object.entries(values).map(([k, value]) => [k, { value }]));
}
