/**
 * The subscription-scope deployment of infra/main.json through the real Azure SDK
 * (@azure/arm-resourcesdeployments): what-if, or apply and wait, always in Incremental mode (never
 * Complete, which deletes whatever the template omits: the seed's live resources are adopted by
 * name, not replaced). Both are long-running operations the SDK polls (what-if: 202 and Location;
 * apply: 201 and Azure-AsyncOperation). A failed deployment is read back for its error and details,
 * which the poller's own message drops.
 */
import {
  DeploymentsClient,
  type DeploymentExtended,
  type ErrorResponse,
  type WhatIfOperationResult,
} from '@azure/arm-resourcesdeployments';
import type { ConsumptionManagementClient } from '@azure/arm-consumption';
import type { TokenCredential } from '@azure/core-auth';
import { asDeploymentParameters } from './parameters.js';
import type { ArmTemplate } from './templates.js';

/** The api-version of every deployments call (the published examples' version). */
export const DEPLOYMENTS_API_VERSION = '2025-04-01';

/** Never anything else: Complete mode deletes what the template does not name. */
export const DEPLOYMENT_MODE = 'Incremental' as const;

export interface ArmConnection {
  credential: TokenCredential;
  subscriptionId: string;
  /** Resource Manager's base URL; default https://management.azure.com. */
  armUrl?: string;
  /** PEM certificate(s) to trust instead of the public roots (the tests' stand-in). */
  ca?: string;
}

export function createDeploymentsClient(c: ArmConnection): DeploymentsClient {
  if (!/^[0-9a-f-]{36}$/i.test(c.subscriptionId)) throw new Error('provision: subscriptionId must be a GUID');
  if (c.armUrl !== undefined && !c.armUrl.startsWith('https://'))
    throw new Error('provision: the Resource Manager URL must be https://');
  return new DeploymentsClient(c.credential, c.subscriptionId, {
    apiVersion: DEPLOYMENTS_API_VERSION,
    ...(c.armUrl ? { endpoint: c.armUrl } : {}),
    ...(c.ca ? { tlsOptions: { ca: c.ca } } : {}),
    // The token's audience stays Resource Manager's wherever the endpoint is (the stand-in).
    credentials: { scopes: ['https://management.azure.com/.default'] },
  });
}

/** `ops-provision-<env>-<UTC timestamp>`: one entry per run in the subscription's deployment history. */
export function deploymentName(env: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `ops-provision-${env}-${stamp}`;
}

export interface DeploymentRequest {
  name: string;
  location: string;
  template: ArmTemplate;
  /** The template's parameter values, by name. */
  parameters: Record<string, unknown>;
}

export interface PollOptions {
  /** Milliseconds between polls when the service sends no Retry-After; default the SDK's (2 s). */
  pollIntervalMs?: number;
  abortSignal?: AbortSignal;
}

/** A deployment or what-if that Azure refused or that failed, with the service's error tree. */
export class DeploymentError extends Error {
  constructor(
    message: string,
    readonly details: string[],
  ) {
    super(message);
  }
}

/** What-if, read-only. Validation checks read rights only (ProviderNoRbac), so a Reader-level identity may run it. */
export async function whatIf(
  client: DeploymentsClient,
  request: DeploymentRequest,
  options: PollOptions = {},
): Promise<WhatIfOperationResult> {
  let result: WhatIfOperationResult;
  const refusal = refusalCatcher();
  try {
    result = await client.deployments.beginWhatIfAtSubscriptionScopeAndWait(
      request.name,
      {
        location: request.location,
        properties: {
          mode: DEPLOYMENT_MODE,
          template: request.template,
          parameters: asDeploymentParameters(request.parameters),
          validationLevel: 'ProviderNoRbac',
          whatIfSettings: { resultFormat: 'FullResourcePayloads' },
        },
      },
      { ...pollOptions(options), onResponse: refusal.onResponse },
    );
  } catch (error) {
    throw asDeploymentError('what-if was refused', error, refusal.body());
  }
  if (result.status && !/^succeeded$/i.test(result.status))
    throw new DeploymentError(
      `what-if ${result.status}`,
      result.error ? formatArmError(result.error) : ['(no error details)'],
    );
  return result;
}

export interface AppliedDeployment {
  name: string;
  provisioningState: string;
  duration?: string;
  /** The template's outputs, by name. */
  outputs: Record<string, unknown>;
  resources: number;
}

/**
 * Applies the deployment and waits: progress on every state change and every `heartbeatMs` while
 * it runs. A failure is read back (Deployments_GetAtSubscriptionScope) for its error details.
 */
