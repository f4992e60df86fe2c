import type { ArchiveConfig } from '../config/environment-config.js';
import { runChecks } from '../engine/run-checks.js';
import type { ArchiveFacts, ArchiveRun } from '../sources/archive-facts.js';
import { archiveStatusCheck } from './archive-status.js';

const NOW = Date.parse('2026-12-10T06:00:00Z');
const HOUR = 3_600_000;
const ENABLED: ArchiveConfig = {
  mode: 'enabled',
  container: 'archive',
  connectionStringEnv: 'OPS_ARCHIVE_STORAGE_CONNECTION_STRING',
};

function run(hoursAgo: number, over: Partial<ArchiveRun> = {}): ArchiveRun {
  const finishedAt = NOW - hoursAgo * HOUR;
  return {
    id: 7,
    startedAt: finishedAt - 60_000,
    finishedAt,
    actor: 'archive_timer',
    mode: 'enabled',
    dryRun: false,
    retentionDays: 30,
    unfinished: false,
    objectsExported: 2,
    objectsVerified: 2,
    rowsVerified: 500,
    rowsRemoved: 500,
    errors: [],
    databaseBytes: 50e6,
    defaultPartitionRows: 0,
    ...over,
  };
}

function facts(lastFinished: ArchiveRun | null): ArchiveFacts {
  return {
    lastFinished,
    lastStarted: lastFinished,
    recentRuns: [],
    problemObjects: [],
    problemObjectCount: 0,
    oldestDay: null,
    oldestDayHeldUntil: null,
    retention: { tenants: 0, shortestDays: null, longestDays: null },
    databaseBytes: 50e6,
    defaultPartition: { rows: 0, capped: false, oldestDay: null, newestDay: null },
  };
}

async function status(archive: ArchiveConfig | undefined, last: ArchiveRun | null, environment = 'prod') {
  let asked = 0;
  const check = archiveStatusCheck({
    environment,
    archive,
    facts: () => {
      asked += 1;
      return { read: async () => facts(last) };
    },
  });
  const [result] = await runChecks([check], { now: () => NOW });
  return { ...result!, asked };
}

test('explicitly disabled with a reason is ok without asking the database; no decision fails and says where to make it', async () => {
  const disabled = await status(
    { mode: 'disabled', reason: 'container deleted; retention in Postgres' },
    null,
  );
  expect([disabled.status, disabled.summary, disabled.asked]).toEqual([
    'ok',
    'explicitly disabled: container deleted; retention in Postgres',
    0,
  ]);
  const silent = await status(undefined, run(1), 'staging');
  expect([silent.status, silent.summary, silent.asked]).toEqual([
    'fail',
    'no archive decision: add archive (mode: disabled, reason) to runbook/environments/staging.yaml',
    0,
  ]);
});

test('enabled: ok when a run in that mode finished within 50 h without errors', async () => {
  const r = await status(ENABLED, run(12.5));
  expect(r.id).toBe('golive.archive');
  expect([r.status, r.summary]).toEqual([
    'ok',
    'enabled: the last run finished 12.5 h ago without errors (2 object(s) verified into container archive)',
  ]);
  expect(r.metrics).toEqual({ last_run_age_hours: 12.5, last_run_errors: 0 });
  expect(r.evidence).toEqual([
    'archive.mode = enabled',
    'last run 2026-12-09T17:30:00Z (12.5 h ago, enabled, archive_timer): exported 2, verified 2 object(s) (500 rows), removed 500 rows; 0 error(s)',
  ]);
  const purge = await status(
    { mode: 'purge-without-archive', reason: 'no Blob storage in this phase' },
    run(3, { mode: 'purge-without-archive' }),
  );
  expect([purge.status, purge.summary]).toEqual([
    'ok',
    'purging without archive (no Blob storage in this phase): the last run finished 3 h ago without errors (500 rows purged)',
  ]);
});

test.each([
  [
    'no run at all',
    null,
    'archive.mode is enabled but no archive run is recorded (ops.archive_runs): deploy archive_timer with ARCHIVE_MODE=enabled',
  ],
  ['too old', run(51), 'the last archive run finished 51 h ago (more than 50 h)'],
  [
    'with errors',
    run(2, { errors: ['2026-10-02: boom'] }),
    'the last archive run had 1 error(s): 2026-10-02: boom',
  ],
  [
    'in another mode',
    run(2, { mode: 'disabled' }),
    "the last archive run ran disabled but runbook/environments/prod.yaml says enabled: set the Function App's ARCHIVE_MODE to enabled (or change the YAML)",
  ],
])('enabled fails: %s', async (_name, last, summary) => {
  const r = await status(ENABLED, last);
  expect([r.status, r.summary, r.asked]).toEqual(['fail', summary, 1]);
});
