/**
 * Backups as block blobs in one container, under a prefix per environment
 * (`production/20260218T031500123Z.dump`). The dump is streamed as staged blocks (at most
 * `concurrency` blocks of `blockSizeBytes` in memory) and committed with its metadata in one call
 * (common/blob-container.ts), so a blob only ever appears complete and described.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import { openBlobContainer } from '../../common/blob-container.js';
import type { Readable } from 'node:stream';
import { decodeMetadata, encodeMetadata } from './metadata.js';
import { assertBackupName, isBackupName, type BackupInfo, type BackupStore } from './store.js';

export interface AzureBlobBackupStoreOptions {
  /** A storage connection string (key or SAS); or pass `serviceClient` (e.g. with DefaultAzureCredential). */
  connectionString?: string;
  serviceClient?: BlobServiceClient;
  containerName: string;
  /** Per environment, e.g. `production/`; a trailing slash is added when missing. */
  prefix?: string;
  /** Create the container when it does not exist (default true). */
  createContainer?: boolean;
  blockSizeBytes?: number;
  concurrency?: number;
}

export function createAzureBlobBackupStore(options: AzureBlobBackupStoreOptions): BackupStore {
  const blobs = openBlobContainer(
    { ...options, container: options.containerName },
    {
      label: 'Azure backup store',
      blockSizeBytes: 8 * 1024 * 1024,
      maxBlockSizeBytes: 4000 * 1024 * 1024,
      concurrency: 4,
    },
  );
  const { container, wrap } = blobs;
  const prefix = !options.prefix ? '' : options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;

  return {
    description: `Azure blob ${blobs.where}/${prefix}`,
    async upload(name, body: Readable, metadata, signal) {
      assertBackupName(name);
      await wrap('create container', blobs.ensureContainer);
      await wrap(`upload of ${prefix + name}`, () =>
        blobs.uploadStaged(
          container.getBlockBlobClient(prefix + name),
          body,
          () => ({
            metadata: encodeMetadata(metadata()),
            blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
          }),
          { signal },
        ),
      );
    },
    async list() {
      return wrap('list', async () => {
        const out: BackupInfo[] = [];
        try {
          for await (const item of container.listBlobsFlat({ prefix, includeMetadata: true })) {
            const name = item.name.slice(prefix.length);
            if (!isBackupName(name)) continue;
            const decoded = decodeMetadata(item.metadata);
            out.push({
              name,
              storedBytes: item.properties.contentLength ?? 0,
              lastModified: item.properties.lastModified,
              metadata: decoded.ok ? decoded.metadata : null,
              ...(decoded.ok ? {} : { metadataProblem: decoded.problem }),
            });
          }
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return [];
          throw error;
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      });
    },
    async download(name, toFile, signal) {
      assertBackupName(name);
      await wrap(`download of ${prefix + name}`, () =>
        container
          .getBlockBlobClient(prefix + name)
          .downloadToFile(toFile, 0, undefined, { abortSignal: signal }),
      );
    },
    async delete(name) {
      assertBackupName(name);
      await wrap(`delete of ${prefix + name}`, () =>
        container.getBlockBlobClient(prefix + name).deleteIfExists(),
      );
    },
  };
}
