// Azure Functions v4 adapter for the daily telemetry archive (logic in common/archive/, docs/archive.md).
// Settings (database, archive) in ../settings.ts; disabled unless ARCHIVE_MODE says otherwise, and
// then it only keeps the future day partitions created. Every run is recorded in ops.archive_runs
// (common/archive/archive-run-record.ts), which the ops check daily.archive reads.
import azureFunctions, { type InvocationContext, type Timer } from '@azure/functions';
import { runRecordedArchive } from '../../../common/archive/archive-run-record.js';
import { createArchiveStore } from '../../../common/telemetry-archive-store.js';
import { appContext } from '../app-context.js';
import { settings } from '../settings.js';

export async function archiveTimer(_timer: Timer, context: InvocationContext): Promise<void> {
  const { database, archive } = settings('database', 'archive');
  const started = Date.now();
  const result = await runRecordedArchive({
    pool: appContext(database).pool,
    mode: archive.mode,
    store: archive.store
      ? createArchiveStore({
          connectionString: archive.store.connectionString,
          container: archive.store.container,
        })
      : undefined,
    retentionDays: archive.retentionDays,
    partitionsAheadDays: archive.partitionsAheadDays,
    hourlyRetentionDays: archive.hourlyRetentionDays,
    purgeReason: archive.purgeReason,
    deadline: started + archive.timeBudgetSeconds * 1000,
    actor: 'archive_timer',
    log: (line) => context.log(JSON.stringify({ msg: 'archive', line })),
  });
  // Deletions without a copy are a warning every time, with what went.
  for (const p of result.purged)
    context.warn(
      JSON.stringify({ msg: 'telemetry purged without archive', reason: archive.purgeReason, ...p }),
    );
  const { days, purged, recordError, ...summary } = result;
  context.log(JSON.stringify({ msg: 'archive run', ...summary, days: days.length, purged: purged.length }));
  if (result.errors.length)
    context.error(JSON.stringify({ msg: 'archive run had errors', errors: result.errors }));
  // The run went on, but the checks will not see it (or its end): an error for the function-errors check.
  if (recordError) context.error(JSON.stringify({ msg: 'archive run not recorded', error: recordError }));
}

// 20:30 UTC (03:30 WIB): after the nightly backup (19:43 UTC, .github/workflows/backup.yml), so the
// last backup before a removal still holds the rows. A missed run is caught up by the next one.
azureFunctions.app.timer('archive_timer', {
  schedule: '0 30 20 * * *',
  handler: archiveTimer,
  runOnStartup: false,
});
