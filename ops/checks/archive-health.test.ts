import { loadEnvironmentConfig } from '../config/environment-config.js';
import { runChecks } from '../engine/run-checks.js';
import type {
  ArchiveFacts,
  ArchiveFactsReadOptions,
  ArchiveProblemObject,
  ArchiveRun,
} from '../sources/archive-facts.js';
import {
  archiveHealthCheck,
  databaseLimitOf,
  leastSquaresSlope,
  type ArchiveHealthOptions,
  type DatabaseLimit,
} from './archive-health.js';

const NOW = Date.parse('2026-12-10T06:00:00Z');
const TODAY = '2026-12-10';
const HOUR = 3_600_000;
const DAY = 86_400_000;
const FREE: DatabaseLimit = { plan: 'free', bytes: 500e6, label: "the Free plan's 500 MB" };
const ENABLED = {
  mode: 'enabled' as const,
  container: 'archive',
  connectionStringEnv: 'OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
};
const DISABLED = { mode: 'disabled' as const, reason: 'the Blob archive container was deleted' };

/** `n` days before TODAY. */
const daysAgo = (n: number) => new Date(Date.parse(TODAY) - n * DAY).toISOString().slice(0, 10);

function run(hoursAgo: number, over: Partial<ArchiveRun> = {}): ArchiveRun {
  const finishedAt = NOW - hoursAgo * HOUR;
  return {
    id: 1,
    startedAt: finishedAt - 60_000,
    finishedAt,
    actor: 'archive_timer',
    mode: 'enabled',
    dryRun: false,
    retentionDays: null,
    unfinished: false,
    objectsExported: 3,
    objectsVerified: 3,
    rowsVerified: 40,
    rowsRemoved: 40,
    errors: [],
    databaseBytes: null,
    defaultPartitionRows: 0,
    ...over,
  };
}

/** One finished run a day for 7 days before NOW, `perDay` bytes fewer each day back from `bytes`. */
function dailyRuns(bytes: number, perDay: number, mode: ArchiveRun['mode'] = 'enabled'): ArchiveRun[] {
  return [7, 6, 5, 4, 3, 2, 1].map((d) => run(d * 24, { mode, databaseBytes: bytes - d * perDay }));
}

/** A healthy enabled archive: ran 10 h ago, 100 MB growing 1 MB a day, nothing old, nothing stuck. */
function facts(over: Partial<ArchiveFacts> = {}): ArchiveFacts {
  const runs = over.recentRuns ?? dailyRuns(100e6, 1e6);
  const last = { ...run(10), databaseBytes: 99.6e6 };
  return {
    lastFinished: last,
    lastStarted: last,
    recentRuns: runs,
    problemObjects: [],
    problemObjectCount: 0,
    oldestDay: daysAgo(20),
    oldestDayHeldUntil: null,
    retention: { tenants: 3, shortestDays: 14, longestDays: 30 },
    databaseBytes: 100e6,
    defaultPartition: { rows: 0, capped: false, oldestDay: null, newestDay: null },
    ...over,
  };
}

async function check(f: ArchiveFacts, options: Partial<ArchiveHealthOptions> = {}) {
  const reads: ArchiveFactsReadOptions[] = [];
  const c = archiveHealthCheck(
    {
      read: async (o = {}) => {
        reads.push(o);
        return f;
      },
    },
    { environment: 'prod', archive: ENABLED, limit: FREE, ...options },
  );
  const [result] = await runChecks([c], { now: () => NOW });
  return { ...result!, reads };
}

test('disabled: ok, explicitly disabled with its reason; the size is still projected and charted', async () => {
  const r = await check(
    facts({ lastFinished: null, lastStarted: null, recentRuns: dailyRuns(100e6, 1e6, 'disabled') }),
    { archive: DISABLED },
  );
  expect(r.id).toBe('daily.archive');
  expect(r.status).toBe('ok');
  expect(r.summary).toBe(
    "explicitly disabled: the Blob archive container was deleted; database 100 MB of the Free plan's 500 MB (20%), full in ~400 days",
  );
  expect(r.metrics).toEqual({
    problem_objects: 0,
    oldest_row_age_days: 20,
    database_bytes: 100e6,
    growth_bytes_per_day: 1e6,
    database_limit_bytes: 500e6,
    database_used_pct: 20,
    days_to_full: 400,
    default_partition_rows: 0,
  });
  expect(r.evidence).toEqual([
    'no archive run recorded (ops.archive_runs)',
    `oldest rows: ${daysAgo(20)} (20 days old); retention 14 to 30 days over 3 tenant(s)`,
    'retention is not applied while the archive is disabled',
    'database 100 MB now; growing 1 MB a day (least squares over 8 samples, 7 days)',
  ]);
  expect(r.charts).toEqual([
    {
      title: 'Database size (MB), limit 500 MB (free)',
      xLabels: ['12-03', '12-04', '12-05', '12-06', '12-07', '12-08', '12-09', '12-10'],
      yLabel: 'MB',
      series: [{ kind: 'bar', name: 'size', values: [93, 94, 95, 96, 97, 98, 99, 100] }],
    },
  ]);
  // Eight days of runs: the first of the seven's samples is in whatever the hour.
  expect(r.reads).toEqual([{ sampleDays: 8, stuckHours: 24 }]);
});

