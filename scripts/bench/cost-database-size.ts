/**
 * bench:cost's database meter: pg_total_relation_size (heap, indexes, TOAST, free space and
 * visibility maps) of what ingest writes, in groups: the telemetry partitions, the hourly rollups
 * (usage_hourly, telemetry_hourly) and the per-device rows it updates (device_latest, devices'
 * last_seen). A window's growth is the difference of two readings; sizes move by 8 kB pages.
 */
import type pg from 'pg';

export interface DatabaseSize {
  telemetry: number;
  rollups: number;
  latest: number;
  total: number;
}

const SIZE_SQL = `
select
  (select coalesce(sum(pg_total_relation_size(i.inhrelid)), 0)
     from pg_inherits i where i.inhparent = 'public.telemetry'::regclass)::float8 as telemetry,
  (pg_total_relation_size('public.usage_hourly') + pg_total_relation_size('public.telemetry_hourly'))::float8 as rollups,
  (pg_total_relation_size('public.device_latest') + pg_total_relation_size('public.devices'))::float8 as latest`;

export async function databaseSize(db: pg.Pool | pg.ClientBase): Promise<DatabaseSize> {
  const { rows } = await db.query<{ telemetry: number; rollups: number; latest: number }>(SIZE_SQL);
  const { telemetry, rollups, latest } = rows[0]!;
  return { telemetry, rollups, latest, total: telemetry + rollups + latest };
}

export function sizeGrowth(before: DatabaseSize, after: DatabaseSize): DatabaseSize {
  return {
    telemetry: after.telemetry - before.telemetry,
    rollups: after.rollups - before.rollups,
    latest: after.latest - before.latest,
    total: after.total - before.total,
  };
}
