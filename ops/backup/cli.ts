/**
 * `ops backup [--env <env>] [--json] [--output FILE]`: what the backup workflow does. Dumps the
 * environment's database (pg_dump, custom format) into its backup store with metadata, then prunes
 * backups older than `backup.keepDays`. Progress on stderr; the result on stdout (one JSON object
 * with --json). Exit 0 when the backup is stored, 1 when it failed, 2 for bad arguments or an
 * environment that is not ready (the preflight in cli-io.ts).
 */
import { backupStoreFor } from '../checks/shared-sources.js';
import { parseCommand, prefixOf, type CommandSpec } from '../cli-args.js';
import { emitResult, loadCommandTarget, type CliIo } from '../cli-io.js';
import { databaseUrl } from '../config/ops-target.js';
import { runDailyBackup } from './daily-backup.js';
import type { BackupStore } from './store.js';

const SPEC: CommandSpec = {
  name: 'backup',
  synopsis: 'backup [options]',
  about: [
    "Dumps the environment's database (pg_dump, custom format) into its backup store with metadata,",
    'then prunes backups older than backup.keepDays (runbook/environments/<env>.yaml). What the',
    'backup workflow runs every day.',
  ],
  options: {
    env: {
      type: 'string',
      arg: 'NAME',
      default: 'local',
      help: 'runbook/environments/NAME.yaml; local is the running `npm run dev` sandbox',
    },
    json: { type: 'boolean', default: false, help: 'one JSON object instead of the summary line' },
    output: {
      type: 'string',
      arg: 'FILE',
      defaultText: 'stdout',
      help: 'write the result to FILE instead of stdout',
    },
  },
  exitCodes: { 0: 'the backup is stored', 1: 'the backup failed (see stderr)' },
  example: 'npm run ops -- backup --env prod',
};

export async function runBackupCommand(argv: string[], io: CliIo): Promise<number> {
  const prefix = prefixOf(SPEC);
  const parsed = parseCommand(argv, SPEC, io);
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as { env: string; json: boolean; output?: string };
  const target = await loadCommandTarget(prefix, values.env, io, (t) => {
    databaseUrl(t);
    backupStoreFor(t);
  });
  if (!target) return 2;
  let store: BackupStore;
  let url: string;
  try {
    store = backupStoreFor(target);
    url = databaseUrl(target);
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }
  const redact = target.secrets.redact;
  let result;
  try {
    result = await runDailyBackup({
      databaseUrl: url,
      store,
      retention: { keepDays: target.config.backup!.keepDays },
      log: (line) => io.err(redact(`${prefix}: ${line}\n`)),
    });
  } catch (error) {
    io.err(redact(`${prefix}: failed: ${(error as Error).message}\n`));
    return 1;
  }
  const m = result.metadata;
  const summary = `backup ${result.name} stored in ${result.store}: ${m.sizeBytes} bytes, schema ${m.schemaVersion}, ${(result.durationMs / 1000).toFixed(1)} s; pruned ${result.pruned.length}`;
  const text = redact(values.json ? `${JSON.stringify({ env: target.name, ...result })}\n` : `${summary}\n`);
  return (await emitResult(prefix, text, values.output, io)) ? 0 : 2;
}
