/**
 * The archive container in Azure Blob Storage (Azurite in tests): objects named and described as
 * common/telemetry-archive.ts says. An upload is streamed as staged blocks (at most `concurrency`
 * blocks of `blockSizeBytes` in memory) and committed together with its manifest in one call, so an
 * object only ever appears complete and described; a run killed before the commit leaves uncommitted
 * blocks, which Azure discards, and the object as it was.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { Readable } from 'node:stream';
import {
  decodeManifest,
  encodeManifest,
  type ArchiveManifest,
  type DecodedManifest,
} from './telemetry-archive.js';

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

export function createArchiveStore(options: ArchiveStoreOptions): ArchiveStore {
  if (!options.connectionString === !options.serviceClient)
    throw new Error('archive store: give exactly one of connectionString and serviceClient');
  if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(options.container ?? ''))
    throw new Error(
      `archive store: container name ${JSON.stringify(options.container)} is invalid (3-63 lowercase letters, digits, single hyphens)`,
    );
  const blockSize = options.blockSizeBytes ?? 4 * 1024 * 1024;
  const concurrency = options.concurrency ?? 2;
  if (!(blockSize >= 1024 && blockSize <= 100 * 1024 * 1024))
    throw new Error('archive store: blockSizeBytes must be between 1 KiB and 100 MiB');
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new Error('archive store: concurrency must be a positive integer');

  let service: BlobServiceClient;
  try {
    service = options.serviceClient ?? BlobServiceClient.fromConnectionString(options.connectionString!);
  } catch {
    // The SDK's message may quote the connection string.
    throw new Error('archive store: the storage connection string is malformed');
  }
  const secrets = secretsOf(options.connectionString);
  const container: ContainerClient = service.getContainerClient(options.container);
  const description = `Azure blob ${service.accountName}/${options.container}`;
  let ensured: Promise<unknown> | null = null;
  const ensureContainer = () =>
    options.createContainer === false ? Promise.resolve() : (ensured ??= container.createIfNotExists());

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ArchiveObjectMissingError) throw error;
      const e = error as { message?: string; statusCode?: number; code?: string };
      const detail = scrub(
        `${e.code ?? ''} ${e.statusCode ?? ''} ${(e.message ?? String(error)).split('\n')[0]}`.trim(),
        secrets,
      );
      throw new Error(`Azure blob ${what} failed (${service.accountName}/${options.container}): ${detail}`);
    }
  };

  return {
    description,
    async upload(name, body, manifest) {
      await wrap('create container', ensureContainer);
      const blob = container.getBlockBlobClient(name);
      const ids: string[] = [];
      const inflight = new Set<Promise<void>>();
      const stage = async (chunk: Buffer) => {
        const id = Buffer.from(`block-${String(ids.length).padStart(8, '0')}`).toString('base64');
        ids.push(id);
        const p: Promise<void> = blob.stageBlock(id, chunk, chunk.length).then(() => {
          inflight.delete(p);
        });
        p.catch(() => undefined); // observed through Promise.race / allSettled below
        inflight.add(p);
        if (inflight.size >= concurrency) await Promise.race(inflight);
      };
      await wrap(`upload of ${name}`, async () => {
        try {
          let pending: Buffer[] = [];
          let pendingBytes = 0;
          for await (const data of body) {
            const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data);
            pending.push(chunk);
            pendingBytes += chunk.length;
            while (pendingBytes >= blockSize) {
              const all = Buffer.concat(pending, pendingBytes);
              await stage(all.subarray(0, blockSize));
              const rest = all.subarray(blockSize);
              pending = rest.length ? [rest] : [];
              pendingBytes = rest.length;
            }
          }
          if (pendingBytes > 0 || ids.length === 0) await stage(Buffer.concat(pending, pendingBytes));
          await Promise.all(inflight);
        } catch (error) {
          await Promise.allSettled(inflight);
          throw error;
        }
        await blob.commitBlockList(ids, {
          metadata: encodeManifest(manifest()),
          blobHTTPHeaders: { blobContentType: 'application/gzip' },
        });
      });
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

function secretsOf(connectionString: string | undefined): string[] {
  if (!connectionString) return [];
  const out: string[] = [];
  for (const part of connectionString.split(';')) {
    const [key, ...rest] = part.split('=');
    const value = rest.join('=');
    if (/^(AccountKey|SharedAccessSignature)$/i.test(key ?? '') && value) out.push(value);
  }
  return out;
}

function scrub(text: string, secrets: string[]): string {
  let out = text.replace(/([?&]sig=)[^&\s]+/gi, '$1***');
  for (const s of secrets) out = out.split(s).join('***');
  return out;
}
