/**
 * The environment's archive (archive in runbook/environments/<env>.yaml) as the archive commands,
 * the playbooks and the checks reach it: its container, whether it is on, and the one way an
 * `ops archive` command loads its environment, database URL and container.
 */
import { createArchiveStore, type ArchiveStore } from '../../common/telemetry-archive-store.js';
import { loadCommandTarget, type CliIo } from '../cli-io.js';
import { databaseUrl, NotConfiguredError, type OpsTarget } from '../config/ops-target.js';

export function archiveStoreFor(target: OpsTarget): ArchiveStore {
  const a = target.config.archive;
  if (!a) throw new NotConfiguredError('archive (runbook/environments/<env>.yaml)', target.name);
  if (a.mode !== 'enabled')
    throw new Error(
      `archive.mode is ${a.mode} in ${target.name}.yaml: there is no archive container to read (${a.reason})`,
    );
  return createArchiveStore({
    connectionString: target.secrets.read(a.connectionStringEnv),
    container: a.container,
    createContainer: false,
  });
}

/**
 * Why the environment's archive takes nothing out of the database, and how to turn it on; undefined
 * when it does (enabled, or purge-without-archive).
 */
export function archiveOff(target: OpsTarget): string | undefined {
  const a = target.config.archive;
  if (a && a.mode !== 'disabled') return undefined;
  const file = `runbook/environments/${target.name}.yaml`;
  return (
    (a ? `the archive is disabled in ${file} (${a.reason})` : `${file} configures no archive`) +
    ': nothing is archived and nothing leaves the database. To turn it on: archive.mode: enabled with ' +
    `container and connectionStringEnv in ${file}, and ARCHIVE_MODE=enabled with the same container ` +
    'in the Function App (docs/archive.md, "Turning it on")'
  );
}

export interface ArchiveCommandTarget {
  target: OpsTarget;
  databaseUrl: string;
  /** The archive container, when the command asked for it. */
  store?: ArchiveStore;
}

/**
 * The environment of an `ops archive` command, its database URL and, when `withStore` says so, its
 * archive container: after the preflight found every secret they read, or undefined after one line
 * on stderr (the caller exits 2). `refuse` says why the command cannot run in this environment at
 * all (checked first: then nothing else is read).
 */
export async function loadArchiveTarget(
  prefix: string,
  envName: string,
  io: CliIo,
  options: { withStore: (target: OpsTarget) => boolean; refuse?: (target: OpsTarget) => string | undefined },
): Promise<ArchiveCommandTarget | undefined> {
  const target = await loadCommandTarget(prefix, envName, io, (t) => {
    if (options.refuse?.(t)) return;
    databaseUrl(t);
    if (options.withStore(t)) archiveStoreFor(t);
  });
  if (!target) return undefined;
  const refused = options.refuse?.(target);
  if (refused) {
    io.err(`${prefix}: ${refused}\n`);
    return undefined;
  }
  try {
    return {
      target,
      databaseUrl: databaseUrl(target),
      store: options.withStore(target) ? archiveStoreFor(target) : undefined,
    };
  } catch (error) {
    io.err(target.secrets.redact(`${prefix}: ${(error as Error).message}\n`));
    return undefined;
  }
}

/** Who ops.audit_log names for an archive command run by hand or by a workflow. */
export function commandActor(command: string, io: CliIo): string {
  const env = io.env ?? process.env;
  return `${command} (${env.GITHUB_ACTOR ?? env.USER ?? 'cli'})`;
}
