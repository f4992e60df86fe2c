/**
 * The archive's facts on a real, migrated PostgreSQL: the runs (dry runs and a killed run told
 * apart), failed and stuck objects, the oldest day found through many empty day partitions, a
 * restore's hold on it, retention with and without the environment's cap, the database's size and
 * the default partition's rows.
 */
import pg from 'pg';
import { daysAgo, seedArchiveTenants, seedDay } from '../../test/support/archive-fixture.js';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { createArchiveFactsSource } from './archive-facts.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('ops_archive_facts');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** A run that started `hoursAgo` hours ago; finished a minute later unless `killed`. */
const run = (
  actor: string,
  hoursAgo: number,
  o: { dryRun?: boolean; killed?: boolean; bytes?: number; errors?: string[]; mode?: string } = {},
) =>
  pool.query(
    `insert into ops.archive_runs (actor, mode, dry_run, started_at, finished_at, unfinished, objects_exported,
                                   objects_verified, rows_verified, rows_removed, errors, database_bytes,
                                   default_partition_rows)
     select $1, $2, $3, now() - make_interval(hours => $4),
            case when $5 then null else now() - make_interval(hours => $4) + interval '1 minute' end,
            case when $5 then null else false end,
            case when $5 then null else 2 end, case when $5 then null else 2 end,
            case when $5 then null else 40 end, case when $5 then null else 40 end,
            case when $5 then '{}'::text[] else $6 end, case when $5 then null else $7::bigint end,
            case when $5 then null else 0 end`,
    [
      actor,
      o.mode ?? 'enabled',
      o.dryRun ?? false,
      hoursAgo,
      o.killed ?? false,
      o.errors ?? [],
      o.bytes ?? null,
    ],
  );

test('nothing yet: no runs, no objects, empty partitions, an empty default partition; the size all the same', async () => {
  const facts = await createArchiveFactsSource(pool).read();
  expect(facts).toMatchObject({
    lastFinished: null,
    lastStarted: null,
    recentRuns: [],
    problemObjects: [],
    problemObjectCount: 0,
    oldestDay: null, // the migration's partitions (8 days back, 2 ahead) hold nothing
    oldestDayHeldUntil: null,
    retention: { tenants: 0, shortestDays: null, longestDays: null },
    defaultPartition: { rows: 0, capped: false, oldestDay: null, newestDay: null },
  });
  expect(facts.databaseBytes).toBeGreaterThan(1_000_000);
});

test('runs: the last finished one leaves dry runs out, the last started one may be killed; samples of 8 days', async () => {
  await run('ten days ago', 240, { bytes: 100 });
  await run('yesterday', 26, { bytes: 200, errors: ['2026-10-02: boom'] });
  await run('a dry run', 3, { dryRun: true, bytes: 300 });
  await run('killed', 2, { killed: true });
  await run('a killed dry run', 1, { dryRun: true, killed: true });
  const facts = await createArchiveFactsSource(pool).read();
  expect(facts.lastFinished).toMatchObject({
    actor: 'yesterday',
    mode: 'enabled',
    dryRun: false,
    unfinished: false,
    objectsExported: 2,
    objectsVerified: 2,
    rowsVerified: 40,
    rowsRemoved: 40,
    errors: ['2026-10-02: boom'],
    databaseBytes: 200,
    defaultPartitionRows: 0,
  });
  expect(facts.lastFinished!.finishedAt! - facts.lastFinished!.startedAt).toBe(60_000);
  expect(facts.lastStarted).toMatchObject({
    actor: 'killed',
    finishedAt: null,
    unfinished: null,
    errors: [],
  });
  expect(facts.recentRuns.map((r) => [r.actor, r.databaseBytes])).toEqual([
    ['yesterday', 200],
    ['a dry run', 300],
  ]);
  expect((await createArchiveFactsSource(pool).read({ sampleDays: 11 })).recentRuns).toHaveLength(3);
});

