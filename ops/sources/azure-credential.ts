/**
 * The production Azure credential. In the ops workflows `azure/login` signs in with OIDC (no
 * stored secret) and DefaultAzureCredential picks that session up through the Azure CLI, or a
 * federated token through AZURE_CLIENT_ID / AZURE_TENANT_ID / AZURE_FEDERATED_TOKEN_FILE; on a
 * laptop it is the developer's `az login`; in the Functions app, its managed identity.
 */
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';

export interface AzureCredentialOptions {
  /** Entra tenant to sign in to; default the one of the signed-in session. */
  tenantId?: string;
  /** A user-assigned managed identity (Functions app); default the system-assigned one. */
  managedIdentityClientId?: string;
}

export function createAzureCredential(options: AzureCredentialOptions = {}): TokenCredential {
  for (const [name, value] of Object.entries(options))
    if (value !== undefined && !/^[0-9a-f-]{36}$/i.test(value))
      throw new Error(`azure credential: ${name} must be a GUID`);
  return new DefaultAzureCredential({
    ...(options.tenantId ? { tenantId: options.tenantId } : {}),
    ...(options.managedIdentityClientId ? { managedIdentityClientId: options.managedIdentityClientId } : {}),
  });
}
