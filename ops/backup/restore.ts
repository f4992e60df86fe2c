/**
 * The restore test's source: downloads a backup, restores it with pg_restore into a scratch
 * database of its own (unique name) on the admin URL's server, reads back what the check verifies,
 * and always drops the scratch database and the downloaded file, also on failure or abort.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { schemaVersion } from '../../common/schema-version.js';
import { pgConnection, withDatabase } from './pg-connection.js';
import { findPgTool, serverMajorVersion } from './pg-tools.js';
import { latestBackup, type BackupInfo, type BackupStore } from './store.js';
import { rowCounts, tenantTables, tenantTablesRls, type TableRls } from './tenant-tables.js';

export interface RestoreInspection {
  backup: BackupInfo;
  /** SHA-256 of the downloaded file. */
  downloadedSha256: string;
  downloadedBytes: number;
  scratchDatabase: string;
  /** pg_restore's exit code and its error lines (secrets scrubbed), minus the tolerated ones. */
  restoreExitCode: number | null;
  restoreErrors: string[];
  /** Error lines matching `toleratedRestoreErrors`. */
  toleratedErrors: string[];
  /** Null when the restored database has no migrations table. */
  schemaVersion: string | null;
  rowCounts: Record<string, number>;
  rls: TableRls[];
  timings: { downloadMs: number; restoreMs: number; verifyMs: number; totalMs: number };
  /** Why dropping the scratch database failed, if it did. */
  dropError?: string;
}

export interface RestoreTestSource {
  readonly description: string;
  latest(): Promise<BackupInfo | null>;
  restore(backup: BackupInfo, signal?: AbortSignal): Promise<RestoreInspection>;
}

export interface RestoreTestSourceOptions {
  store: BackupStore;
  /** A role that may create and drop databases, on the server that hosts the scratch database. */
  adminUrl: string;
  pgBinDir?: string;
  /** Scratch database names start with this (default `restore_test`). */
  scratchPrefix?: string;
  /** Where the download goes (default the OS temp dir). */
  tempDir?: string;
  /** Restore grants too (default true: the roles anon/authenticated/service_role must exist). */
  restoreAcl?: boolean;
  /**
   * pg_restore errors that are expected on this target and must not fail the test, e.g. grants to
   * Supabase-internal roles absent on a plain server: /role "supabase_\w+" does not exist/.
   * They still show in the evidence.
   */
  toleratedRestoreErrors?: RegExp[];
  /** Clock for the scratch name; default Date. */
  now?: () => Date;
}

export function createRestoreTestSource(options: RestoreTestSourceOptions): RestoreTestSource {
  if (!options.store) throw new Error('restore test: store is required');
  const admin = pgConnection(options.adminUrl, 'restore test: adminUrl');
  const prefix = options.scratchPrefix ?? 'restore_test';
  if (!/^[a-z_][a-z0-9_]{0,30}$/.test(prefix))
    throw new Error('restore test: scratchPrefix must be a lowercase identifier of at most 31 characters');
  const now = options.now ?? (() => new Date());

  return {
    description: `${options.store.description} -> scratch database on ${admin.display}`,
    latest: () => latestBackup(options.store),
    async restore(backup, signal) {
      const t0 = Date.now();
      const dir = await mkdtemp(join(options.tempDir ?? tmpdir(), 'restore-test-'));
      const file = join(dir, backup.name);
      const stamp = now().toISOString().replace(/\D/g, '').slice(0, 14);
      const scratch = `${prefix}_${stamp}_${randomBytes(3).toString('hex')}`;
      let created = false;
      let dropError: string | undefined;
      let inspection: Omit<RestoreInspection, 'dropError' | 'timings'> & {
        timings: Omit<RestoreInspection['timings'], 'totalMs'>;
      };
      const adminClient = new pg.Client({
        connectionString: admin.url,
        application_name: 'ops-restore-test',
      });
      try {
        await options.store.download(backup.name, file, signal);
        const hash = createHash('sha256');
        let downloadedBytes = 0;
        await pipeline(createReadStream(file), async (source: AsyncIterable<Buffer>) => {
          for await (const chunk of source) {
            hash.update(chunk);
            downloadedBytes += chunk.length;
          }
        });
        const downloadMs = Date.now() - t0;

        const t1 = Date.now();
        try {
          await adminClient.connect();
        } catch (error) {
          throw new Error(`cannot connect to ${admin.display}: ${admin.scrub((error as Error).message)}`);
        }
        const server = await serverMajorVersion(adminClient);
        const pgRestore = await findPgTool('pg_restore', server.major, { binDir: options.pgBinDir });
        await adminClient.query(`create database ${scratch}`);
        created = true;
        const target = pgConnection(withDatabase(admin.url, scratch));
        const args = ['--no-owner', '--no-password', `--dbname=${target.urlWithoutPassword}`];
        if (options.restoreAcl === false) args.push('--no-acl');
        const restored = await runTool(pgRestore.path, [...args, file], target.env, signal);
        const errorLines = restored.stderr
          .split('\n')
          .filter((l) => /error/i.test(l) && !/errors ignored on restore/i.test(l))
          .map((l) => target.scrub(l.trim().replace(/^pg_restore: /, '')));
        const tolerated = (l: string) => (options.toleratedRestoreErrors ?? []).some((re) => re.test(l));
        const toleratedErrors = errorLines.filter(tolerated).slice(0, 20);
        const restoreErrors = errorLines.filter((l) => !tolerated(l)).slice(0, 20);
        if (restored.code !== 0 && errorLines.length === 0)
          restoreErrors.push(target.scrub(restored.stderr.trim()).slice(-500) || `exit ${restored.code}`);
        const restoreMs = Date.now() - t1;

        const t2 = Date.now();
        const scratchClient = new pg.Client({
          connectionString: target.url,
          application_name: 'ops-restore-test',
        });
        await scratchClient.connect();
        let version: string | null = null;
        let counts: Record<string, number>;
        let rls: TableRls[];
        try {
          version = await schemaVersion(scratchClient).catch(() => null);
          counts = await rowCounts(scratchClient, await tenantTables(scratchClient));
          rls = await tenantTablesRls(scratchClient);
        } finally {
          await scratchClient.end().catch(() => undefined);
        }
        const verifyMs = Date.now() - t2;
        inspection = {
          backup,
          downloadedSha256: hash.digest('hex'),
          downloadedBytes,
          scratchDatabase: scratch,
          restoreExitCode: restored.code,
          restoreErrors,
          toleratedErrors,
          schemaVersion: version,
          rowCounts: counts,
          rls,
          timings: { downloadMs, restoreMs, verifyMs },
        };
      } finally {
        if (created) {
          try {
            await adminClient.query(`drop database if exists ${scratch} with (force)`);
          } catch (error) {
            dropError = `could not drop scratch database ${scratch}: ${admin.scrub((error as Error).message)}`;
          }
        }
        await adminClient.end().catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      }
      // Total includes dropping the scratch database: the whole exercise, as an operator would time it.
      return {
        ...inspection,
        timings: { ...inspection.timings, totalMs: Date.now() - t0 },
        ...(dropError ? { dropError } : {}),
      };
    },
  };
}

function runTool(
  path: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal?: AbortSignal,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 20_000) stderr += d.toString();
    });
    const abort = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', abort, { once: true });
    child.once('error', (e) => reject(new Error(`cannot run ${path}: ${e.message}`)));
    child.once('close', (code) => {
      signal?.removeEventListener('abort', abort);
      if (signal?.aborted) reject(new Error(`${path} aborted`));
      else resolve({ code, stderr });
    });
  });
}