test('objects: failed ones, and exporting or uploaded ones untouched for more than a day, oldest first, bounded', async () => {
  const object = (name: string, state: string, hoursAgo: number, error: string | null = null) =>
    pool.query(
      `insert into ops.archive_objects (tenant_id, day, tenant_slug, blob_name, state, rows, bytes, sha256,
                                        content_sha256, schema_version, format, error, uploaded_at, verified_at,
                                        updated_at)
       values (gen_random_uuid(), '2026-10-01', 'acme', $1, $2,
               case when $2 in ('exporting', 'failed') then null else 1 end,
               case when $2 in ('exporting', 'failed') then null else 1 end,
               case when $2 in ('exporting', 'failed') then null else repeat('a', 64) end,
               case when $2 in ('exporting', 'failed') then null else repeat('b', 64) end,
               case when $2 in ('exporting', 'failed') then null else 'v' end, 'f', $3,
               case when $2 in ('exporting', 'failed') then null else now() end,
               case when $2 = 'verified' then now() end,
               now() - make_interval(hours => $4))`,
      [name, state, error, hoursAgo],
    );
  await object('acme/2026/10/01.ndjson.gz', 'failed', 1, 'sha256 differs');
  await object('acme/2026/10/02.ndjson.gz', 'exporting', 48);
  await object('acme/2026/10/03.ndjson.gz', 'uploaded', 30);
  await object('acme/2026/10/04.ndjson.gz', 'uploaded', 1); // in progress, not stuck
  await object('acme/2026/10/05.ndjson.gz', 'verified', 100); // waits for its day: not a problem
  const source = createArchiveFactsSource(pool);
  const facts = await source.read({ maxObjects: 2 });
  expect(facts.problemObjectCount).toBe(3);
  expect(facts.problemObjects.map((o) => [o.blobName, o.state, o.error])).toEqual([
    ['acme/2026/10/02.ndjson.gz', 'exporting', null],
    ['acme/2026/10/03.ndjson.gz', 'uploaded', null],
  ]);
  expect(facts.problemObjects[0]).toMatchObject({ tenant: 'acme', day: '2026-10-01' });
  const strict = await source.read({ stuckHours: 0.5 });
  expect(strict.problemObjects.map((o) => o.blobName)).toEqual([
    'acme/2026/10/02.ndjson.gz',
    'acme/2026/10/03.ndjson.gz',
    'acme/2026/10/01.ndjson.gz',
    'acme/2026/10/04.ndjson.gz',
  ]);
});

test('the oldest day with rows, past 60 empty day partitions; a hold on it; retention with and without the cap', async () => {
  const tenants = await seedArchiveTenants(pool, [
    { slug: 'short', retentionDays: 30 },
    { slug: 'long', retentionDays: 90 },
  ]);
  await pool.query(`select ops.ensure_telemetry_partitions($1::date, 60)`, [daysAgo(100)]);
  await seedDay(pool, daysAgo(40), [tenants[1]!], 2);
  await seedDay(pool, daysAgo(20), tenants, 2);
  const source = createArchiveFactsSource(pool);
  const facts = await source.read();
  expect(facts.oldestDay).toBe(daysAgo(40));
  expect(facts.oldestDayHeldUntil).toBeNull();
  expect(facts.retention).toEqual({ tenants: 2, shortestDays: 30, longestDays: 90 });
  expect((await createArchiveFactsSource(pool, { retentionDays: 60 }).read()).retention).toEqual({
    tenants: 2,
    shortestDays: 30,
    longestDays: 60,
  });

  const until = await pool.query<{ until: Date }>(
    `insert into ops.archive_holds (tenant_id, day, until) values ($1, $2, now() + interval '3 days') returning until`,
    [tenants[1]!.id, daysAgo(40)],
  );
  expect((await source.read()).oldestDayHeldUntil).toBe(until.rows[0]!.until.getTime());
  await pool.query(`update ops.archive_holds set until = now() - interval '1 hour'`);
  expect((await source.read()).oldestDayHeldUntil).toBeNull(); // a hold that ended holds nothing
});

test('the default partition: rows counted, with the days they are of', async () => {
  await pool.query(
    `insert into public.telemetry_default (tenant_id, device_id, ts, msg_key, metrics)
     select gen_random_uuid(), gen_random_uuid(), timestamptz '2099-01-01 12:00Z' + g * interval '10 hours', 'k', '{}'
       from generate_series(0, 2) g`,
  );
  const facts = await createArchiveFactsSource(pool).read();
  expect(facts.defaultPartition).toEqual({
    rows: 3,
    capped: false,
    oldestDay: '2099-01-01',
    newestDay: '2099-01-02',
  });
});
