/**
 * Backups as block blobs in one container, under a prefix per environment
 * (`production/20260218T031500123Z.dump`). The dump is streamed as staged blocks (at most
 * `concurrency` blocks of `blockSizeBytes` in memory) and committed with its metadata in one call,
 * so a blob only ever appears complete and described.
 */
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
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
  if (!options.connectionString === !options.serviceClient)
    throw new Error('Azure backup store: give exactly one of connectionString and serviceClient');
  if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(options.containerName ?? ''))
    throw new Error(
      `Azure backup store: container name ${JSON.stringify(options.containerName)} is invalid (3-63 lowercase letters, digits, single hyphens)`,
    );
  const prefix = !options.prefix ? '' : options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
  const blockSize = options.blockSizeBytes ?? 8 * 1024 * 1024;
  const concurrency = options.concurrency ?? 4;
  if (!(blockSize >= 1024 && blockSize <= 4000 * 1024 * 1024))
    throw new Error('Azure backup store: blockSizeBytes must be between 1 KiB and 4000 MiB');
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new Error('Azure backup store: concurrency must be a positive integer');

  let service: BlobServiceClient;
  try {
    service = options.serviceClient ?? BlobServiceClient.fromConnectionString(options.connectionString!);
  } catch {
    // The SDK's message may quote the connection string.
    throw new Error('Azure backup store: the storage connection string is malformed');
  }
  const secrets = secretsOf(options.connectionString);
  const container: ContainerClient = service.getContainerClient(options.containerName);
  let ensured: Promise<unknown> | null = null;
  const ensureContainer = () =>
    options.createContainer === false ? Promise.resolve() : (ensured ??= container.createIfNotExists());

  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (error) {
      const e = error as { message?: string; statusCode?: number; code?: string };
      const detail = scrub(
        `${e.code ?? ''} ${e.statusCode ?? ''} ${(e.message ?? String(error)).split('\n')[0]}`.trim(),
        secrets,
      );
      throw new Error(
        `Azure blob ${what} failed (${service.accountName}/${options.containerName}): ${detail}`,
      );
    }
  };

  return {
    description: `Azure blob ${service.accountName}/${options.containerName}/${prefix}`,
    async upload(name, body: Readable, metadata, signal) {
      assertBackupName(name);
      await wrap('create container', ensureContainer);
      const blob = container.getBlockBlobClient(prefix + name);
      const ids: string[] = [];
      const inflight = new Set<Promise<void>>();
      const stage = async (chunk: Buffer) => {
        const id = Buffer.from(`block-${String(ids.length).padStart(8, '0')}`).toString('base64');
        ids.push(id);
        const p: Promise<void> = blob
          .stageBlock(id, chunk, chunk.length, { abortSignal: signal })
          .then(() => {
            inflight.delete(p);
          });
        p.catch(() => undefined); // observed through Promise.race / allSettled below
        inflight.add(p);
        if (inflight.size >= concurrency) await Promise.race(inflight);
      };
      await wrap(`upload of ${prefix + name}`, async () => {
        try {
          let pending: Buffer[] = [];
          let pendingBytes = 0;
          for await (const data of body) {
            const chunk = Buffer.isBuffer(data) ? data : Buffer.from(data as Uint8Array);
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
          if (pendingBytes > 0) await stage(Buffer.concat(pending, pendingBytes));
          await Promise.all(inflight);
        } catch (error) {
          await Promise.allSettled(inflight);
          throw error;
        }
        await blob.commitBlockList(ids, {
          metadata: encodeMetadata(metadata()),
          blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
          abortSignal: signal,
        });
      });
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
