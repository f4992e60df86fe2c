/**
 * Weekly: restore the latest backup into a scratch database and prove it is usable: the file is
 * the one that was dumped (sha256), pg_restore reports no error, the schema version is the
 * backup's (and, optionally, the expected latest migration), every tenant table has the row count
 * the backup recorded, and RLS is still on every tenant table. Each step is timed.
 */
import type { Check, CheckOutcome } from '../engine/check.js';
import type { RestoreInspection, RestoreTestSource } from '../backup/restore.js';
import { rlsProblems } from '../backup/tenant-tables.js';
import { formatBytes } from './backup-freshness.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const RESTORE_TEST_TITLE = 'Restore test of the latest database backup';

export interface RestoreTestOptions {
  /** The latest migration the deployed schema should have (e.g. latestMigrationVersion()). */
  expectedSchemaVersion?: string;
  /** Warn when the whole restore takes longer (a recovery-time budget); default none. */
  warnTotalMs?: number;
}

export function restoreTestCheck(source: RestoreTestSource, options: RestoreTestOptions = {}): Check {
  if (options.warnTotalMs !== undefined && !(options.warnTotalMs > 0))
    throw new Error('restore test: warnTotalMs must be positive');
  return {
    id: 'weekly.restore-test',
    title: RESTORE_TEST_TITLE,
    severity: 'high',
    playbook: null,
    async run({ signal }): Promise<CheckOutcome> {
      const backup = await source.latest();
      if (!backup) return { status: 'fail', summary: `no backup to restore (${source.description})` };
      const meta = backup.metadata;
      if (!meta)
        return {
          status: 'fail',
          summary: `latest backup ${backup.name} has no usable metadata (${backup.metadataProblem ?? 'none'}): nothing to verify a restore against`,
        };
      let r: RestoreInspection;
      try {
        r = await source.restore(backup, signal);
      } catch (error) {
        return {
          status: 'fail',
          summary: `restore of ${backup.name} failed: ${(error as Error).message}`,
          evidence: [source.description],
        };
      }
      const tenantTables = r.rls.filter((t) => !t.partition).length;
      const rowsTotal = Object.values(r.rowCounts).reduce((a, b) => a + b, 0);
      const metrics = {
        download_ms: r.timings.downloadMs,
        restore_ms: r.timings.restoreMs,
        verify_ms: r.timings.verifyMs,
        total_ms: r.timings.totalMs,
        size_bytes: r.downloadedBytes,
        tables_checked: Object.keys(meta.rowCounts).length,
        rows_total: rowsTotal,
      };
      const evidence = [
        `backup ${backup.name} (${formatBytes(r.downloadedBytes)}, created ${meta.createdAt}, schema ${meta.schemaVersion}, pg_dump ${meta.pgDumpVersion})`,
        `restored into scratch database ${r.scratchDatabase}: ${r.dropError ?? 'dropped afterwards'}`,
        `timings: download ${r.timings.downloadMs} ms, restore ${r.timings.restoreMs} ms, verify ${r.timings.verifyMs} ms, total ${r.timings.totalMs} ms`,
        `row counts: ${Object.entries(r.rowCounts)
          .map(([t, n]) => `${t}=${n}`)
          .join(', ')}`,
      ];

      if (r.toleratedErrors.length)
        evidence.push(...r.toleratedErrors.map((e) => `pg_restore (tolerated): ${e}`));
      const failures: string[] = [];
      if (r.downloadedSha256 !== meta.sha256)
        failures.push(
          `downloaded file's sha256 ${r.downloadedSha256.slice(0, 12)}... differs from the backup's ${meta.sha256.slice(0, 12)}...`,
        );
      if (r.restoreErrors.length) {
        failures.push(`pg_restore reported ${r.restoreErrors.length} error(s), first: ${r.restoreErrors[0]}`);
        evidence.push(...r.restoreErrors.map((e) => `pg_restore: ${e}`));
      }
      if (r.schemaVersion !== meta.schemaVersion)
        failures.push(
          `restored schema version ${r.schemaVersion ?? 'none'} is not the backup's ${meta.schemaVersion}`,
        );
      if (options.expectedSchemaVersion && meta.schemaVersion !== options.expectedSchemaVersion)
        failures.push(
          `backup schema version ${meta.schemaVersion} is not the expected latest migration ${options.expectedSchemaVersion}`,
        );
      const countProblems: string[] = [];
      for (const [table, expected] of Object.entries(meta.rowCounts)) {
        const got = r.rowCounts[table];
        if (got === undefined) countProblems.push(`${table} missing (expected ${expected} rows)`);
        else if (got !== expected)
          countProblems.push(`${table} has ${got} rows, the backup recorded ${expected}`);
      }
      for (const table of Object.keys(r.rowCounts))
        if (!(table in meta.rowCounts)) countProblems.push(`${table} is not in the backup's row counts`);
      if (countProblems.length) {
        failures.push(
          `row counts differ: ${countProblems.slice(0, 5).join('; ')}${countProblems.length > 5 ? '; ...' : ''}`,
        );
        evidence.push(...countProblems.map((p) => `row count: ${p}`));
      }
      const rls = rlsProblems(r.rls);
      if (rls.length) {
        failures.push(`RLS not intact: ${rls.slice(0, 5).join('; ')}${rls.length > 5 ? '; ...' : ''}`);
        evidence.push(...rls.map((p) => `rls: ${p}`));
      }
      if (tenantTables === 0) failures.push('no tenant table in the restored database');

      if (failures.length) {
        // One line for the table; a broken restore cascades (no schema, no tables), so list the rest.
        const more = failures.length > 1 ? ` (and ${failures.length - 1} more, see evidence)` : '';
        evidence.unshift(...failures.map((f) => `problem: ${f}`));
        return { status: 'fail', summary: `${failures[0]}${more}`, metrics, evidence };
      }
      if (r.dropError)
        return { status: 'warn', summary: `restore verified but ${r.dropError}`, metrics, evidence };
      const summary = `restored ${backup.name} (${formatBytes(r.downloadedBytes)}) in ${seconds(r.timings.totalMs)}: schema ${meta.schemaVersion}, ${Object.keys(meta.rowCounts).length} tables / ${rowsTotal} rows match, RLS on all ${tenantTables} tenant tables`;
      if (options.warnTotalMs !== undefined && r.timings.totalMs > options.warnTotalMs)
        return {
          status: 'warn',
          summary: `${summary}; slower than the ${seconds(options.warnTotalMs)} budget`,
          metrics,
          evidence,
        };
      return { status: 'ok', summary, metrics, evidence };
    },
  };
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