test.each([
  [
    '30 days to full warns',
    100e6,
    400e6 / 30 + 1,
    'warn',
    /^database full in ~30 days: 100 MB of the Free plan's 500 MB, \+13.3 MB a day \(fewer than 30\)$/,
  ],
  ['7 days to full fails', 100e6, 400e6 / 6.5, 'fail', /^database full in ~6.5 days: .* \(fewer than 7\)$/],
  [
    'over the limit fails',
    501e6,
    1e6,
    'fail',
    /^database 501 MB is over the Free plan's 500 MB: writes will be refused/,
  ],
] as const)('disabled or not, the size counts: %s', async (_name, bytes, perDay, status, summary) => {
  const r = await check(
    facts({ databaseBytes: bytes, recentRuns: dailyRuns(bytes, perDay, 'disabled'), lastFinished: null }),
    { archive: DISABLED },
  );
  expect([r.status, r.summary]).toEqual([status, expect.stringMatching(summary)]);
});

test('Pro: over the included size is a bill, said so; the thresholds still apply to the included size', async () => {
  const config = loadEnvironmentConfig('prod');
  const pro = databaseLimitOf({ ...config, database: { urlEnv: 'OPS_DATABASE_URL', plan: 'pro' } })!;
  expect(pro).toEqual({
    plan: 'pro',
    bytes: 8e9,
    label: "the Pro plan's 8 GB included",
    beyond: 'Pro bills 0.125 USD per GB-month beyond it',
  });
  const over = await check(facts({ databaseBytes: 8.5e9, recentRuns: dailyRuns(8.5e9, 1e6) }), {
    limit: pro,
  });
  expect([over.status, over.summary]).toEqual([
    'fail',
    "database 8.5 GB is over the Pro plan's 8 GB included: Pro bills 0.125 USD per GB-month beyond it",
  ]);
  const near = await check(facts({ databaseBytes: 7.9e9, recentRuns: dailyRuns(7.9e9, 20e6) }), {
    limit: pro,
  });
  expect([near.status, near.summary]).toEqual([
    'fail',
    "database full in ~5 days: 7.9 GB of the Pro plan's 8 GB included, +20 MB a day (then Pro bills 0.125 USD per GB-month beyond it) (fewer than 7)",
  ]);
});

test("the plan's limit comes from the environment: prod is on Free (500 MB); no plan, no limit", () => {
  const prod = loadEnvironmentConfig('prod');
  expect(databaseLimitOf(prod)).toEqual(FREE);
  expect(databaseLimitOf(loadEnvironmentConfig('local'))).toBeUndefined();
});

test('no growth, or samples less than a day apart: no projection, and no limit: only the size', async () => {
  const shrinking = await check(facts({ recentRuns: dailyRuns(100e6, -2e6) }));
  expect(shrinking.status).toBe('ok');
  expect(shrinking.metrics).not.toHaveProperty('days_to_full');
  expect(shrinking.evidence).toContain(
    'database 100 MB now; no growth over 7 days (8 samples): no projection',
  );
  const fresh = await check(facts({ recentRuns: [run(10, { databaseBytes: 90e6 })] }));
  expect(fresh.metrics).not.toHaveProperty('growth_bytes_per_day');
  expect(fresh.evidence).toContain(
    'database 100 MB now; no projection: the size samples of the last 7 days (1 run(s) and now) span less than a day',
  );
  expect(fresh.summary).toBe(
    "enabled: last run 10 h ago, 3 object(s) verified, 40 rows removed; database 100 MB of the Free plan's 500 MB (20%)",
  );
  const unplanned = await check(facts(), { limit: undefined });
  expect(unplanned.summary).toMatch(/; database 100 MB$/);
  expect(unplanned.evidence).toContain(
    "no database.plan in runbook/environments/prod.yaml (or no prices.supabase): the size is not compared with a plan's limit",
  );
});

