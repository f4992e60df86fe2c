/**
 * Sources several checks of one run share (one database pool, one canary connection, one SSH
 * connection, one set of Azure clients, one GitHub client), created on first use and released
 * once by close(). Each throws NotConfiguredError when the environment has no such part.
 */
import { isAbsolute, join } from 'node:path';
import pg from 'pg';
import { createAzureBlobBackupStore } from '../backup/azure-blob-store.js';
import { createLocalDirBackupStore } from '../backup/local-dir-store.js';
import type { BackupStore } from '../backup/store.js';
import { databaseUrl, mqttTarget, NotConfiguredError, type OpsTarget } from '../config/ops-target.js';
import {
  createGitHubClient,
  readGitHubEnv,
  type GitHubClient,
  type GitHubEnv,
} from '../incidents/github-client.js';
import { createArchiveFactsSource, type ArchiveFactsSource } from '../sources/archive-facts.js';
import { createAzureClients, type AzureClients } from '../sources/azure-clients.js';
import { createAzureCredential } from '../sources/azure-credential.js';
import { createIngestCanarySource, type IngestCanarySource } from '../sources/ingest-canary.js';
import { createPlatformDbSource, type PlatformDbSource } from '../sources/platform-db.js';
import { createSshHostSource, type SshHostSource } from '../sources/ssh-host.js';

export class SharedSources {
  private pool?: pg.Pool;
  private platformDb?: PlatformDbSource;
  private archive?: ArchiveFactsSource;
  private canarySource?: IngestCanarySource;
  private ssh?: SshHostSource;
  private azureClients?: AzureClients;
  private gh?: { client: GitHubClient; env: GitHubEnv };
  private backups?: BackupStore;
  private readonly closers: (() => Promise<void>)[] = [];

  constructor(readonly target: OpsTarget) {}

  /** A pool on the platform database as a role that bypasses RLS (the server side's view). */
  dbPool(): pg.Pool {
    if (!this.pool) {
      const pool = new pg.Pool({ connectionString: databaseUrl(this.target), max: 2 });
      pool.on('error', () => undefined); // a failing query fails its check, not the run
      this.pool = pool;
      this.closers.push(() => pool.end());
    }
    return this.pool;
  }

  db(): PlatformDbSource {
    this.platformDb ??= createPlatformDbSource(this.dbPool());
    return this.platformDb;
  }

  /** The telemetry archive's facts, with the environment's retention cap as the archive applies it. */
  archiveFacts(): ArchiveFactsSource {
    if (!this.archive) {
      const a = this.target.config.archive;
      this.archive = createArchiveFactsSource(this.dbPool(), {
        retentionDays: a && a.mode !== 'disabled' ? a.retentionDays : undefined,
      });
    }
    return this.archive;
  }

  canary(): IngestCanarySource {
    if (!this.canarySource) {
      const mqtt = mqttTarget(this.target);
      const source = createIngestCanarySource({
        mqttUrl: mqtt.listeners[0]!.url,
        probe: mqtt.canary(),
        databaseUrl: databaseUrl(this.target),
        protocolVersion: mqtt.protocolVersion,
      });
      this.canarySource = source;
      this.closers.push(() => source.close());
    }
    return this.canarySource;
  }

  /** The broker VM over SSH (journal, disk, memory). */
  sshHost(): SshHostSource {
    if (!this.ssh) {
      const c = this.target.config.ssh;
      if (!c) throw new NotConfiguredError('SSH access to the broker VM', this.target.name);
      const ssh = createSshHostSource({
        host: c.host,
        port: c.port,
        username: c.username,
        hostKeySha256: c.hostKeySha256,
        privateKey: this.target.secrets.read(c.privateKeyEnv),
      });
      this.ssh = ssh;
      this.closers.push(() => ssh.close());
    }
    return this.ssh;
  }

  /** Azure SDK clients signed in as the workflow's identity (azure/login OIDC, or az login). */
  azure(): AzureClients & { config: NonNullable<OpsTarget['config']['azure']> } {
    const config = this.target.config.azure;
    if (!config) throw new NotConfiguredError('Azure subscription', this.target.name);
    this.azureClients ??= createAzureClients({
      credential: createAzureCredential(),
      subscriptionId: config.subscriptionId,
    });
    return { ...this.azureClients, config };
  }

  /** The repository's GitHub API (GITHUB_TOKEN, GITHUB_REPOSITORY), as in a workflow. */
  github(): { client: GitHubClient; env: GitHubEnv } {
    if (!this.gh) {
      const env = this.target.env;
      if (!env.GITHUB_TOKEN && !env.GITHUB_REPOSITORY) {
        throw new NotConfiguredError('GitHub repository (GITHUB_TOKEN, GITHUB_REPOSITORY)', this.target.name);
      }
      this.target.secrets.readOptional('GITHUB_TOKEN'); // masked and redacted like any secret
      const gh = readGitHubEnv(env as NodeJS.ProcessEnv);
      this.gh = { client: createGitHubClient(gh, env as NodeJS.ProcessEnv), env: gh };
    }
    return this.gh;
  }

  /** Where the environment's database backups are (Blob, or a directory for the sandbox). */
  backupStore(): BackupStore {
    if (!this.backups) this.backups = backupStoreFor(this.target);
    return this.backups;
  }

  /** Registers something a builder opened that must be released after the run. */
  onClose(close: () => Promise<void>): void {
    this.closers.push(close);
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.closers.splice(0).map((c) => c()));
  }
}

/** The environment's backup store; shared by the checks and the `ops backup` command. */
export function backupStoreFor(target: OpsTarget): BackupStore {
  const b = target.config.backup;
  if (!b) throw new NotConfiguredError('database backups', target.name);
  if (target.local?.services.database === 'embedded') {
    throw new NotConfiguredError('database backups (the embedded database has no pg_dump)', target.name);
  }
  if (b.store === 'local') {
    const base = target.localDir && !isAbsolute(b.location) ? join(target.localDir, b.location) : b.location;
    return createLocalDirBackupStore({ dir: join(base, b.prefix) });
  }
  if (!b.connectionStringEnv)
    throw new Error(`backup.connectionStringEnv is required for store: blob (${target.name})`);
  return createAzureBlobBackupStore({
    connectionString: target.secrets.read(b.connectionStringEnv),
    containerName: b.location,
    prefix: b.prefix,
  });
}

/** A role that may create the restore test's scratch database: the sandbox's own, or a secret. */
export function restoreAdminUrl(target: OpsTarget): string {
  if (target.local) return target.local.db.url;
  const env = target.config.backup?.restoreAdminUrlEnv;
  if (!env) throw new NotConfiguredError('restore test server (backup.restoreAdminUrlEnv)', target.name);
  return target.secrets.read(env);
}
