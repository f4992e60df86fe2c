/**
 * Test harness, not deployed: one archive run as its own process, configured as the Function App is
 * (DATABASE_URL, ARCHIVE_* through ../settings.ts), for the tests that kill it (SIGKILL, like a
 * crash) between two steps and for ops/archive's restore test, which needs objects made by the real
 * archive.
 *
 *   ARCHIVE_HARNESS_STOP_AT=<step>     at that checkpoint (run-archive.ts ARCHIVE_STEPS) print
 *                                      `ARCHIVE_STOPPED <step> <detail>` and wait to be killed
 *   ARCHIVE_HARNESS_BLOCK_BYTES=<n>    the store's block size (small: an upload of several blocks)
 *   ARCHIVE_HARNESS_CONCURRENCY=<n>    blocks staged at once (default 2, the store's)
 *   ARCHIVE_HARNESS_PARALLEL=<n>       tenant-days at once (default 2, run-archive.ts's)
 *   ARCHIVE_HARNESS_TRACE=1            print `ARCHIVE_STEP <step> <ms since start> <detail>` at each
 *                                      checkpoint (the benchmark's phase times)
 *
 * Prints `ARCHIVE_RESULT <json>`, `ARCHIVE_PEAK_RSS <bytes>` and `ARCHIVE_CPU_MS <user + system>`
 * and exits 0 when the run ends; exits 1 when it throws.
 */
import pg from 'pg';
import { ARCHIVE_BLOCK_BYTES, createArchiveStore } from '../../../common/telemetry-archive-store.js';
import { parseSettings, pickSettings } from '../settings.js';
import { ARCHIVE_STEPS, runArchive, type ArchiveStep } from '../../../common/archive/run-archive.js';

const stopAt = process.env.ARCHIVE_HARNESS_STOP_AT as ArchiveStep | undefined;
if (stopAt && !ARCHIVE_STEPS.includes(stopAt))
  throw new Error(`no step ${stopAt}: ${ARCHIVE_STEPS.join(', ')}`);
const { database, archive } = pickSettings(parseSettings(process.env), ['database', 'archive']);
const pool = new pg.Pool({ connectionString: database.url, max: 4 });
const trace = process.env.ARCHIVE_HARNESS_TRACE === '1';
const started = performance.now();
try {
  const result = await runArchive({
    pool,
    mode: archive.mode,
    store: archive.store
      ? createArchiveStore({
          connectionString: archive.store.connectionString,
          container: archive.store.container,
          blockSizeBytes: Number(process.env.ARCHIVE_HARNESS_BLOCK_BYTES ?? ARCHIVE_BLOCK_BYTES),
          concurrency: Number(process.env.ARCHIVE_HARNESS_CONCURRENCY ?? 2),
        })
      : undefined,
    retentionDays: archive.retentionDays,
    partitionsAheadDays: archive.partitionsAheadDays,
    hourlyRetentionDays: archive.hourlyRetentionDays,
    parallel: Number(process.env.ARCHIVE_HARNESS_PARALLEL ?? 2),
    purgeReason: archive.purgeReason,
    log: (line) => process.stderr.write(`archive: ${line}\n`),
    checkpoint: async (step, detail) => {
      if (trace)
        process.stdout.write(`ARCHIVE_STEP ${step} ${Math.round(performance.now() - started)} ${detail}\n`);
      if (step !== stopAt) return;
      process.stdout.write(`ARCHIVE_STOPPED ${step} ${detail}\n`);
      // Until the test's SIGKILL: nothing after this point of the run may happen.
      await new Promise(() => setInterval(() => undefined, 60_000));
    },
  });
  process.stdout.write(`ARCHIVE_RESULT ${JSON.stringify(result)}\n`);
  const usage = process.resourceUsage();
  process.stdout.write(`ARCHIVE_PEAK_RSS ${usage.maxRSS * 1024}\n`);
  process.stdout.write(`ARCHIVE_CPU_MS ${Math.round((usage.userCPUTime + usage.systemCPUTime) / 1000)}\n`);
} catch (error) {
  process.stderr.write(`archive run failed: ${(error as Error).stack}\n`);
  process.exitCode = 1;
} finally {
  await pool.end();
}
