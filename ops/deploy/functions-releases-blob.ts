/**
 * The functions release store in Azure Blob storage, for environments deployed from CI: a fresh
 * runner has no local state, so the previous package a rollback needs must live with the
 * environment. Blobs `<prefix><sha256>.zip` and `<prefix>releases.json` in one container (by
 * default `functions-releases` in the backup storage account, next to, not inside, the backups).
 */
import type { BlobServiceClient, ContainerClient } from '@azure/storage-blob';
import { releaseStoreOver, type FunctionsReleaseStore } from './functions-releases.js';

export const FUNCTIONS_RELEASES_CONTAINER = 'functions-releases';

export interface BlobFunctionsReleaseStoreOptions {
  serviceClient: BlobServiceClient;
  containerName?: string;
  /** Per environment, e.g. `prod/`. */
  prefix?: string;
  keep?: number;
  now?: () => Date;
}

export function blobFunctionsReleaseStore(options: BlobFunctionsReleaseStoreOptions): FunctionsReleaseStore {
  const containerName = options.containerName ?? FUNCTIONS_RELEASES_CONTAINER;
  const prefix = !options.prefix ? '' : options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
  const container: ContainerClient = options.serviceClient.getContainerClient(containerName);
  let ensured: Promise<unknown> | null = null;
  const ensure = () => (ensured ??= container.createIfNotExists());
  const index = container.getBlockBlobClient(`${prefix}releases.json`);
  const zip = (sha256: string) => container.getBlockBlobClient(`${prefix}${sha256}.zip`);
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const e = error as { statusCode?: number; code?: string; message?: string };
      throw new Error(
        `Azure blob ${what} (${options.serviceClient.accountName}/${containerName}/${prefix}): ` +
          `${e.statusCode ?? ''} ${e.code ?? (e.message ?? String(error)).split('\n')[0]}`.trim(),
      );
    }
  };
  return releaseStoreOver(
    {
      description: `Azure blob ${options.serviceClient.accountName}/${containerName}/${prefix}`,
      readIndex: () =>
        wrap('read of releases.json', async () => {
          await ensure();
          if (!(await index.exists())) return null;
          return (await index.downloadToBuffer()).toString('utf8');
        }),
      writeIndex: (text) =>
        wrap('write of releases.json', async () => {
          await index.upload(text, Buffer.byteLength(text), {
            blobHTTPHeaders: { blobContentType: 'application/json' },
          });
        }),
      putZip: (sha256, path) =>
        wrap(`upload of ${sha256}.zip`, async () => {
          await ensure();
          await zip(sha256).uploadFile(path, { blobHTTPHeaders: { blobContentType: 'application/zip' } });
        }),
      getZip: (sha256, toFile) =>
        wrap(`download of ${sha256}.zip`, async () => void (await zip(sha256).downloadToFile(toFile))),
      listZips: () =>
        wrap('listing', async () => {
          const found: string[] = [];
          for await (const blob of container.listBlobsFlat({ prefix }))
            if (/^[0-9a-f]{64}\.zip$/.test(blob.name.slice(prefix.length)))
              found.push(blob.name.slice(prefix.length, -4));
          return found;
        }),
      deleteZip: (sha256) =>
        wrap(`delete of ${sha256}.zip`, async () => void (await zip(sha256).deleteIfExists())),
    },
    options,
  );
}
