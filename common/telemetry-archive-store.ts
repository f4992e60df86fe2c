/**
 * The archive container in Azure Blob Storage (Azurite in tests): objects named and described as
 * common/telemetry-archive.ts says. An upload is streamed as staged blocks and committed together
 * with its manifest in one call (common/blob-container.ts), so an object only ever appears complete
 * and described; a run killed before the commit leaves the object as it was.
 */
import type { BlobServiceClient } from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import {
  decodeManifest,
  encodeManifest,
  type ArchiveManifest,
  type DecodedManifest,
} from './telemetry-archive.js';
import { openBlobContainer } from './blob-container.js';

export interface ArchiveStoreOptions {
  /** A storage connection string (key or SAS); or `serviceClient` (e.g. a managed identity). */
  connectionString?: string;
  serviceClient?: BlobServiceClient;
  container: string;
  /** Create the container on the first upload when it does not exist (default true). */
  createContainer?: boolean;
  blockSizeBytes?: number;
  concurrency?: number;
}

export interface ArchiveObjectInfo {
  name: string;
  storedBytes: number;
  manifest: DecodedManifest;
}

export interface ArchiveStore {
  /** `Azure blob <account>/<container>`: for messages, never with a key. */
  description: string;
  /** Stores `body` as `name`, replacing any object of that name, with `manifest()` (called at the end). */
  upload(name: string, body: AsyncIterable<Uint8Array>, manifest: () => ArchiveManifest): Promise<void>;
  /** The object's bytes and manifest; ArchiveObjectMissingError when there is no such object. */
  open(name: string): Promise<{ manifest: DecodedManifest; body: Readable }>;
  /** The objects whose names start with `prefix`, in name order. */
  list(prefix: string): Promise<ArchiveObjectInfo[]>;
}

export class ArchiveObjectMissingError extends Error {
  constructor(
    readonly objectName: string,
    where: string,
  ) {
    super(`archive object ${objectName} is missing from ${where}`);
  }
}

/** The archive's block size unless told otherwise: a 1,000,000-row day of four tenants is 16 blocks each. */
export const ARCHIVE_BLOCK_BYTES = 1024 * 1024;

export function createArchiveStore(options: ArchiveStoreOptions): ArchiveStore {
  const blobs = openBlobContainer(options, {
    label: 'archive store',
    // 1 MiB: a day's scan uploads up to four objects at once (run-archive.ts), each holding about
    // three blocks (one filling, two being staged); 4 MiB blocks took the process past 150 MB.
    blockSizeBytes: ARCHIVE_BLOCK_BYTES,
    maxBlockSizeBytes: 100 * 1024 * 1024,
    concurrency: 2,
  });
  const { container } = blobs;
  const description = `Azure blob ${blobs.where}`;
  const keep = (error: unknown) => error instanceof ArchiveObjectMissingError;
  const wrap = <T>(what: string, fn: () => Promise<T>) => blobs.wrap(what, fn, keep);

  return {
    description,
    async upload(name, body, manifest) {
      await wrap('create container', blobs.ensureContainer);
      await wrap(`upload of ${name}`, () =>
        blobs.uploadStaged(
          container.getBlockBlobClient(name),
          body,
          () => ({
            metadata: encodeManifest(manifest()),
            blobHTTPHeaders: { blobContentType: 'application/gzip' },
          }),
          { emptyBlock: true },
        ),
      );
    },
    async open(name) {
      return wrap(`download of ${name}`, async () => {
        try {
          const res = await container.getBlockBlobClient(name).download();
          if (!res.readableStreamBody) throw new Error('no body in the response');
          return {
            manifest: decodeManifest(res.metadata),
            body: res.readableStreamBody as Readable,
          };
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404)
            throw new ArchiveObjectMissingError(name, description);
          throw error;
        }
      });
    },
    async list(prefix) {
      return wrap('list', async () => {
        const out: ArchiveObjectInfo[] = [];
        try {
          for await (const item of container.listBlobsFlat({ prefix, includeMetadata: true })) {
            out.push({
              name: item.name,
              storedBytes: item.properties.contentLength ?? 0,
              manifest: decodeManifest(item.metadata),
            });
          }
        } catch (error) {
          if ((error as { statusCode?: number }).statusCode === 404) return [];
          throw error;
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      });
    },
  };
}
