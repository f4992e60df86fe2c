/**
 * The functions packages the deploy shipped, kept for rollback (issue 9: "the previous package is
 * kept for rollback"). The functions stage puts each package it deploys; when the smoke test fails
 * the rollback deploys `previous()` and calls `rollback()`, so the failed package is never the one
 * a later rollback goes back to. Packages are named by their sha256 (the build is deterministic),
 * so an unchanged app is recognised by hash and stored once.
 *
 * One writer at a time (the deploy's concurrency group per environment). A local directory
 * (`--env local`, tests) or a Blob container (functions-releases-blob.ts), like ops/backup's stores.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface FunctionsRelease {
  /** The commit the package was built from: what /health reports once it runs. */
  commitSha: string;
  /** Hex sha256 of the zip. */
  sha256: string;
  bytes: number;
  functions: string[];
  /** When it was put (ISO 8601). */
  storedAt: string;
}

export interface RolledBackRelease extends FunctionsRelease {
  rolledBackAt: string;
}

export interface FunctionsReleaseStore {
  /** Where, for reports: no keys. */
  readonly description: string;
  /**
   * Keeps the zip as the newest release. The newest one again (same sha256) changes nothing and
   * says so (`stored: false`): the deploy skips redeploying an unchanged app. The zip's hash and
   * size must be the ones declared.
   */
  put(
    zipPath: string,
    release: Omit<FunctionsRelease, 'storedAt'>,
  ): Promise<{ release: FunctionsRelease; stored: boolean }>;
  latest(): Promise<FunctionsRelease | null>;
  /** The release before the newest: what a rollback deploys. */
  previous(): Promise<FunctionsRelease | null>;
  /**
   * The newest release failed: it leaves the line of releases (kept on record with the time), so
   * the previous one is the newest again. Returns that one, or null when there is none.
   */
  rollback(): Promise<FunctionsRelease | null>;
  /** Releases, oldest first, and those rolled back. */
  history(): Promise<{ releases: FunctionsRelease[]; rolledBack: RolledBackRelease[] }>;
  /** Copies a release's zip to `toFile`; fails unless its hash is still the release's. */
  download(sha256: string, toFile: string): Promise<void>;
}

interface Index {
  releases: FunctionsRelease[];
  rolledBack: RolledBackRelease[];
}

const INDEX = 'releases.json';
const SHA256 = /^[0-9a-f]{64}$/;

export async function sha256File(path: string): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

/**
 * Where a store keeps its index (releases.json) and its zips (`<sha256>.zip`): a local directory
 * or a Blob container. The index is written whole, so a crash leaves the old one or the new one.
 */
export interface ReleaseStorage {
  readonly description: string;
  readIndex(): Promise<string | null>;
  writeIndex(text: string): Promise<void>;
  putZip(sha256: string, path: string): Promise<void>;
  getZip(sha256: string, toFile: string): Promise<void>;
  listZips(): Promise<string[]>;
  deleteZip(sha256: string): Promise<void>;
}

/**
 * `dir` holds `<sha256>.zip` files and releases.json. `keep` releases stay in line (and as many
 * rolled back, for the incident's report); zips neither list names are deleted.
 */
export function localFunctionsReleaseStore(
  dir: string,
  options: { keep?: number; now?: () => Date } = {},
): FunctionsReleaseStore {
  const zipPath = (sha256: string) => join(dir, `${sha256}.zip`);
  return releaseStoreOver(
    {
      description: `local directory ${dir}`,
      async readIndex() {
        try {
          return await readFile(join(dir, INDEX), 'utf8');
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
          throw error;
        }
      },
      async writeIndex(text) {
        await mkdir(dir, { recursive: true });
        const partial = join(dir, `${INDEX}.${process.pid}.tmp`);
        await writeFile(partial, text);
        await rename(partial, join(dir, INDEX));
      },
      async putZip(sha256, path) {
        await mkdir(dir, { recursive: true });
        const partial = `${zipPath(sha256)}.${process.pid}.tmp`;
        await copyFile(path, partial);
        await rename(partial, zipPath(sha256));
      },
      async getZip(sha256, toFile) {
        await copyFile(zipPath(sha256), toFile);
      },
      async listZips() {
        try {
          return (await readdir(dir)).filter((f) => /^[0-9a-f]{64}\.zip$/.test(f)).map((f) => f.slice(0, 64));
        } catch {
          return [];
        }
      },
      async deleteZip(sha256) {
        await rm(zipPath(sha256), { force: true });
      },
    },
    options,
  );
}

/** The release line over any storage (local directory, Blob container). */
export function releaseStoreOver(
  storage: ReleaseStorage,
  options: { keep?: number; now?: () => Date } = {},
): FunctionsReleaseStore {
  const keep = Math.max(2, options.keep ?? 5);
  const now = options.now ?? (() => new Date());

  const read = async (): Promise<Index> => {
    let text: string | null;
    try {
      text = await storage.readIndex();
    } catch (error) {
      throw new Error(`functions releases index in ${storage.description}: ${(error as Error).message}`);
    }
    if (text === null) return { releases: [], rolledBack: [] };
    try {
      return JSON.parse(text) as Index;
    } catch (error) {
      throw new Error(`functions releases index in ${storage.description}: ${(error as Error).message}`);
    }
  };
  const write = async (index: Index) => {
    index.releases = index.releases.slice(-keep);
    index.rolledBack = index.rolledBack.slice(-keep);
    await storage.writeIndex(`${JSON.stringify(index, null, 2)}\n`);
    const named = new Set([...index.releases, ...index.rolledBack].map((r) => r.sha256));
    for (const sha of await storage.listZips()) if (!named.has(sha)) await storage.deleteZip(sha);
  };

  return {
    description: storage.description,
    async put(path, release) {
      if (!SHA256.test(release.sha256)) throw new Error(`${release.sha256} is not a hex sha256`);
      const actual = await sha256File(path);
      if (actual.sha256 !== release.sha256 || actual.bytes !== release.bytes)
        throw new Error(
          `${path} is ${actual.bytes} bytes with sha256 ${actual.sha256}, not the ${release.bytes} bytes ${release.sha256} declared`,
        );
      const index = await read();
      const newest = index.releases.at(-1);
      if (newest?.sha256 === release.sha256) return { release: newest, stored: false };
      await storage.putZip(release.sha256, path);
      const stored: FunctionsRelease = {
        commitSha: release.commitSha,
        sha256: release.sha256,
        bytes: release.bytes,
        functions: [...release.functions],
        storedAt: now().toISOString(),
      };
      index.releases.push(stored);
      await write(index);
      return { release: stored, stored: true };
    },
    async latest() {
      return (await read()).releases.at(-1) ?? null;
    },
    async previous() {
      return (await read()).releases.at(-2) ?? null;
    },
    async rollback() {
      const index = await read();
      const failed = index.releases.pop();
      if (!failed) return null;
      index.rolledBack.push({ ...failed, rolledBackAt: now().toISOString() });
      await write(index);
      return index.releases.at(-1) ?? null;
    },
    async history() {
      return read();
    },
    async download(sha256, toFile) {
      if (!SHA256.test(sha256)) throw new Error(`${sha256} is not a hex sha256`);
      await storage.getZip(sha256, toFile);
      const actual = await sha256File(toFile);
      if (actual.sha256 !== sha256) {
        await rm(toFile, { force: true });
        throw new Error(`the stored package ${sha256} now hashes to ${actual.sha256}: it was altered`);
      }
    },
  };
}
