/**
 * Backups in a local directory (sandbox, CLI without Azure): `<name>` is the dump, `<name>.json`
 * its metadata. The dump is written to a hidden partial file and renamed into place after its
 * metadata, so a failed or running dump is never listed.
 */
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeMetadata, encodeMetadata } from './metadata.js';
import { assertBackupName, isBackupName, type BackupInfo, type BackupStore } from './store.js';

export function createLocalDirBackupStore(options: { dir: string }): BackupStore {
  if (!options.dir) throw new Error('local backup store: dir is required');
  const dir = resolve(options.dir);
  return {
    description: `local directory ${dir}`,
    async upload(name, body: Readable, metadata, signal) {
      assertBackupName(name);
      await mkdir(dir, { recursive: true });
      const partial = join(dir, `.${name}.partial`);
      try {
        await pipeline(body, createWriteStream(partial), { signal });
        const sidecar = join(dir, `${name}.json`);
        await writeFile(`${sidecar}.partial`, JSON.stringify(encodeMetadata(metadata()), null, 2));
        await rename(`${sidecar}.partial`, sidecar);
        await rename(partial, join(dir, name));
      } catch (error) {
        await rm(partial, { force: true });
        await rm(join(dir, `${name}.json.partial`), { force: true });
        throw error;
      }
    },
    async list() {
      let files: string[];
      try {
        files = await readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
      const out: BackupInfo[] = [];
      for (const name of files.filter(isBackupName).sort()) {
        const st = await stat(join(dir, name));
        let raw: Record<string, string> | undefined;
        let problem: string | undefined;
        try {
          raw = JSON.parse(await readFile(join(dir, `${name}.json`), 'utf8')) as Record<string, string>;
        } catch (error) {
          problem =
            (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no metadata' : 'metadata file is not JSON';
        }
        const decoded = problem ? { ok: false as const, problem } : decodeMetadata(raw);
        out.push({
          name,
          storedBytes: st.size,
          lastModified: st.mtime,
          metadata: decoded.ok ? decoded.metadata : null,
          ...(decoded.ok ? {} : { metadataProblem: decoded.problem }),
        });
      }
      return out;
    },
    async download(name, toFile) {
      assertBackupName(name);
      await copyFile(join(dir, name), toFile);
    },
    async delete(name) {
      assertBackupName(name);
      await rm(join(dir, name), { force: true });
      await rm(join(dir, `${name}.json`), { force: true });
    },
  };
}