test('enabled and healthy: ok, with the last run in the evidence', async () => {
  const r = await check(facts());
  expect(r.status).toBe('ok');
  expect(r.summary).toBe(
    "enabled: last run 10 h ago, 3 object(s) verified, 40 rows removed; database 100 MB of the Free plan's 500 MB (20%), full in ~400 days",
  );
  expect(r.evidence[0]).toBe(
    'last run 2026-12-09T20:00:00Z (10 h ago, enabled, archive_timer): exported 3, verified 3 object(s) (40 rows), removed 40 rows; 0 error(s)',
  );
  expect(r.metrics).toMatchObject({ last_run_age_hours: 10, last_run_errors: 0 });
});

test.each([
  [
    'late',
    { lastFinished: run(27) },
    {},
    'warn',
    'the last archive run finished 27 h ago (more than 26 h): the daily run is late',
  ],
  [
    'missed',
    { lastFinished: run(51) },
    {},
    'fail',
    'the last archive run finished 51 h ago (more than 50 h)',
  ],
  [
    'custom thresholds',
    { lastFinished: run(13) },
    { warnAgeHours: 12, failAgeHours: 24 },
    'warn',
    /13 h ago \(more than 12 h\)/,
  ],
  [
    'never ran',
    { lastFinished: null, lastStarted: null },
    {},
    'fail',
    'archive.mode is enabled but no run is recorded: is archive_timer deployed with ARCHIVE_MODE=enabled?',
  ],
  [
    'errors',
    { lastFinished: run(10, { errors: ['a', 'b', 'c', 'd'] }) },
    {},
    'fail',
    'the last archive run had 4 error(s): a; b; c; and 1 more',
  ],
  [
    'a run that threw',
    { lastFinished: run(10, { errors: ['the run failed: connect ECONNREFUSED'], objectsExported: null }) },
    {},
    'fail',
    'the last archive run had 1 error(s): the run failed: connect ECONNREFUSED',
  ],
  [
    'stopped by its time budget',
    { lastFinished: run(10, { unfinished: true }) },
    {},
    'warn',
    'the last run stopped at its time budget: the days left go to the next run',
  ],
  [
    'killed',
    { lastStarted: { ...run(3), finishedAt: null, unfinished: null } },
    {},
    'warn',
    'the archive run started 2026-12-10T02:59:00Z has no recorded end (killed or timed out; the next run goes on)',
  ],
  ['still running', { lastStarted: { ...run(0.5), finishedAt: null } }, {}, 'ok', /^enabled: /],
  [
    'the Function App runs disabled',
    { lastFinished: run(10, { mode: 'disabled' }) },
    {},
    'fail',
    "the last archive run ran disabled but runbook/environments/prod.yaml says enabled: set the Function App's ARCHIVE_MODE to enabled (or change the YAML)",
  ],
] as const)('enabled, the last run: %s', async (_name, over, options, status, summary) => {
  const r = await check(facts(over as Partial<ArchiveFacts>), options);
  expect([r.status, r.summary]).toEqual([
    status,
    typeof summary === 'string' ? summary : expect.stringMatching(summary),
  ]);
});

test('failed and stuck objects fail, named by their blob names', async () => {
  const r0 = (): ArchiveProblemObject => ({
    blobName: 'acme/2026/10/02.ndjson.gz',
    tenant: 'acme',
    day: '2026-10-02',
    state: 'exporting',
    error: null,
    updatedAt: NOW - 48 * HOUR,
  });
  const r = await check(
    facts({
      problemObjectCount: 3,
      problemObjects: [
        r0(),
        {
          blobName: 'globex/2026/10/03.ndjson.gz',
          tenant: 'globex',
          day: '2026-10-03',
          state: 'failed',
          error: 'sha256 differs',
          updatedAt: NOW - 10 * HOUR,
        },
      ],
    }),
  );
  expect(r.status).toBe('fail');
  expect(r.summary).toBe(
    '3 archive object(s) failed or stuck: acme/2026/10/02.ndjson.gz (exporting since 2026-12-08T06:00:00Z), ' +
      'globex/2026/10/03.ndjson.gz (failed: sha256 differs), and 1 more',
  );
  expect(r.metrics.problem_objects).toBe(3);
  // Disabled, they are what an earlier enabled time left: evidence, not a failure.
  const disabled = await check(facts({ lastFinished: null, problemObjectCount: 1, problemObjects: [r0()] }), {
    archive: DISABLED,
  });
  expect(disabled.status).toBe('ok');
  expect(disabled.evidence).toContain(
    'left from when it ran: 1 archive object(s) failed or stuck: acme/2026/10/02.ndjson.gz (exporting since 2026-12-08T06:00:00Z)',
  );
});

