/**
 * Preflight item "subscription": the subscription the environment names (azure.subscriptionId) is
 * visible to the signed-in identity and active, read with Resource Manager's Subscriptions_Get
 * (@azure/arm-resources-subscriptions). Its display name is printed so a reader sees at once
 * whether it is the one they meant.
 */
import type { TokenCredential } from '@azure/core-auth';
import { SubscriptionClient, type SubscriptionState } from '@azure/arm-resources-subscriptions';
import type { PreflightItem } from './items.js';

export interface SubscriptionCheckOptions {
  credential: TokenCredential;
  subscriptionId: string;
  /** Where the id comes from, for the messages: `runbook/environments/prod.yaml`. */
  source: string;
  /** Resource Manager; default https://management.azure.com. */
  armUrl?: string;
  /** PEM certificate(s) to trust instead of the public roots (the tests' stand-in). */
  ca?: string;
  timeoutMs?: number;
}

/** What each state means for the environment, and what to do (Subscription.state, 2022-12-01). */
const STATES: Record<SubscriptionState, { status: PreflightItem['status']; todo: string }> = {
  Enabled: { status: 'ok', todo: '' },
  Warned: {
    status: 'warn',
    todo: 'Azure warns before disabling it (a payment or spending-limit problem); resources still run: settle it in the Azure portal, Cost Management + Billing',
  },
  PastDue: {
    status: 'warn',
    todo: 'a payment is past due; resources still run until Azure disables it: pay the outstanding balance in the Azure portal, Cost Management + Billing',
  },
  Disabled: {
    status: 'fail',
    todo: 'its resources are stopped and nothing can be created or changed: reactivate it in the Azure portal (Subscriptions, Reactivate; or remove the spending limit)',
  },
  Deleted: {
    status: 'fail',
    todo: 'it no longer exists: set azure.subscriptionId to the live subscription',
  },
};

export async function checkSubscription(options: SubscriptionCheckOptions): Promise<PreflightItem> {
  const { subscriptionId: id, source } = options;
  const client = new SubscriptionClient(options.credential, {
    ...(options.armUrl ? { endpoint: options.armUrl } : {}),
    ...(options.ca ? { tlsOptions: { ca: options.ca } } : {}),
    // One retry: a preflight should answer in seconds, and a 404 is not retried anyway.
    retryOptions: { maxRetries: 1 },
  });
  const item = (status: PreflightItem['status'], detail: string): PreflightItem => ({
    item: 'subscription',
    status,
    detail,
  });
  try {
    const sub = await client.subscriptions.get(id, {
      abortSignal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const named = `"${sub.displayName ?? '(no display name)'}" (${id})`;
    const meaning = sub.state ? STATES[sub.state] : undefined;
    if (!meaning)
      return item('fail', `${named} is in state ${sub.state ?? 'unknown'}: check it in the Azure portal`);
    if (meaning.status === 'ok') return item('ok', `${named} is Enabled`);
    return item(meaning.status, `${named} is ${sub.state}: ${meaning.todo}`);
  } catch (error) {
    return item('fail', failure(error, id, source, options.armUrl));
  }
}

/** ARM's answer in a line: status, its error code and message (CloudError), and what to do. */
function failure(
  error: unknown,
  id: string,
  source: string,
  armUrl = 'https://management.azure.com',
): string {
  const e = error as { statusCode?: number; code?: string; message?: string; name?: string };
  const said = `ARM ${e.statusCode ?? ''} ${e.code ?? ''}: ${e.message ?? String(error)}`.replace(
    /\s+/g,
    ' ',
  );
  switch (e.statusCode) {
    case 404:
      return (
        `${id} not found, or the signed-in identity has no role on it (${said}): check azure.subscriptionId ` +
        `in ${source} (\`az account list -o table\`) and give the identity a role on the subscription (docs/adopt.md)`
      );
    case 401:
      return `Resource Manager refused the token (${said}): sign in again (\`az login\`, or the azure/login step in Actions)`;
    case 403:
      return `the signed-in identity may not read subscription ${id} (${said}): give it Reader or more on it (docs/adopt.md)`;
    default:
      if (e.statusCode) return `reading subscription ${id} failed (${said})`;
      return `Resource Manager at ${armUrl} did not answer (${e.name === 'AbortError' ? 'timed out' : (e.message ?? String(error))})`;
  }
}
