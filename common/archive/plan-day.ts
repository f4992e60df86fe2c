/**
 * What the daily run does with one day partition, decided from facts alone (tested without a
 * database): per tenant with rows that day, keep them (within retention, or of a tenant whose
 * retention is unknown), leave them held (past retention, but a restore holds them) or take them
 * out (archive, or purge without a copy); then how the rows taken out leave the database: the whole
 * partition dropped when no tenant keeps rows there, else each leaving tenant's rows deleted.
 */
import { DEFAULT_TELEMETRY_LIMITS } from '../telemetry.js';

export type ArchiveMode = 'disabled' | 'enabled' | 'purge-without-archive';

/**
 * No day newer than this is ever taken out, whatever the retention: ingest still accepts rows up to
 * maxBackfillMs old and recreates those days' partitions (ingest-service.ts ensurePartitions), so a
 * day must be past that window, plus the day ingest's window starts on, before it is final.
 */
export const MIN_ARCHIVE_AGE_DAYS = Math.ceil(DEFAULT_TELEMETRY_LIMITS.maxBackfillMs / 86_400_000) + 1;

export interface TenantOnDay {
  tenantId: string;
  rows: number;
  /** The object folder: the tenant's slug, or its id when the tenant no longer exists. */
  folder: string;
  /** Effective retention; null when nothing says (a deleted tenant and no environment cap). */
  retentionDays: number | null;
  held: boolean;
}

/** `held`: past retention, but a restore's hold (ops.archive_holds) keeps them for now. */
export type TenantAction = 'keep' | 'held' | 'archive' | 'purge';

export interface TenantPlan extends TenantOnDay {
  action: TenantAction;
  why: string;
}

export interface DayPlan {
  day: string;
  tenants: TenantPlan[];
  /** drop: the partition goes (every tenant's rows leave, or it is empty); delete: per tenant; none. */
  removal: 'drop' | 'delete' | 'none';
}

/** Whether rows with this action leave the database. */
export function leaves(action: TenantAction): boolean {
  return action === 'archive' || action === 'purge';
}

/** `day` (YYYY-MM-DD) plus `n` days. */
export function addDays(day: string, n: number): string {
  return new Date(Date.parse(`${day}T00:00:00Z`) + n * 86_400_000).toISOString().slice(0, 10);
}

/** The first day whose rows a retention of `days` still keeps on `today`: older days are past it. */
export function keepFrom(today: string, retentionDays: number): string {
  return addDays(today, -Math.max(retentionDays, MIN_ARCHIVE_AGE_DAYS));
}

export function planDay(options: {
  day: string;
  today: string;
  mode: Exclude<ArchiveMode, 'disabled'>;
  tenants: TenantOnDay[];
}): DayPlan {
  const { day, today, mode } = options;
  const tenants = options.tenants.map((t): TenantPlan => {
    if (t.retentionDays === null)
      return {
        ...t,
        action: 'keep',
        why: 'no retention known (tenant deleted; no environment retentionDays)',
      };
    if (day >= keepFrom(today, t.retentionDays))
      return { ...t, action: 'keep', why: `within retention (${t.retentionDays} days)` };
    if (t.held) return { ...t, action: 'held', why: 'restored rows held (ops.archive_holds)' };
    return mode === 'enabled'
      ? { ...t, action: 'archive', why: `older than ${t.retentionDays} days` }
      : { ...t, action: 'purge', why: `older than ${t.retentionDays} days` };
  });
  const leaving = tenants.filter((t) => leaves(t.action)).length;
  const removal =
    day >= addDays(today, -MIN_ARCHIVE_AGE_DAYS)
      ? 'none'
      : leaving === tenants.length
        ? 'drop'
        : leaving > 0
          ? 'delete'
          : 'none';
  return { day, tenants, removal };
}
