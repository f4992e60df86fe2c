/**
 * The daily backup: `pg_dump -Fc` of the platform database streamed into a BackupStore, with
 * metadata (size, sha256, schema version, tenant-table row counts, versions). The row counts and
 * the schema version are read in the very snapshot pg_dump dumps (`pg_export_snapshot()` +
 * `--snapshot`), so the restore test can demand exact equality. Needs a direct (session)
 * connection: a transaction-mode pooler cannot share a snapshot.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import pg from 'pg';
import { schemaVersion } from '../../common/schema-version.js';
import { BACKUP_FORMAT, type BackupMetadata } from './metadata.js';
import { pgConnection } from './pg-connection.js';
import { findPgTool, serverMajorVersion } from './pg-tools.js';
import { pruneBackups } from './retention.js';
import { backupName, type BackupStore } from './store.js';
import { rowCounts, tenantTables } from './tenant-tables.js';

export interface DailyBackupOptions {
  /** The platform database (a role that reads everything: the owner / postgres). */
  databaseUrl: string;
  store: BackupStore;
  now?: () => Date;
  /** Directory of pg_dump; default: the one matching the server's major version. */
  pgBinDir?: string;
  /** Dump only these schemas (pg_dump -n); must include public and supabase_migrations. */
  schemas?: string[];
  /** Leave these schemas out (pg_dump -N), e.g. Supabase-managed ones. */
  excludeSchemas?: string[];
  /** Delete backups older than keepDays after a successful backup (never the newest minKeep). */
  retention?: { keepDays: number; minKeep?: number };
  /** Progress lines; never receive secrets. */
  log?: (line: string) => void;
  signal?: AbortSignal;
}

export interface DailyBackupResult {
  name: string;
  metadata: BackupMetadata;
  durationMs: number;
  pruned: string[];
  store: string;
}

const REQUIRED_SCHEMAS = ['public', 'supabase_migrations'];

export async function runDailyBackup(options: DailyBackupOptions): Promise<DailyBackupResult> {
  if (!options.store) throw new Error('daily backup: store is required');
  const conn = pgConnection(options.databaseUrl, 'daily backup: databaseUrl');
  for (const s of REQUIRED_SCHEMAS) {
    if (options.schemas && !options.schemas.includes(s))
      throw new Error(
        `daily backup: schemas must include ${s} (tenant tables and the schema version live there)`,
      );
    if (options.excludeSchemas?.includes(s)) throw new Error(`daily backup: schema ${s} cannot be excluded`);
  }
  if (options.retention && !(options.retention.keepDays > 0))
    throw new Error('daily backup: retention.keepDays must be a positive number of days');
  const now = options.now ?? (() => new Date());
  const log = options.log ?? (() => undefined);
  const started = Date.now();

  const client = new pg.Client({ connectionString: conn.url, application_name: 'ops-daily-backup' });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `daily backup: cannot connect to ${conn.display}: ${conn.scrub((error as Error).message)}`,
    );
  }
  try {
    const server = await serverMajorVersion(client);
    const pgDump = await findPgTool('pg_dump', server.major, { binDir: options.pgBinDir });
    await client.query('begin isolation level repeatable read read only');
    const snapshot = (await client.query<{ id: string }>('select pg_export_snapshot() as id')).rows[0]!.id;
    const createdAt = now();
    let version: string | null;
    try {
      version = await schemaVersion(client);
    } catch (error) {
      throw new Error(
        `daily backup: cannot read the schema version: ${conn.scrub((error as Error).message)}`,
      );
    }
    if (!version)
      throw new Error('daily backup: no applied migration in supabase_migrations.schema_migrations');
    const counts = await rowCounts(client, await tenantTables(client));
    const name = backupName(createdAt);
    log(
      `backup ${name}: ${conn.database} (PostgreSQL ${server.version}, schema ${version}) with ${pgDump.path}`,
    );

    const args = [
      '--format=custom',
      '--no-password',
      `--snapshot=${snapshot}`,
      `--dbname=${conn.urlWithoutPassword}`,
    ];
    for (const s of options.schemas ?? []) args.push(`--schema=${s}`);
    for (const s of options.excludeSchemas ?? []) args.push(`--exclude-schema=${s}`);
    const child = spawn(pgDump.path, args, { env: conn.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 8_000) stderr += d.toString();
    });
    const exited = new Promise<void>((resolve, reject) => {
      child.once('error', (e) => reject(new Error(`cannot run ${pgDump.path}: ${e.message}`)));
      child.once('close', (code, signal) =>
        code === 0
          ? resolve()
          : reject(
              new Error(`pg_dump failed (${code ?? signal}): ${conn.scrub(stderr.trim()).slice(-1_000)}`),
            ),
      );
    });
    exited.catch(() => undefined);
    const hash = createHash('sha256');
    let size = 0;
    // Hashes and counts on the way; ends the stream only once pg_dump exited 0, so a failed dump
    // errors the upload instead of committing a truncated file.
    const body = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.length;
        done(null, chunk);
      },
      flush(done) {
        // On failure the catch below destroys the stream with pg_dump's error.
        exited.then(
          () => done(),
          () => undefined,
        );
      },
    });
    // pg_dump can fail before the store has attached its listeners (its own set-up is async, and
    // slow on a loaded machine): destroying `body` would then emit an 'error' nobody handles and
    // crash the process. The failure is reported through `exited` below, so this listener only
    // keeps the event handled; the store still sees the destroyed stream and fails its upload.
    body.on('error', () => undefined);
    exited.catch((e: Error) => body.destroy(e));
    child.stdout.pipe(body);
    const abort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', abort, { once: true });

    let metadata: BackupMetadata | undefined;
    try {
      await options.store.upload(
        name,
        body,
        () =>
          (metadata = {
            format: BACKUP_FORMAT,
            createdAt: createdAt.toISOString(),
            sizeBytes: size,
            sha256: hash.digest('hex'),
            schemaVersion: version,
            rowCounts: counts,
            pgDumpVersion: pgDump.version,
            serverVersion: server.version,
            database: conn.database,
          }),
        options.signal,
      );
      await exited;
    } catch (error) {
      if (child.exitCode === null) child.kill('SIGTERM');
      // pg_dump's own failure says more than the stream error it caused.
      const dumpError = await exited.then(
        () => null,
        (e: Error) => e,
      );
      throw new Error(
        `daily backup to ${options.store.description} failed: ${conn.scrub((dumpError ?? (error as Error)).message)}`,
      );
    } finally {
      options.signal?.removeEventListener('abort', abort);
    }
    await client.query('commit');
    if (!metadata) throw new Error('daily backup: the store did not ask for the metadata');
    log(
      `backup ${name}: ${metadata.sizeBytes} bytes, sha256 ${metadata.sha256.slice(0, 12)}..., ${Object.keys(counts).length} tenant tables counted, in ${Date.now() - started} ms`,
    );
    let pruned: string[] = [];
    if (options.retention) {
      pruned = await pruneBackups(options.store, { ...options.retention, now: now() });
      if (pruned.length) log(`retention ${options.retention.keepDays} days: deleted ${pruned.join(', ')}`);
    }
    return { name, metadata, durationMs: Date.now() - started, pruned, store: options.store.description };
  } finally {
    await client.end().catch(() => undefined);
  }
}
