/**
 * The Azure SDK clients the ops sources read through, built in one place so every one of them
 * gets the same credential, endpoints, trust and retry settings. Tests point the endpoints at the
 * local HTTPS stand-in and pass its self-signed certificate as `ca` (trusted by these clients'
 * pipelines only, through core-rest-pipeline's `tlsOptions`; nothing global changes).
 */
import { ComputeManagementClient } from '@azure/arm-compute';
import { ConsumptionManagementClient } from '@azure/arm-consumption';
import { MonitorClient } from '@azure/arm-monitor';
import type { TokenCredential } from '@azure/core-auth';
import { LogsQueryClient } from '@azure/monitor-query-logs';

/** The Consumption api-version the cost source asks for (the published examples' version). */
export const CONSUMPTION_API_VERSION = '2024-08-01';

export interface AzureClientsOptions {
  credential: TokenCredential;
  subscriptionId: string;
  /** Resource Manager base URL; default https://management.azure.com. */
  armEndpoint?: string;
  /** Log Analytics query base URL including `/v1`; default https://api.loganalytics.io/v1. */
  logsEndpoint?: string;
  /** PEM certificate(s) to trust instead of the public roots (the tests' stand-in). */
  ca?: string;
  /** Retries per request on throttling and 5xx; default the SDK's (3). */
  maxRetries?: number;
}

export interface AzureClients {
  consumption: ConsumptionManagementClient;
  logs: LogsQueryClient;
  monitor: MonitorClient;
  compute: ComputeManagementClient;
}

export function createAzureClients(options: AzureClientsOptions): AzureClients {
  if (!/^[0-9a-f-]{36}$/i.test(options.subscriptionId))
    throw new Error('azure clients: subscriptionId must be a GUID');
  for (const [name, url] of [
    ['armEndpoint', options.armEndpoint],
    ['logsEndpoint', options.logsEndpoint],
  ] as const)
    if (url !== undefined && !url.startsWith('https://'))
      throw new Error(`azure clients: ${name} must be an https:// URL`);
  const pipeline = {
    ...(options.ca ? { tlsOptions: { ca: options.ca } } : {}),
    ...(options.maxRetries !== undefined ? { retryOptions: { maxRetries: options.maxRetries } } : {}),
  };
  const arm = options.armEndpoint ? { endpoint: options.armEndpoint } : {};
  return {
    consumption: new ConsumptionManagementClient(options.credential, options.subscriptionId, {
      ...pipeline,
      ...arm,
      apiVersion: CONSUMPTION_API_VERSION,
      // The token audience stays ARM's even when the endpoint is elsewhere (the stand-in).
      credentialScopes: ['https://management.azure.com/.default'],
    }),
    logs: new LogsQueryClient(options.credential, {
      ...pipeline,
      ...(options.logsEndpoint ? { endpoint: options.logsEndpoint } : {}),
    }),
    monitor: new MonitorClient(options.credential, options.subscriptionId, { ...pipeline, ...arm }),
    compute: new ComputeManagementClient(options.credential, options.subscriptionId, { ...pipeline, ...arm }),
  };
}