export async function apply(
  client: DeploymentsClient,
  request: DeploymentRequest,
  options: PollOptions & { log?: (line: string) => void; heartbeatMs?: number; now?: () => number } = {},
): Promise<AppliedDeployment> {
  const log = options.log ?? (() => {});
  const now = options.now ?? Date.now;
  const started = now();
  const elapsed = () => `${Math.round((now() - started) / 1000)} s`;
  let deployment: DeploymentExtended;
  let heartbeat: NodeJS.Timeout | undefined;
  const refusal = refusalCatcher();
  try {
    const poller = await client.deployments.beginCreateOrUpdateAtSubscriptionScope(
      request.name,
      {
        location: request.location,
        properties: {
          mode: DEPLOYMENT_MODE,
          template: request.template,
          parameters: asDeploymentParameters(request.parameters),
        },
      },
      { ...pollOptions(options), onResponse: refusal.onResponse },
    );
    log(`deployment ${request.name} accepted: ${poller.getOperationState().status}`);
    let last = poller.getOperationState().status as string;
    poller.onProgress((state) => {
      if (state.status !== last)
        log(`deployment ${request.name}: ${(last = state.status)} after ${elapsed()}`);
    });
    heartbeat = setInterval(
      () => log(`deployment ${request.name}: still ${last} after ${elapsed()}`),
      options.heartbeatMs ?? 30_000,
    );
    heartbeat.unref();
    deployment = await poller.pollUntilDone({ abortSignal: options.abortSignal });
  } catch (error) {
    throw await failedDeployment(client, request.name, error, refusal.body());
  } finally {
    clearInterval(heartbeat);
  }
  const state = deployment.properties?.provisioningState ?? 'unknown';
  if (state !== 'Succeeded')
    throw new DeploymentError(
      `deployment ${request.name} ended ${state}`,
      deployment.properties?.error ? formatArmError(deployment.properties.error) : [],
    );
  const outputs = (deployment.properties?.outputs ?? {}) as Record<string, { value?: unknown }>;
  return {
    name: request.name,
    provisioningState: state,
    duration: deployment.properties?.duration,
    outputs: Object.fromEntries(Object.entries(outputs).map(([k, v]) => [k, v?.value])),
    resources: deployment.properties?.outputResources?.length ?? 0,
  };
}

/** The error of a deployment that failed: the deployment's own (with details) when it can be read. */
async function failedDeployment(
  client: DeploymentsClient,
  name: string,
  error: unknown,
  refusedBody: unknown,
): Promise<DeploymentError> {
  const refused = asDeploymentError(`deployment ${name} failed`, error, refusedBody);
  // Refused before it started (a 4xx on the PUT): there is no deployment to read.
  if ((error as { statusCode?: number }).statusCode !== undefined) return refused;
  try {
    const deployment = await client.deployments.getAtSubscriptionScope(name);
    const e = deployment.properties?.error;
    if (e)
      return new DeploymentError(
        `deployment ${name} ${deployment.properties?.provisioningState ?? 'failed'}`,
        formatArmError(e),
      );
  } catch {
    // The poller's message is what there is.
  }
  return refused;
}

/**
 * The body of the first response that refused the request: the SDK's error for a refused
 * long-running request keeps only the message, the body has the details.
 */
function refusalCatcher() {
  let refused: unknown;
  return {
    onResponse: (response: { status: number; parsedBody?: unknown }) => {
      if (response.status >= 400 && refused === undefined) refused = response.parsedBody;
    },
    body: () => refused,
  };
}

function asDeploymentError(what: string, error: unknown, refusedBody?: unknown): DeploymentError {
  const e = error as { message?: string; statusCode?: number; details?: { error?: ErrorResponse } };
  const cloud = e.details?.error ?? (refusedBody as { error?: ErrorResponse } | undefined)?.error;
  return new DeploymentError(
    `${what}${e.statusCode ? ` (HTTP ${e.statusCode})` : ''}`,
    cloud ? formatArmError(cloud) : [String(e.message ?? error)],
  );
}

/** An ARM error and its details, one line each, indented by depth. */
export function formatArmError(error: ErrorResponse, depth = 0): string[] {
  const pad = '  '.repeat(depth);
  const target = error.target ? ` (${error.target})` : '';
  const lines = [`${pad}${error.code ?? 'Error'}${target}: ${error.message ?? ''}`.trimEnd()];
  for (const detail of error.details ?? []) lines.push(...formatArmError(detail, depth + 1));
  return lines;
}

function pollOptions(options: PollOptions) {
  return {
    ...(options.pollIntervalMs !== undefined ? { updateIntervalInMs: options.pollIntervalMs } : {}),
    ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
  };
}

/**
 * The start date of the budget `name` if it exists (YYYY-MM-DD), else undefined: an existing
 * budget keeps its start, which Azure does not let a later update move.
 */
export async function existingBudgetStart(
  consumption: ConsumptionManagementClient,
  subscriptionId: string,
  name: string,
): Promise<string | undefined> {
  try {
    const budget = await consumption.budgets.get(`subscriptions/${subscriptionId}`, name);
    const start = budget.timePeriod?.startDate;
    return start ? new Date(start).toISOString().slice(0, 10) : undefined;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    if (isSignInError(error)) throw error;
    throw new Error(`reading the budget ${name}: ${(error as Error).message}`);
  }
}

/** No credential could sign in (@azure/identity's errors), as opposed to Azure refusing a call. */
export function isSignInError(error: unknown): boolean {
  const name = (error as Error)?.name ?? '';
  return ['CredentialUnavailableError', 'AggregateAuthenticationError', 'AuthenticationError'].includes(name);
}
