/**
 * One container in Azure Blob Storage (Azurite in tests), as the backup store (ops/backup) and the
 * telemetry archive (common/telemetry-archive-store.ts) use it: the client from a connection string
 * or a given service client, the container made on first use, errors that never quote the key or a
 * SAS, and uploads streamed as staged blocks (at most `concurrency` blocks of `blockSize` bytes in
 * memory) committed in one call with the blob's metadata, so a blob only ever appears complete and
 * described; a writer killed before the commit leaves uncommitted blocks, which Azure discards.
 */
import { BlobServiceClient, type BlockBlobClient, type ContainerClient } from '@azure/storage-blob';

export interface BlobContainerOptions {
  /** A storage connection string (key or SAS); or `serviceClient` (e.g. a managed identity). */
  connectionString?: string;
  serviceClient?: BlobServiceClient;
  container: string;
  /** Create the container on first use when it does not exist (default true). */
  createContainer?: boolean;
  blockSizeBytes?: number;
  concurrency?: number;
}

export interface BlobContainerDefaults {
  /** Starts every error message, e.g. `Azure backup store`. */
  label: string;
  blockSizeBytes: number;
  maxBlockSizeBytes: number;
  concurrency: number;
}

export interface BlobContainer {
  service: BlobServiceClient;
  container: ContainerClient;
  /** `<account>/<container>`: for messages, never with a key. */
  where: string;
  ensureContainer(): Promise<unknown>;
  /**
   * Runs `fn`; an error becomes `Azure blob <what> failed (<where>): <code status message>` with any
   * key or signature scrubbed. `keep` lets an error of the caller's own pass unchanged.
   */
  wrap<T>(what: string, fn: () => Promise<T>, keep?: (error: unknown) => boolean): Promise<T>;
  /**
   * Stores `body` as `blob` in staged blocks and commits them with what `commit` returns (metadata,
   * headers), called once the body has ended (a manifest may need every byte first).
   * `emptyBlock`: an empty body still stages one (empty) block.
   */
  uploadStaged(
    blob: BlockBlobClient,
    body: AsyncIterable<Uint8Array | Buffer>,
    commit: () => Parameters<BlockBlobClient['commitBlockList']>[1],
    options?: { signal?: AbortSignal; emptyBlock?: boolean },
  ): Promise<void>;
}

const CONTAINER_NAME = /^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;

export function openBlobContainer(
  options: BlobContainerOptions,
  defaults: BlobContainerDefaults,
): BlobContainer {
  const { label } = defaults;
  if (!options.connectionString === !options.serviceClient)
    throw new Error(`${label}: give exactly one of connectionString and serviceClient`);
  if (!CONTAINER_NAME.test(options.container ?? ''))
    throw new Error(
      `${label}: container name ${JSON.stringify(options.container)} is invalid (3-63 lowercase letters, digits, single hyphens)`,
    );
  const blockSize = options.blockSizeBytes ?? defaults.blockSizeBytes;
  const concurrency = options.concurrency ?? defaults.concurrency;
  if (!(blockSize >= 1024 && blockSize <= defaults.maxBlockSizeBytes))
    throw new Error(
      `${label}: blockSizeBytes must be between 1 KiB and ${defaults.maxBlockSizeBytes / 1024 / 1024} MiB`,
    );
  if (!(Number.isInteger(concurrency) && concurrency >= 1))
    throw new Error(`${label}: concurrency must be a positive integer`);

  let service: BlobServiceClient;
  try {
    service = options.serviceClient ?? BlobServiceClient.fromConnectionString(options.connectionString!);
  } catch {
    // The SDK's message may quote the connection string.
    throw new Error(`${label}: the storage connection string is malformed`);
  }
  const secrets = secretsOf(options.connectionString);
  const container = service.getContainerClient(options.container);
  const where = `${service.accountName}/${options.container}`;
  let ensured: Promise<unknown> | null = null;

  const wrap: BlobContainer['wrap'] = async (what, fn, keep) => {
    try {
      return await fn();
    } catch (error) {
      if (keep?.(error)) throw error;
      const e = error as { message?: string; statusCode?: number; code?: string };
      const detail = scrub(
        `${e.code ?? ''} ${e.statusCode ?? ''} ${(e.message ?? String(error)).split('\n')[0]}`.trim(),
        secrets,
      );
      throw new Error(`Azure blob ${what} failed (${where}): ${detail}`);
    }
  };

  return {
    service,
    container,
    where,
    ensureContainer: () =>
      options.createContainer === false ? Promise.resolve() : (ensured ??= container.createIfNotExists()),
    wrap,
    async uploadStaged(blob, body, commit, { signal, emptyBlock = false } = {}) {
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
        if (pendingBytes > 0 || (emptyBlock && ids.length === 0))
          await stage(Buffer.concat(pending, pendingBytes));
        await Promise.all(inflight);
      } catch (error) {
        await Promise.allSettled(inflight);
        throw error;
      }
      await blob.commitBlockList(ids, { ...commit(), abortSignal: signal });
    },
  };
}

/** The key or SAS a connection string carries: scrubbed from every message. */
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
