/**
 * The hourly rollup's retention on a real PostgreSQL with the migrations: exactly the hours before
 * the cut leave, in batches, with one audit row; a dry run counts and deletes nothing; a deadline
 * stops it for the next run; through the archive run only when the archive is not disabled.
 */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { runArchive } from './run-archive.js';
import { MIN_HOURLY_RETENTION_DAYS, trimHourlyRollup } from './trim-hourly.js';

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('trim_hourly');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
}, 120_000);
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const TODAY = '2026-12-02';
const TENANTS = ['00000000-0000-0000-0000-00000000a001', '00000000-0000-0000-0000-00000000a002'];
const DEVICE = '00000000-0000-0000-0000-00000000d001';
const hoursAgo = (h: number) => new Date(Date.parse(`${TODAY}T00:00:00Z`) - h * 3_600_000).toISOString();

/** Every 7th hour over the last 50 days, two tenants, two metrics: 2 x 2 x 172 rows. */
beforeEach(async () => {
  await pool.query('truncate public.telemetry_hourly, ops.audit_log');
  await pool.query(
    `insert into public.telemetry_hourly (tenant_id, device_id, hour, metric, samples, sum, min, max)
     select t, $2::uuid, $3::timestamptz - make_interval(hours => h), m, 1, 1, 1, 1
       from unnest($1::uuid[]) t, generate_series(0, 50 * 24 - 1, 7) h, unnest(array['temp', 'hum']) m`,
    [TENANTS, DEVICE, `${TODAY}T00:00:00Z`],
  );
});

const hours = async () =>
  (
    await pool.query<{ hour: Date; n: string }>(
      'select hour, count(*) as n from public.telemetry_hourly group by hour order by hour',
    )
  ).rows.map((r) => r.hour.toISOString());

test('the hours before the cut leave, in batches, and nothing else; one audit row says how many', async () => {
  const before = await hours();
  const cut = hoursAgo(40 * 24);
  const expected = before.filter((h) => h >= cut);
  const leaving = (before.length - expected.length) * 4;
  expect(leaving).toBeGreaterThan(0);
  const lines: string[] = [];
  const trim = await trimHourlyRollup(pool, {
    today: TODAY,
    days: 40,
    batchRows: 7,
    actor: 'test',
    log: (l) => lines.push(l),
  });
  expect(trim).toEqual({ before: cut, days: 40, rows: leaving, unfinished: false });
  expect(await hours()).toEqual(expected);
  const audit = await pool.query('select actor, action, detail from ops.audit_log');
  expect(audit.rows).toEqual([
    {
      actor: 'test',
      action: 'telemetry_hourly.trim',
      detail: { before: cut, days: 40, rows: leaving, unfinished: false },
    },
  ]);
  expect(lines.join('\n')).toContain(`${leaving} row(s) before 2026-10-23 deleted (40 days kept)`);
  // Again: nothing left to take, no audit row.
  expect((await trimHourlyRollup(pool, { today: TODAY, days: 40, actor: 'test' })).rows).toBe(0);
  expect((await pool.query('select count(*)::int n from ops.audit_log')).rows[0].n).toBe(1);
});

test('a dry run counts what would leave and deletes nothing', async () => {
  const before = await hours();
  const trim = await trimHourlyRollup(pool, { today: TODAY, days: 45, dryRun: true, actor: 'test' });
  expect(trim.rows).toBe(before.filter((h) => h < hoursAgo(45 * 24)).length * 4);
  expect(await hours()).toEqual(before);
  expect((await pool.query('select count(*)::int n from ops.audit_log')).rows[0].n).toBe(0);
});

test('past the deadline nothing more is deleted and the trim says it is unfinished', async () => {
  const before = await hours();
  const trim = await trimHourlyRollup(pool, {
    today: TODAY,
    days: 40,
    deadline: Date.now() - 1,
    actor: 'test',
  });
  expect(trim).toMatchObject({ rows: 0, unfinished: true });
  expect(await hours()).toEqual(before);
});

test(`less than ${MIN_HOURLY_RETENTION_DAYS} days is refused (the dashboard's 30-day charts read the rollup)`, async () => {
  await expect(trimHourlyRollup(pool, { today: TODAY, days: 30, actor: 'test' })).rejects.toThrow(
    /at least 31 days/,
  );
});

describe('through the archive run', () => {
  const now = () => new Date(`${TODAY}T20:30:00Z`);
  test('disabled: the rollup stays whole, whatever its retention says', async () => {
    const before = await hours();
    const result = await runArchive({ pool, mode: 'disabled', hourlyRetentionDays: 31, now });
    expect(result.hourly).toBeUndefined();
    expect(await hours()).toEqual(before);
  });

  test('purging: the rollup is trimmed after the days, and the result says how much', async () => {
    const result = await runArchive({
      pool,
      mode: 'purge-without-archive',
      purgeReason: 'test of the hourly retention',
      hourlyRetentionDays: 31,
      now,
    });
    expect(result.errors).toEqual([]);
    expect(result.hourly).toMatchObject({ before: hoursAgo(31 * 24), days: 31 });
    expect(result.hourly!.rows).toBeGreaterThan(0);
    expect((await hours()).every((h) => h >= hoursAgo(31 * 24))).toBe(true);
  });

  test('a dry run of the archive reports what the rollup would lose', async () => {
    const before = await hours();
    const result = await runArchive({
      pool,
      mode: 'enabled',
      hourlyRetentionDays: 31,
      dryRun: true,
      now,
    });
    expect(result.hourly!.rows).toBe(before.filter((h) => h < hoursAgo(31 * 24)).length * 4);
    expect(await hours()).toEqual(before);
  });
});
