/**
 * The preflight's Azure items, "azure login" then "subscription", for an environment's `azure`
 * section: skipped with the reason in the sandbox and where there is no such section. The same
 * check is the deploy's preflight probe for the functions stage (ops/deploy/preflight-stage.ts),
 * so "can we reach Azure as the environment's identity" is answered in one place.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import { defaultCredentialChain, signIn, type NamedCredential } from './azure-login.js';
import type { PreflightItem } from './items.js';
import { checkSubscription } from './subscription.js';

/**
 * Resource Manager's base URL for the ops commands, when it is not Azure's own: tests point it at
 * the HTTPS stand-in (trusted through NODE_EXTRA_CA_CERTS when the command runs as a process).
 */
export const ARM_URL_VARIABLE = 'OPS_AZURE_ARM_URL';

export interface AzureAccessOptions {
  /** The credentials tried in order; default the ones the ops commands use (azure-login.ts). */
  credentials?: NamedCredential[];
  /** Resource Manager; default OPS_AZURE_ARM_URL of the environment, else https://management.azure.com. */
  armUrl?: string;
  /** PEM certificate(s) Resource Manager is trusted with instead of the public roots (tests). */
  ca?: string;
  timeoutMs?: number;
}

/** OPS_AZURE_ARM_URL, checked: the SDK sends bearer tokens over https only. */
export function armUrlFrom(env: Record<string, string | undefined>): string | undefined {
  const url = env[ARM_URL_VARIABLE];
  if (!url) return undefined;
  if (!/^https:\/\/[^\s/]+/.test(url))
    throw new Error(`${ARM_URL_VARIABLE} must be an https:// URL (got ${JSON.stringify(url)})`);
  return url.replace(/\/+$/, '');
}

/**
 * The two Azure items for `config`. `source` names the YAML file in messages; `env` is the process
 * environment (OPS_AZURE_ARM_URL, GITHUB_ACTIONS for the advice a failed sign-in gets).
 */
export async function azureAccessItems(
  config: EnvironmentConfig,
  env: Record<string, string | undefined>,
  source: string,
  options: AzureAccessOptions = {},
): Promise<PreflightItem[]> {
  const skip = (detail: string): PreflightItem[] => [
    { item: 'azure login', status: 'skip', detail },
    { item: 'subscription', status: 'skip', detail },
  ];
  if (config.sandbox) return skip('the sandbox runs no Azure (its functions and broker run on this machine)');
  const azure = config.azure;
  if (!azure)
    return skip(
      `environment ${config.name} has no azure section in ${source}: nothing to sign in to (docs/adopt.md)`,
    );
  const login = await signIn(options.credentials ?? defaultCredentialChain(), {
    inActions: env.GITHUB_ACTIONS === 'true',
  });
  if (!login.ok)
    return [
      login.item,
      { item: 'subscription', status: 'skip', detail: `${azure.subscriptionId} not read: no Azure sign-in` },
    ];
  let armUrl: string | undefined;
  try {
    armUrl = options.armUrl ?? armUrlFrom(env);
  } catch (error) {
    return [login.item, { item: 'subscription', status: 'fail', detail: (error as Error).message }];
  }
  const subscription = await checkSubscription({
    credential: login.credential,
    subscriptionId: azure.subscriptionId,
    source,
    armUrl,
    ca: options.ca,
    timeoutMs: options.timeoutMs,
  });
  return [login.item, subscription];
}

/**
 * The deploy preflight's probe (ops/deploy/preflight-stage.ts `PreflightProbes.azure`): resolves
 * with who signed in and the subscription's state, rejects with the failing item's line.
 */
export function azurePreflightProbe(
  options: AzureAccessOptions = {},
): (target: OpsTarget, timeoutMs: number) => Promise<string> {
  return async (target, timeoutMs) => {
    const items = await azureAccessItems(
      target.config,
      target.env,
      `runbook/environments/${target.name}.yaml`,
      {
        timeoutMs,
        ...options,
      },
    );
    const failed = items.find((i) => i.status === 'fail');
    if (failed) throw new Error(`${failed.item}: ${failed.detail}`);
    return items
      .filter((i) => i.status !== 'skip')
      .map((i) => i.detail)
      .join('; ');
  };
}
