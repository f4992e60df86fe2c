/**
 * `ops backup --env <env> [--json]`: what the backup workflow does. Dumps the environment's
 * database (pg_dump, custom format) into its backup store with metadata, then prunes backups older
 * than `backup.keepDays`. Progress on stderr; the result on stdout (one JSON object with --json).
 * Exit 0 when the backup is stored, 1 when it failed, 2 for bad arguments or settings.
 */
import { parseArgs } from 'node:util';
import { LOCAL_ENV_PATH } from '../../common/local-env.js';
import { backupStoreFor } from '../checks/shared-sources.js';
import type { CliIo } from '../cli.js';
import { databaseUrl, loadOpsTarget, type OpsTarget } from '../config/ops-target.js';
import { runDailyBackup } from './daily-backup.js';
import type { BackupStore } from './store.js';

export async function runBackupCommand(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      options: { env: { type: 'string', default: 'local' }, json: { type: 'boolean', default: false } },
    }));
  } catch (error) {
    io.err(`ops backup: ${(error as Error).message}\n`);
    return 2;
  }
  let target: OpsTarget;
  let store: BackupStore;
  let url: string;
  try {
    target = await loadOpsTarget(values.env!, {
      env: io.env,
      mask: io.mask,
      localEnvPath: io.envPath ?? LOCAL_ENV_PATH,
      environmentsDir: io.environmentsDir,
    });
    store = backupStoreFor(target);
    url = databaseUrl(target);
  } catch (error) {
    io.err(`ops backup: ${(error as Error).message}\n`);
    return 2;
  }
  const redact = target.secrets.redact;
  try {
    const result = await runDailyBackup({
      databaseUrl: url,
      store,
      retention: { keepDays: target.config.backup!.keepDays },
      log: (line) => io.err(redact(`ops backup: ${line}\n`)),
    });
    const m = result.metadata;
    const summary = `backup ${result.name} stored in ${result.store}: ${m.sizeBytes} bytes, schema ${m.schemaVersion}, ${(result.durationMs / 1000).toFixed(1)} s; pruned ${result.pruned.length}`;
    io.out(redact(values.json ? `${JSON.stringify({ env: target.name, ...result })}\n` : `${summary}\n`));
    return 0;
  } catch (error) {
    io.err(redact(`ops backup: failed: ${(error as Error).message}\n`));
    return 1;
  }
}
