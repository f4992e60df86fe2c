/**
 * The archive run's record in ops.archive_runs on a real, migrated PostgreSQL: a run's start and
 * end with its results and the measurements at its end (database size, default partition rows up
 * to the cap), a run that throws, and a run whose record cannot be written still running.
 */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { DEFAULT_PARTITION_COUNT_CAP, runRecordedArchive } from './archive-run-record.js';
import type { ArchiveRunResult } from './run-archive.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('archive_run_record');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await pool.query('truncate ops.archive_runs, public.telemetry_default');
});

interface RunRow {
  actor: string;
  mode: string;
  dry_run: boolean;
  retention_days: number | null;
  started_at: Date;
  finished_at: Date | null;
  unfinished: boolean | null;
  objects_exported: number | null;
  objects_verified: number | null;
  rows_verified: string | null;
  rows_removed: string | null;
  errors: string[];
  database_bytes: string | null;
  default_partition_rows: string | null;
  summary: Record<string, unknown> | null;
}
const runs = async () => (await pool.query<RunRow>('select * from ops.archive_runs order by id')).rows;

const RESULT: ArchiveRunResult = {
  mode: 'enabled',
  partitionsCreated: 1,
  days: [
    { day: '2026-10-01', outcome: 'archived: partition dropped, 7 rows' },
    { day: '2026-10-02', outcome: 'failed: boom' },
  ],
  objectsExported: 3,
  objectsVerified: 2,
  rowsVerified: 7,
  partitionsDropped: ['telemetry_p20261001'],
  tenantDaysDeleted: 0,
  rowsRemoved: 7,
  purged: [],
  errors: ['2026-10-02: archive object acme/2026/10/02.ndjson.gz failed verification'],
  unfinished: true,
};

test('a disabled run (the real one): recorded from start to end, with the database size and an empty default partition', async () => {
  const result = await runRecordedArchive({ pool, mode: 'disabled', actor: 'archive_timer' });
  expect(result.runId).toEqual(expect.any(Number));
  expect(result.recordError).toBeUndefined();
  expect(result.mode).toBe('disabled');
  const [row] = await runs();
  expect(row).toMatchObject({
    actor: 'archive_timer',
    mode: 'disabled',
    dry_run: false,
    retention_days: null,
    unfinished: false,
    objects_exported: 0,
    objects_verified: 0,
    rows_verified: '0',
    rows_removed: '0',
    errors: [],
    default_partition_rows: '0',
    summary: { partitionsCreated: result.partitionsCreated, days: [], partitionsDropped: [], purged: [] },
  });
  // A migrated database is several MB: pg_database_size, not a count of something.
  expect(Number(row!.database_bytes)).toBeGreaterThan(1_000_000);
  expect(row!.finished_at!.getTime()).toBeGreaterThanOrEqual(row!.started_at.getTime());
});

test('the options reach the run as given (dry run included), and its results are recorded', async () => {
  let seen: Record<string, unknown> | undefined;
  const result = await runRecordedArchive(
    {
      pool,
      mode: 'enabled',
      dryRun: true,
      retentionDays: 30,
      actor: 'ops archive run',
      purgeReason: 'not used when enabled',
    },
    async (options) => {
      seen = { ...options };
      return RESULT;
    },
  );
  expect(seen).toMatchObject({ mode: 'enabled', dryRun: true, retentionDays: 30, actor: 'ops archive run' });
  expect(result).toMatchObject({ ...RESULT, runId: expect.any(Number) });
  const [row] = await runs();
  expect(row).toMatchObject({
    actor: 'ops archive run',
    mode: 'enabled',
    dry_run: true,
    retention_days: 30,
    unfinished: true,
    objects_exported: 3,
    objects_verified: 2,
    rows_verified: '7',
    rows_removed: '7',
    errors: RESULT.errors,
    summary: {
      partitionsCreated: 1,
      days: RESULT.days,
      partitionsDropped: ['telemetry_p20261001'],
      tenantDaysDeleted: 0,
      purged: [],
    },
  });
});

test('a purge records its reason with what it purged', async () => {
  const purged = [{ day: '2026-09-01', tenant: 'acme', rows: 12 }];
  await runRecordedArchive(
    { pool, mode: 'purge-without-archive', purgeReason: 'Blob archive deleted; 30 days kept' },
    async () => ({ ...RESULT, mode: 'purge-without-archive', purged, errors: [], unfinished: false }),
  );
  const [row] = await runs();
  expect(row!.summary).toMatchObject({ purged, purgeReason: 'Blob archive deleted; 30 days kept' });
  expect(row!.actor).toBe('archive');
});

test('a run that throws: its message is recorded as its error, with the measurements, and the throw goes on', async () => {
  await expect(
    runRecordedArchive({ pool, mode: 'enabled' }, async () => {
      throw new Error('archive: mode enabled needs a store');
    }),
  ).rejects.toThrow('archive: mode enabled needs a store');
  const [row] = await runs();
  expect(row).toMatchObject({
    mode: 'enabled',
    errors: ['the run failed: archive: mode enabled needs a store'],
    unfinished: null,
    objects_exported: null,
    summary: { threw: true },
    default_partition_rows: '0',
  });
  expect(row!.finished_at).not.toBeNull();
  expect(Number(row!.database_bytes)).toBeGreaterThan(0);
});

test('rows in the default partition are counted at the end, up to the cap', async () => {
  // 2099 has no partition: these land in the default one, as rows of a day without one would.
  const insert = (n: number) =>
    pool.query(
      `insert into public.telemetry_default (tenant_id, device_id, ts, msg_key, metrics)
       select gen_random_uuid(), gen_random_uuid(), timestamptz '2099-01-01' + g * interval '1 second', 'k', '{}'
         from generate_series(1, $1::int) g`,
      [n],
    );
  await insert(25);
  await runRecordedArchive({ pool, mode: 'disabled' });
  await insert(DEFAULT_PARTITION_COUNT_CAP);
  await runRecordedArchive({ pool, mode: 'disabled' });
  expect((await runs()).map((r) => r.default_partition_rows)).toEqual([
    '25',
    String(DEFAULT_PARTITION_COUNT_CAP),
  ]);
});

test('a start that cannot be recorded does not stop the run: the result says why', async () => {
  await pool.query('alter table ops.archive_runs rename to archive_runs_away');
  let ran = false;
  const logged: string[] = [];
  try {
    const result = await runRecordedArchive(
      { pool, mode: 'disabled', log: (l) => logged.push(l) },
      async () => {
        ran = true;
        return { ...RESULT, errors: [] };
      },
    );
    expect(ran).toBe(true);
    expect(result.runId).toBeNull();
    expect(result.recordError).toMatch(
      /^the start of the archive run was not recorded in ops.archive_runs: relation "ops.archive_runs" does not exist$/,
    );
    expect(logged).toEqual([result.recordError]);
  } finally {
    await pool.query('alter table ops.archive_runs_away rename to archive_runs');
  }
});
