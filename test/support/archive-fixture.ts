/**
 * Telemetry for the archive's tests (common/archive, ops/archive): tenants on plans of a
 * given retention, rows on given days (inserted through public.telemetry, so the hourly rollup
 * counts them as ingest's would), and the rows of the database or of archive objects in one
 * comparable form.
 */
import type pg from 'pg';
import { createDevice, createTenant, upsertPlan } from '../../common/provisioning.js';
import { digestArchiveObject } from '../../common/telemetry-archive.js';
import type { ArchiveStore } from '../../common/telemetry-archive-store.js';
import { FAKE_HASH } from './ingest-fixture.js';

export interface ArchiveTenant {
  id: string;
  slug: string;
  devices: string[];
}

/** A tenant per spec, on a plan `ret-<days>` with that retention, with two devices. */
export async function seedArchiveTenants(
  pool: pg.Pool,
  specs: { slug: string; retentionDays: number }[],
): Promise<ArchiveTenant[]> {
  const out: ArchiveTenant[] = [];
  for (const spec of specs) {
    const planId = `ret-${spec.retentionDays}`;
    await upsertPlan(pool, {
      id: planId,
      name: `Retention ${spec.retentionDays} days`,
      maxDevices: 10,
      maxMessagesPerDay: 1_000_000,
      retentionDays: spec.retentionDays,
      aiTokensPerMonth: 0,
      monthlyPriceCents: 0,
    });
    const id = await createTenant(pool, { slug: spec.slug, name: spec.slug, planId });
    const devices = [];
    for (const n of [1, 2])
      devices.push(
        await createDevice(pool, {
          tenantId: id,
          deviceKey: `${spec.slug}-d${n}`,
          credentialHash: FAKE_HASH,
        }),
      );
    out.push({ id, slug: spec.slug, devices });
  }
  return out;
}

/** `n` days before today (UTC), YYYY-MM-DD. */
export function daysAgo(n: number, now = new Date()): string {
  return new Date(Date.parse(now.toISOString().slice(0, 10)) - n * 86_400_000).toISOString().slice(0, 10);
}

/**
 * `perDevice` rows per device of each tenant, spread over the UTC day `day`, with its partition.
 * Metrics mix numbers, text that needs escaping in JSON (quotes, backslashes, a newline, non-ASCII)
 * and a nested object; the devices' rows share their ts, and every tenth row of a device shares its
 * ts with the one before (the key's msg_key tells them apart).
 */
export async function seedDay(
  pool: pg.Pool,
  day: string,
  tenants: ArchiveTenant[],
  perDevice: number,
  options: { partition?: boolean } = {},
): Promise<number> {
  // Without its partition the rows land in the default one, as rows written before it existed do.
  if (options.partition !== false)
    await pool.query(`select ops.ensure_telemetry_partitions($1::date, 1)`, [day]);
  const res = await pool.query(
    `insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics, received_at)
     select d.tenant_id, d.id,
            $1::date::timestamp at time zone 'UTC' + ((g - (g % 10 = 0)::int) * (86399.0 / $2)) * interval '1 second',
            'k-' || g || case when g % 13 = 0 then e'-\\\\"q"' else '' end,
            jsonb_build_object(
              'temp', 20 + (g % 40) / 4.0,
              'count', g,
              'state', case when g % 7 = 0 then e'odd "quote" \\\\ back\\nline ü €' else 'ok' end,
              'pos', jsonb_build_object('lat', -6.2 + g / 1000.0, 'lon', 106.8)),
            $1::date::timestamp at time zone 'UTC' + (g * (86399.0 / $2) + 0.25) * interval '1 second'
       from public.devices d
       cross join generate_series(1, $2::int) g
      where d.tenant_id = any ($3::uuid[])`,
    [day, perDevice, tenants.map((t) => t.id)],
  );
  return res.rowCount ?? 0;
}

