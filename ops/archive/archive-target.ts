/** The environment's archive container (archive in runbook/environments/<env>.yaml): for restore and the checks. */
import { createArchiveStore, type ArchiveStore } from '../../common/telemetry-archive-store.js';
import { NotConfiguredError, type OpsTarget } from '../config/ops-target.js';

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