test.each([
  ['within retention', 20, null, 'ok'],
  ['past it by the grace day: the run is once a day', 31, null, 'ok'],
  ['past it and the grace day', 32, null, 'warn'],
  ['past it but held by a restore', 45, NOW + 3 * DAY, 'ok'],
] as const)(
  'enabled, the oldest rows against the longest retention (30 days): %s',
  async (_n, age, held, status) => {
    const r = await check(facts({ oldestDay: daysAgo(age), oldestDayHeldUntil: held }));
    expect(r.status).toBe(status);
    expect(r.metrics.oldest_row_age_days).toBe(age);
    if (status === 'warn')
      expect(r.summary).toBe(
        `rows of ${daysAgo(age)} (${age} days old) are past the longest retention, 30 days, plus 1 day(s): the archive is behind, ` +
          'or they are of a tenant that no longer exists (kept unless the environment sets retentionDays)',
      );
    if (held)
      expect(r.evidence).toContain(
        `rows of ${daysAgo(age)} are held by a restore until 2026-12-13T06:00:00Z (ops.archive_holds)`,
      );
  },
);

test('the retention floor: no day younger than 8 days leaves, whatever the retention', async () => {
  const r = await check(
    facts({ oldestDay: daysAgo(9), retention: { tenants: 1, shortestDays: 3, longestDays: 3 } }),
  );
  expect(r.status).toBe('ok');
  const late = await check(
    facts({ oldestDay: daysAgo(10), retention: { tenants: 1, shortestDays: 3, longestDays: 3 } }),
  );
  expect(late.status).toBe('warn');
});

test('the default partition holding rows warns with the count and how to move them', async () => {
  const r = await check(
    facts({
      defaultPartition: { rows: 12, capped: false, oldestDay: '2026-12-18', newestDay: '2026-12-20' },
    }),
  );
  expect(r.status).toBe('warn');
  expect(r.summary).toBe(
    'public.telemetry_default holds 12 row(s) (of 2026-12-18 to 2026-12-20): days without their partition ' +
      "(the daily archive run creates the next days' partitions in every mode: is archive_timer running?)",
  );
  expect(r.evidence).toContain(
    "move them into partitions of their own: select ops.ensure_telemetry_partitions('2026-12-18', 3)",
  );
  expect(r.metrics.default_partition_rows).toBe(12);
  const many = await check(
    facts({
      lastFinished: run(10, { mode: 'disabled' }),
      defaultPartition: { rows: 100_001, capped: true, oldestDay: '2026-12-18', newestDay: '2026-12-18' },
    }),
    { archive: DISABLED },
  );
  const spread = await check(
    facts({ defaultPartition: { rows: 2, capped: false, oldestDay: '2026-12-18', newestDay: '2099-01-01' } }),
  );
  expect(spread.evidence).toContain(
    'they span 26313 days: look at them (public.telemetry_default) before creating that many partitions',
  );
  expect(many.summary).toMatch(
    /^public.telemetry_default holds more than 100000 row\(s\) \(those counted are of 2026-12-18\)/,
  );
});

test('no archive decision in the YAML: a warning saying where to make it', async () => {
  const r = await check(facts({ lastFinished: run(10, { mode: 'disabled' }) }), { archive: undefined });
  expect([r.status, r.summary]).toEqual([
    'warn',
    'no archive decision in runbook/environments/prod.yaml: the timer runs disabled (ARCHIVE_MODE unset); add archive (mode: disabled, reason) or enable it',
  ]);
});

test('the YAML disabled while the Function App archives (or purges): a failure', async () => {
  const r = await check(facts({ lastFinished: run(10, { mode: 'purge-without-archive' }) }), {
    archive: DISABLED,
  });
  expect(r.status).toBe('fail');
  expect(r.summary).toMatch(
    /^the last archive run ran purge-without-archive but runbook\/environments\/prod.yaml says disabled/,
  );
});

test('thresholds that contradict each other are refused', () => {
  const source = { read: async () => facts() };
  const base = { environment: 'prod', archive: ENABLED };
  expect(() => archiveHealthCheck(source, { ...base, warnAgeHours: 50, failAgeHours: 26 })).toThrow(
    'need 0 < warnAgeHours < failAgeHours',
  );
  expect(() => archiveHealthCheck(source, { ...base, warnDaysToFull: 7, failDaysToFull: 30 })).toThrow(
    'need 0 < failDaysToFull < warnDaysToFull',
  );
  expect(() => archiveHealthCheck(source, { ...base, projectionDays: 1 })).toThrow(
    'projectionDays must be at least 2',
  );
});

test('the least-squares slope', () => {
  expect(
    leastSquaresSlope([
      [0, 1],
      [1, 3],
      [2, 5],
    ]),
  ).toBe(2);
  expect(
    leastSquaresSlope([
      [0, 0],
      [1, 2],
      [2, 1],
      [3, 3],
    ]),
  ).toBeCloseTo(0.8, 12);
  expect(
    leastSquaresSlope([
      [1, 5],
      [1, 7],
    ]),
  ).toBe(0);
});
