/**
 * Preflight item "azure login": a Resource Manager token from the credentials the ops commands
 * sign in with, and which one answered. In GitHub Actions `azure/login` (OIDC) leaves an Azure CLI
 * session, so AzureCliCredential answers; a federated token (AZURE_FEDERATED_TOKEN_FILE) or a
 * service principal in AZURE_* variables answer first when they are set; on a laptop it is the
 * developer's `az login`. The chain is tried here one credential at a time, in
 * DefaultAzureCredential's order (ops/sources/azure-credential.ts), so the item can say which one
 * answered and why each other did not. A managed identity is not tried: the ops commands run in
 * Actions or on a laptop, where there is none, and probing for one costs seconds.
 */
import type { TokenCredential } from '@azure/core-auth';
import { AzureCliCredential, EnvironmentCredential, WorkloadIdentityCredential } from '@azure/identity';
import { ARM_SCOPE } from '../deploy/functions-transport-http.js';
import type { PreflightItem } from './items.js';

export interface NamedCredential {
  name: string;
  credential: TokenCredential;
}

/** What a credential means, for the line that says it answered. */
const ANSWERED: Record<string, string> = {
  EnvironmentCredential:
    "a service principal's secret or certificate in AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_CLIENT_*",
  WorkloadIdentityCredential: 'a federated token (AZURE_FEDERATED_TOKEN_FILE)',
  AzureCliCredential: "the Azure CLI's session: azure/login in GitHub Actions, `az login` on a laptop",
};

/** Why a credential that is simply not set up did not answer (its own messages run to paragraphs). */
const NOT_SET_UP: Record<string, string> = {
  EnvironmentCredential: 'not set up (no AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH)',
  WorkloadIdentityCredential: 'not set up (no AZURE_FEDERATED_TOKEN_FILE)',
};

/** The credentials the ops commands sign in with, in DefaultAzureCredential's order. */
export function defaultCredentialChain(): NamedCredential[] {
  return [
    { name: 'EnvironmentCredential', credential: lazy(() => new EnvironmentCredential()) },
    { name: 'WorkloadIdentityCredential', credential: lazy(() => new WorkloadIdentityCredential()) },
    { name: 'AzureCliCredential', credential: new AzureCliCredential({ processTimeoutInMs: 30_000 }) },
  ];
}

export type SignIn =
  | { ok: true; name: string; credential: TokenCredential; item: PreflightItem }
  | { ok: false; item: PreflightItem };

/**
 * Tries `chain` in order for a Resource Manager token. As in ChainedTokenCredential, a credential
 * that is not available passes to the next; one that is set up and fails (a wrong secret) stops
 * the chain, since the commands would stop there too.
 */
export async function signIn(
  chain: readonly NamedCredential[],
  context: { inActions: boolean },
): Promise<SignIn> {
  const reasons: string[] = [];
  for (const { name, credential } of chain) {
    try {
      const token = await credential.getToken(ARM_SCOPE);
      if (!token?.token) throw new Error('returned no token');
      const item: PreflightItem = {
        item: 'azure login',
        status: 'ok',
        detail: `${name} answered${ANSWERED[name] ? ` (${ANSWERED[name]})` : ''}`,
      };
      return { ok: true, name, credential, item };
    } catch (error) {
      const unavailable = ['CredentialUnavailableError', 'AuthenticationRequiredError'].includes(
        (error as Error).name,
      );
      if (!unavailable)
        return { ok: false, item: failed(`${name} is set up but failed (${firstLine(error)})`, context) };
      reasons.push(`${name}: ${NOT_SET_UP[name] ?? firstLine(error)}`);
    }
  }
  return { ok: false, item: failed(`no credential answered (${reasons.join('; ')})`, context) };
}

function failed(what: string, context: { inActions: boolean }): PreflightItem {
  const todo = context.inActions
    ? 'check the azure/login step that runs before this one: its client-id, tenant-id and ' +
      "subscription-id (vars AZURE_CLIENT_ID, AZURE_TENANT_ID, AZURE_SUBSCRIPTION_ID), the job's " +
      "`permissions: id-token: write`, and the identity's federated credential for this environment (docs/adopt.md)"
    : 'run `az login` (install the Azure CLI first if it is missing: https://aka.ms/azure-cli), then run this again';
  return { item: 'azure login', status: 'fail', detail: `${what}: ${todo}` };
}

/** The first sentence of an identity error: enough to tell the cause, without its troubleshooting links. */
function firstLine(error: unknown): string {
  const line = String((error as Error)?.message ?? error)
    .split('\n')[0]!
    .trim();
  return line.replace(/\s*(To troubleshoot|See the troubleshooting guide|For more information).*$/i, '');
}

/** A credential built on first use: WorkloadIdentityCredential's constructor throws when it is not set up. */
function lazy(make: () => TokenCredential): TokenCredential {
  let built: TokenCredential | undefined;
  return {
    getToken: (scopes, options) => {
      built ??= make();
      return built.getToken(scopes, options);
    },
  };
}
