/**
 * Daily: the latest database backup is recent, not empty, not suspiciously smaller than the one
 * before, and described (sha256, metadata matching what is stored). Warn after `warnAgeHours`
 * (a nightly run is late), fail after `failAgeHours` (a night was missed) or when there is none.
 */
import type { Check, CheckOutcome } from '../engine/check.js';
import type { BackupInfo, BackupStore } from '../backup/store.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const BACKUP_FRESHNESS_TITLE = 'Database backup freshness';

const HOUR_MS = 3_600_000;

export interface BackupFreshnessOptions {
  warnAgeHours?: number;
  failAgeHours?: number;
  /** Fail when the latest is this many percent smaller than the previous one (default 50). */
  maxSizeDropPercent?: number;
  /** How many recent backups the size chart shows (default 14). */
  chartBackups?: number;
}

export function backupFreshnessCheck(
  store: Pick<BackupStore, 'list' | 'description'>,
  options: BackupFreshnessOptions = {},
): Check {
  const warnHours = options.warnAgeHours ?? 26;
  const failHours = options.failAgeHours ?? 50;
  const maxDrop = options.maxSizeDropPercent ?? 50;
  const chartBackups = options.chartBackups ?? 14;
  if (!(warnHours > 0 && failHours > warnHours))
    throw new Error('backup freshness: need 0 < warnAgeHours < failAgeHours');
  if (!(maxDrop > 0 && maxDrop <= 100))
    throw new Error('backup freshness: maxSizeDropPercent must be in (0, 100]');
  return {
    id: 'daily.backup-freshness',
    title: BACKUP_FRESHNESS_TITLE,
    severity: 'high',
    playbook: null,
    async run({ now }): Promise<CheckOutcome> {
      const backups = await store.list();
      const latest = backups.at(-1);
      if (!latest)
        return { status: 'fail', summary: `no backup in ${store.description}`, metrics: { backups: 0 } };
      const previous = backups.at(-2);
      const created = createdAt(latest);
      const ageHours = round((now() - created) / HOUR_MS, 1);
      const size = latest.metadata?.sizeBytes ?? latest.storedBytes;
      const metrics: Record<string, number> = {
        age_hours: ageHours,
        size_bytes: latest.storedBytes,
        backups: backups.length,
      };
      const evidence = [
        `latest ${latest.name} in ${store.description}: created ${new Date(created).toISOString()} (${ageHours} h ago), ${formatBytes(latest.storedBytes)}`,
      ];
      if (latest.metadata)
        evidence.push(
          // A prefix: report redaction hides long key-like runs, and 16 hex digits identify a dump.
          `schema ${latest.metadata.schemaVersion}, sha256 ${latest.metadata.sha256.slice(0, 16)}..., pg_dump ${latest.metadata.pgDumpVersion}`,
        );
      const failures: string[] = [];
      if (!latest.metadata)
        failures.push(
          `latest backup is undescribed (${latest.metadataProblem ?? 'no metadata'}): no sha256 to trust it by`,
        );
      else if (latest.metadata.sizeBytes !== latest.storedBytes)
        failures.push(
          `stored ${latest.storedBytes} bytes but the dump had ${latest.metadata.sizeBytes} (truncated?)`,
        );
      if (size === 0 || latest.storedBytes === 0) failures.push('latest backup is empty (0 bytes)');
      if (previous) {
        const prevSize = previous.storedBytes;
        metrics.previous_size_bytes = prevSize;
        if (prevSize > 0) {
          const change = round(((latest.storedBytes - prevSize) / prevSize) * 100, 1);
          metrics.size_change_pct = change;
          evidence.push(`previous ${previous.name}: ${formatBytes(prevSize)} (change ${change}%)`);
          if (latest.storedBytes > 0 && -change > maxDrop)
            failures.push(`shrank ${-change}% since the previous backup (more than ${maxDrop}%)`);
        }
      }
      const charts = [
        {
          title: 'Backup size (MB)',
          xLabels: backups.slice(-chartBackups).map((b) => b.name.slice(4, 8)),
          yLabel: 'MB',
          series: [
            {
              kind: 'bar' as const,
              name: 'size',
              values: backups.slice(-chartBackups).map((b) => round(b.storedBytes / 1_048_576, 2)),
            },
          ],
        },
      ];
      if (ageHours > failHours)
        failures.unshift(`latest backup is ${ageHours} h old (more than ${failHours} h)`);
      if (failures.length) return { status: 'fail', summary: failures.join('; '), metrics, evidence, charts };
      if (ageHours > warnHours)
        return {
          status: 'warn',
          summary: `latest backup is ${ageHours} h old (more than ${warnHours} h): the nightly run is late`,
          metrics,
          evidence,
          charts,
        };
      return {
        status: 'ok',
        summary: `latest backup ${ageHours} h old, ${formatBytes(latest.storedBytes)}`,
        metrics,
        evidence,
        charts,
      };
    },
  };
}

function createdAt(b: BackupInfo): number {
  return b.metadata ? Date.parse(b.metadata.createdAt) : b.lastModified.getTime();
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1_048_576) return `${round(n / 1024, 1)} KiB`;
  if (n < 1_073_741_824) return `${round(n / 1_048_576, 1)} MiB`;
  return `${round(n / 1_073_741_824, 2)} GiB`;
}
