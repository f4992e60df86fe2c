/**
 * Brings a tenant's archived telemetry back into the database (`ops archive restore`,
 * docs/archive.md): every object of the tenant for the days asked, from the archive's bookkeeping
 * (ops.archive_objects) and from the container itself (objects under the tenant's folder), each in
 * one transaction that
 *
 *   1. recreates the day's partition if the archive dropped it (ops.ensure_telemetry_partitions),
 *   2. holds the tenant-day (ops.archive_holds) so the daily archive leaves it alone until then,
 *   3. inserts the object's rows straight into that partition, ON CONFLICT (the telemetry key:
 *      device_id, ts, msg_key) DO NOTHING, counting what was inserted and what was already there,
 *   4. commits only when the object read back is the one its manifest describes (sha256, rows).
 *
 * Lines are parsed by PostgreSQL (`::jsonb`), so numbers and timestamps come back exactly as they
 * were. The rows go into the partition, not through public.telemetry: the hourly rollup the
 * dashboard charts from still counts them (the archive keeps telemetry_hourly), and the trigger on
 * the parent would count them twice.
 */
import type pg from 'pg';
import {
  digestArchiveObject,
  isDay,
  parseArchiveObjectName,
  type ArchiveManifest,
} from '../../common/telemetry-archive.js';
import type { ArchiveStore } from '../../common/telemetry-archive-store.js';

export interface RestoreOptions {
  pool: pg.Pool;
  store: ArchiveStore;
  /** The tenant's slug. */
  tenant: string;
  /** First and last UTC day, YYYY-MM-DD, inclusive. */
  from: string;
  to: string;
  /** Days the archive leaves the restored days alone (default 7). */
  holdDays?: number;
  /** Who ops.audit_log and the hold name. */
  actor?: string;
  log?: (line: string) => void;
  /** Rows per insert statement. */
  batchRows?: number;
}

export interface RestoredObject {
  name: string;
  day: string;
  rows: number;
  restored: number;
  alreadyThere: number;
}

export interface RestoreResult {
  tenant: string;
  tenantId: string;
  from: string;
  to: string;
  objects: RestoredObject[];
  restored: number;
  alreadyThere: number;
  /** The archive leaves the restored days alone until then; null when nothing was restored. */
  heldUntil: string | null;
  /** Objects not restored (verification failed, another tenant's): their names in each line. */
  problems: string[];
}

export async function restoreArchive(o: RestoreOptions): Promise<RestoreResult> {
  const log = o.log ?? (() => undefined);
  const holdDays = o.holdDays ?? 7;
  if (!isDay(o.from) || !isDay(o.to)) throw new Error('--from and --to must be days (YYYY-MM-DD)');
  if (o.from > o.to) throw new Error(`--from ${o.from} is after --to ${o.to}`);
  if (!(Number.isInteger(holdDays) && holdDays >= 1 && holdDays <= 365))
    throw new Error('--hold-days must be a whole number from 1 to 365');
  const found = await o.pool.query<{ id: string }>(`select id from public.tenants where slug = $1`, [
    o.tenant,
  ]);
  const tenantId = found.rows[0]?.id;
  if (!tenantId) throw new Error(`no tenant "${o.tenant}" in public.tenants`);

  const result: RestoreResult = {
    tenant: o.tenant,
    tenantId,
    from: o.from,
    to: o.to,
    objects: [],
    restored: 0,
    alreadyThere: 0,
    heldUntil: null,
    problems: [],
  };
  const names = await objectNames(o, tenantId, result.problems);
  log(`${names.length} object(s) of ${o.tenant} from ${o.from} to ${o.to} in ${o.store.description}`);
  for (const { name, day } of names) {
    try {
      const restored = await restoreObject(o, tenantId, name, day, holdDays);
      result.objects.push(restored);
      result.restored += restored.restored;
      result.alreadyThere += restored.alreadyThere;
      result.heldUntil = restored.heldUntil;
      log(`${name}: ${restored.restored} rows restored, ${restored.alreadyThere} already there`);
    } catch (error) {
      result.problems.push((error as Error).message);
      log(`${name}: NOT restored: ${(error as Error).message}`);
    }
  }
  return result;
}

/** The tenant's objects for the days: recorded ones (any folder) and those in its folder, by day. */
async function objectNames(
  o: RestoreOptions,
  tenantId: string,
  problems: string[],
): Promise<{ name: string; day: string }[]> {
  const byName = new Map<string, { day: string; generation: number }>();
  const recorded = await o.pool.query<{ blob_name: string; day: string; generation: number }>(
    `select blob_name, to_char(day, 'YYYY-MM-DD') as day, generation from ops.archive_objects
      where tenant_id = $1 and day between $2::date and $3::date and state in ('uploaded', 'verified', 'dropped')`,
    [tenantId, o.from, o.to],
  );
  for (const r of recorded.rows) byName.set(r.blob_name, { day: r.day, generation: r.generation });
  for (const month of months(o.from, o.to)) {
    for (const info of await o.store.list(`${o.tenant}/${month}/`)) {
      const parsed = parseArchiveObjectName(info.name);
      if (!parsed || parsed.day < o.from || parsed.day > o.to || byName.has(info.name)) continue;
      if (info.manifest.ok && info.manifest.manifest.tenantId !== tenantId) {
        problems.push(
          `${info.name} belongs to tenant ${info.manifest.manifest.tenantId}, not ${o.tenant}: skipped`,
        );
        continue;
      }
      byName.set(info.name, parsed);
    }
  }
  return [...byName]
    .sort(([a, x], [b, y]) =>
      x.day !== y.day ? (x.day < y.day ? -1 : 1) : x.generation - y.generation || (a < b ? -1 : 1),
    )
    .map(([name, { day }]) => ({ name, day }));
}

