/**
 * Linux Consumption (what the seed runs today; retired by Azure on 2028-09-30): the transport
 * Azure/functions-action uses for it with an RBAC credential (WebsiteRunFromPackageDeploy), our code:
 *
 * 1. `POST {arm}/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/config/appsettings/list?api-version=2016-08-01`
 *    gives the app settings (a StringDictionary: `{ id, name, type, properties: { NAME: value } }`).
 * 2. The zip goes to the app's own storage account (AzureWebJobsStorage), container
 *    `github-actions-deploy`, as a block blob. With a connection string the package URL carries a
 *    read-only SAS (one year, as the action); with `AzureWebJobsStorage__accountName` (identity-based
 *    storage) it is the plain URL, read by the app's managed identity.
 * 3. `PUT .../config/appsettings?api-version=2016-08-01` with the dictionary, WEBSITE_RUN_FROM_PACKAGE
 *    set to that URL and WEBSITE_ENABLE_SYNC_UPDATE_SITE `false` (a Consumption app).
 * 4. After 30 s, `POST .../hostruntime/admin/host/synctriggers?api-version=2015-08-01`: 200 done,
 *    400 retried (5 tries, 2, 6, 14, 30 s apart), anything else fails.
 *
 * The blob is named by the package's hash, so a rollback re-uploads the previous package under its
 * own name; settings values are registered as secrets (masked) as soon as they are read.
 */
import type { TokenCredential } from '@azure/core-auth';
import { BlobSASPermissions, BlobServiceClient } from '@azure/storage-blob';
import { armAppSettings, armError, armSiteCall } from './function-app-settings.js';
import { sha256File } from './functions-releases.js';
import {
  nodeHttpClient,
  type Authorization,
  type FunctionsTransport,
  type HttpClient,
} from './functions-transport-http.js';

export const RUN_FROM_PACKAGE_CONTAINER = 'github-actions-deploy';
export const SYNC_TRIGGERS_API_VERSION = '2015-08-01';

export interface LinuxConsumptionOptions {
  /** Resource Manager; default https://management.azure.com. */
  armUrl?: string;
  subscriptionId: string;
  resourceGroup: string;
  functionApp: string;
  /** Resource Manager bearer token. */
  authorization: Authorization;
  /** For identity-based storage (AzureWebJobsStorage__accountName). */
  credential?: TokenCredential;
  http?: HttpClient;
  /** The app's storage from its settings; default: the connection string, or the account with `credential`. */
  blobService?: (settings: Record<string, string>) => { client: BlobServiceClient; sas: boolean };
  /** Wait before syncing triggers (the action waits 30 s for the settings to reach the app). */
  syncDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Called with each app setting's value: they are secrets (connection strings, keys). */
  mask?: (value: string) => void;
  now?: () => Date;
}

export function linuxConsumptionTransport(options: LinuxConsumptionOptions): FunctionsTransport {
  const arm = (options.armUrl ?? 'https://management.azure.com').replace(/\/+$/, '');
  const http = options.http ?? nodeHttpClient();
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const site = { ...options, armUrl: arm, http };
  const call = armSiteCall(site);
  const appSettings = armAppSettings({ ...site, mask: options.mask });

  return {
    description: `WEBSITE_RUN_FROM_PACKAGE on ${options.functionApp} (Linux Consumption, ${arm})`,
    async deploy(zipPath, log) {
      const dictionary = await appSettings.list();
      const settings = dictionary.properties ?? {};

      const { client, sas } = (options.blobService ?? defaultBlobService(options.credential))(settings);
      const { sha256 } = await sha256File(zipPath);
      const container = client.getContainerClient(RUN_FROM_PACKAGE_CONTAINER);
      const blob = container.getBlockBlobClient(`functionapp-${sha256}.zip`);
      log(
        `uploading the package to ${client.accountName}/${RUN_FROM_PACKAGE_CONTAINER}/functionapp-${sha256}.zip`,
      );
      try {
        await container.createIfNotExists();
        await blob.uploadFile(zipPath, { blobHTTPHeaders: { blobContentType: 'application/zip' } });
      } catch (error) {
        const e = error as { statusCode?: number; code?: string; message?: string };
        throw new Error(
          `uploading the package to the app's storage (${client.accountName}): ${e.statusCode ?? ''} ${e.code ?? (e.message ?? '').split('\n')[0]}`.trim(),
        );
      }
      let packageUrl = blob.url;
      if (sas) {
        const now = options.now?.() ?? new Date();
        packageUrl = await blob.generateSasUrl({
          permissions: BlobSASPermissions.parse('r'),
          startsOn: new Date(now.getTime() - 5 * 60_000),
          expiresOn: new Date(now.getTime() + 365 * 24 * 3600_000),
        });
        options.mask?.(new URL(packageUrl).search.slice(1));
      }

      const properties = {
        ...settings,
        WEBSITE_RUN_FROM_PACKAGE: packageUrl,
        WEBSITE_ENABLE_SYNC_UPDATE_SITE: 'false',
      };
      log('setting WEBSITE_RUN_FROM_PACKAGE');
      await appSettings.put(
        { ...dictionary, properties },
        'updating the app settings (WEBSITE_RUN_FROM_PACKAGE)',
      );

      const delay = options.syncDelayMs ?? 30_000;
      log(`waiting ${Math.round(delay / 1000)} s, then syncing the triggers`);
      await sleep(delay);
      let wait = 2;
      for (let attempt = 1; ; attempt++) {
        const sync = await call('POST', '/hostruntime/admin/host/synctriggers', SYNC_TRIGGERS_API_VERSION);
        if (sync.status === 200) {
          log('triggers synced');
          return;
        }
        if (sync.status !== 400 || attempt >= 5)
          throw armError(
            'syncing the triggers (the package may be malformed: restart the app and check WEBSITE_RUN_FROM_PACKAGE)',
            sync,
          );
        log(`sync triggers answered 400 (attempt ${attempt}/5), again in ${wait} s`);
        await sleep(wait * 1000);
        wait = wait * 2 + 2;
      }
    },
  };
}

function defaultBlobService(credential: TokenCredential | undefined) {
  return (settings: Record<string, string>): { client: BlobServiceClient; sas: boolean } => {
    if (settings.AzureWebJobsStorage) {
      try {
        return { client: BlobServiceClient.fromConnectionString(settings.AzureWebJobsStorage), sas: true };
      } catch {
        throw new Error('the app setting AzureWebJobsStorage is not a storage connection string');
      }
    }
    const account = settings.AzureWebJobsStorage__accountName;
    if (account) {
      if (!credential) throw new Error('identity-based AzureWebJobsStorage needs an Azure credential');
      return {
        client: new BlobServiceClient(`https://${account}.blob.core.windows.net`, credential),
        sas: false,
      };
    }
    throw new Error(
      'the app has neither AzureWebJobsStorage nor AzureWebJobsStorage__accountName: WEBSITE_RUN_FROM_PACKAGE needs its storage account',
    );
  };
}