const US = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/**
 * The rows of the tenants on `days`, one comparable string per row (sorted): a JSON object with the
 * archive's fields, timestamps in UTC with six digits (comparableLine puts an archive line in the
 * same form). Built by PostgreSQL independently of the archive's own export.
 */
export async function databaseRows(pool: pg.Pool, tenantIds: string[], days: string[]): Promise<string[]> {
  const res = await pool.query<{ line: unknown }>(
    `select json_build_object('tenant_id', t.tenant_id, 'device_id', t.device_id,
                              'ts', to_char(t.ts at time zone 'UTC', ${US}), 'msg_key', t.msg_key,
                              'metrics', t.metrics, 'received_at', to_char(t.received_at at time zone 'UTC', ${US})) as line
       from public.telemetry t
      where t.tenant_id = any ($1::uuid[])
        and (t.ts at time zone 'UTC')::date = any ($2::date[])`,
    [tenantIds, days],
  );
  return res.rows.map((r) => JSON.stringify(r.line)).sort();
}

/** `2026-10-21T08:00:00.25Z` as `2026-10-21T08:00:00.250000Z`. */
export function sixDigits(ts: string): string {
  const m = /^(.{19})(?:\.(\d{1,6}))?Z$/.exec(ts);
  if (!m) throw new Error(`not an archive timestamp: ${ts}`);
  return `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}Z`;
}

/** md5 of the tenants' rows on `days` as PostgreSQL prints them: every digit and microsecond. */
export async function rowsDigest(pool: pg.Pool, tenantIds: string[], days: string[]): Promise<string> {
  const res = await pool.query<{ md5: string }>(
    `select md5(coalesce(string_agg(t::text, '|' order by device_id, ts, msg_key), '')) as md5
       from public.telemetry t
      where t.tenant_id = any ($1::uuid[]) and (t.ts at time zone 'UTC')::date = any ($2::date[])`,
    [tenantIds, days],
  );
  return res.rows[0]!.md5;
}

/** An archive line in the form databaseRows gives (values compared, every digit of metrics kept by rowsDigest). */
export function comparableLine(line: string): string {
  const row = JSON.parse(line) as { ts: string; received_at: string };
  return JSON.stringify({ ...row, ts: sixDigits(row.ts), received_at: sixDigits(row.received_at) });
}

/**
 * Every line of every object under `prefix` (sorted), and per object its name, rows and whether its
 * bytes and rows are what its manifest says.
 */
export async function archivedRows(
  store: ArchiveStore,
  prefix = '',
): Promise<{ lines: string[]; objects: { name: string; rows: number; matchesManifest: boolean }[] }> {
  const lines: string[] = [];
  const objects = [];
  for (const info of await store.list(prefix)) {
    const { body } = await store.open(info.name);
    const digest = await digestArchiveObject(body, async (batch) => {
      lines.push(...batch.map(comparableLine));
    });
    const m = info.manifest.ok ? info.manifest.manifest : null;
    objects.push({
      name: info.name,
      rows: digest.rows,
      matchesManifest:
        m !== null && m.sha256 === digest.sha256 && m.rows === digest.rows && m.bytes === digest.bytes,
    });
  }
  return { lines: lines.sort(), objects };
}

/** A digest of the whole telemetry table and its hourly rollup, for "nothing changed". */
export async function telemetryFingerprint(
  pool: pg.Pool,
): Promise<{ rows: number; md5: string; hourly: string }> {
  const res = await pool.query<{ rows: string; md5: string; hourly: string }>(
    `select (select count(*) from public.telemetry) as rows,
            (select md5(coalesce(string_agg(t::text, '|' order by device_id, ts, msg_key), '')) from public.telemetry t) as md5,
            (select md5(coalesce(string_agg(h::text, '|' order by tenant_id, device_id, hour, metric), ''))
               from public.telemetry_hourly h) as hourly`,
  );
  const r = res.rows[0]!;
  return { rows: Number(r.rows), md5: r.md5, hourly: r.hourly };
}