async function restoreObject(
  o: RestoreOptions,
  tenantId: string,
  name: string,
  day: string,
  holdDays: number,
): Promise<RestoredObject & { heldUntil: string }> {
  const { manifest, body } = await o.store.open(name);
  if (!manifest.ok) throw new Error(`archive object ${name}: ${manifest.problem}`);
  const m: ArchiveManifest = manifest.manifest;
  if (m.tenantId !== tenantId) throw new Error(`archive object ${name} belongs to tenant ${m.tenantId}`);
  if (m.day !== day) throw new Error(`archive object ${name} holds ${m.day}, not ${day}`);
  const partition = `telemetry_p${day.replaceAll('-', '')}`;
  const client = await o.pool.connect();
  // A connection whose rollback failed is broken: not given back to the pool.
  let broken: Error | undefined;
  try {
    await client.query('begin');
    await client.query(`select ops.ensure_telemetry_partitions($1::date, 1)`, [day]);
    const hold = await client.query<{ until: Date }>(
      `insert into ops.archive_holds (tenant_id, day, until, reason, created_by)
       values ($1, $2::date, now() + make_interval(days => $3), $4, $5)
       on conflict (tenant_id, day) do update
         set until = greatest(ops.archive_holds.until, excluded.until), reason = excluded.reason,
             created_by = excluded.created_by
       returning until`,
      [tenantId, day, holdDays, `restored from ${name}`, o.actor ?? 'ops archive restore'],
    );
    let restored = 0;
    let seen = 0;
    const digest = await digestArchiveObject(
      body,
      async (lines) => {
        const res = await client.query<{ inserted: string; foreign: string }>(
          `with r as (select l::jsonb as j from unnest($1::text[]) as l),
                ins as (
                  insert into public.${partition} (tenant_id, device_id, ts, msg_key, metrics, received_at)
                  select (j->>'tenant_id')::uuid, (j->>'device_id')::uuid, (j->>'ts')::timestamptz,
                         j->>'msg_key', j->'metrics', (j->>'received_at')::timestamptz
                    from r where (j->>'tenant_id')::uuid = $2
                  on conflict do nothing
                  returning 1)
           select (select count(*) from ins) as inserted,
                  (select count(*) from r where (j->>'tenant_id')::uuid is distinct from $2) as foreign`,
          [lines, tenantId],
        );
        if (Number(res.rows[0]!.foreign) > 0)
          throw new Error(`archive object ${name} holds rows of another tenant`);
        restored += Number(res.rows[0]!.inserted);
        seen += lines.length;
      },
      o.batchRows ?? 2000,
    );
    const problems: string[] = [];
    if (digest.sha256 !== m.sha256)
      problems.push(`sha256 ${digest.sha256.slice(0, 12)}… is not its manifest's`);
    if (digest.rows !== m.rows) problems.push(`${digest.rows} rows, its manifest says ${m.rows}`);
    if (problems.length)
      throw new Error(`archive object ${name} failed verification: ${problems.join('; ')}`);
    await client.query(
      `insert into ops.audit_log (actor, action, target, detail) values ($1, 'telemetry.restore', $2, $3)`,
      [
        o.actor ?? 'ops archive restore',
        name,
        JSON.stringify({ tenant_id: tenantId, day, rows: seen, restored, already_there: seen - restored }),
      ],
    );
    await client.query('commit');
    return {
      name,
      day,
      rows: seen,
      restored,
      alreadyThere: seen - restored,
      heldUntil: hold.rows[0]!.until.toISOString(),
    };
  } catch (error) {
    await client.query('rollback').catch((e: Error) => (broken = e));
    throw error;
  } finally {
    client.release(broken);
  }
}

/** `yyyy/mm` of every month from `from` to `to`. */
function months(from: string, to: string): string[] {
  const out: string[] = [];
  let y = Number(from.slice(0, 4));
  let m = Number(from.slice(5, 7));
  const endY = Number(to.slice(0, 4));
  const endM = Number(to.slice(5, 7));
  while (y < endY || (y === endY && m <= endM)) {
    out.push(`${y}/${String(m).padStart(2, '0')}`);
    if (++m > 12) [y, m] = [y + 1, 1];
  }
  return out;
}
