/**
 * `npm run bench:ops [-- --json]`: the database-backed checks of the daily, weekly and monthly
 * cadences at 1 M and at 10 M telemetry rows, on a fresh database with every migration applied.
 *
 * Seeds 100 tenants on the sandbox's plans, 1,000 devices and telemetry spread over the last 35
 * days inside Postgres (ops-seed.ts), with the hourly usage rollup, latest values, dead letters
 * (0.3 % of messages) and AI ledger rows (one per 50 messages) that go with it; measures; grows
 * the telemetry to 10 M rows (same window, ten times denser) and measures again. Each cadence runs
 * `--repeats` times (3) and the median is reported; every platform-db query is EXPLAINed (ANALYZE,
 * BUFFERS) at both sizes, the plans written to .ops/bench/ops-explain-<size>.txt.
 * Options: --rows N (1000000) --grow-to M (10000000) --tenants T (100) --devices D (1000)
 *          --days X (35) --repeats R (3) --json
 * Targets (issue #3 section 8): daily under 60 s; each cadence at M rows <= 1.5 x its time at N.
 * The database is dropped at the end, on failure and on Ctrl-C.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { createPlatformDbSource } from '../../ops/sources/platform-db.js';
import { applyMigrations } from '../../supabase/migrate.js';
import { PLANS } from '../sandbox/seed.js';
import {
  BENCH_CADENCES,
  databaseChecks,
  explainQueries,
  otherChecks,
  timeCadence,
  type CadenceTiming,
  type QueryPlan,
} from './ops-checks.js';
import {
  addSideRows,
  addTelemetry,
  refreshLatest,
  seededCounts,
  seedRegistry,
  vacuumAnalyze,
} from './ops-seed.js';
import { formatReport, type OpsBenchResult, type SizeResult } from './ops-report.js';
import { positiveIntArg } from '../lib/positive-int-arg.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rows: { type: 'string', default: '1000000' },
    'grow-to': { type: 'string', default: '10000000' },
    tenants: { type: 'string', default: '100' },
    devices: { type: 'string', default: '1000' },
    days: { type: 'string', default: '35' },
    repeats: { type: 'string', default: '3' },
  },
});
const ROWS = positiveIntArg(args, 'rows');
const GROW_TO = positiveIntArg(args, 'grow-to');
const TENANTS = positiveIntArg(args, 'tenants');
const DEVICES = positiveIntArg(args, 'devices');
const DAYS = positiveIntArg(args, 'days');
const REPEATS = positiveIntArg(args, 'repeats');
if (GROW_TO <= ROWS || ROWS % DEVICES !== 0 || GROW_TO % DEVICES !== 0) {
  process.stderr.write(`--rows and --grow-to must be multiples of --devices, with --grow-to > --rows\n`);
  process.exit(2);
}
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DIR = join('.ops', 'bench');
const REJECT_SHARE = 0.003;
const MESSAGES_PER_AI_CALL = 50;
/** Rows per seeding statement: progress lines and bounded per-statement memory. */
const CHUNK_ROWS = 500_000;

const progress = (line: string) => process.stderr.write(`[bench:ops] ${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

const dbName = `bench_ops_${randomBytes(4).toString('hex')}`;
const dbUrl = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}
let dropped: Promise<void> | null = null;
const dropDatabase = () => (dropped ??= admin(`drop database if exists ${dbName} with (force)`));
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    progress(`${signal}: dropping ${dbName}`);
    void dropDatabase()
      .catch((e: unknown) => progress(`could not drop ${dbName}: ${String(e)}`))
      .finally(() => process.exit(130));
  });
}

const anchor = new Date();
const shape = { tenants: TENANTS, devices: DEVICES, days: DAYS, anchor };

async function main(): Promise<OpsBenchResult> {
  progress(`creating ${dbName} and applying the migrations (supabase db push)`);
  await admin(`create database ${dbName}`);
  await applyMigrations(dbUrl, { shim: true });

  const seeder = new pg.Client({ connectionString: dbUrl });
  const second = new pg.Client({ connectionString: dbUrl });
  await Promise.all([seeder.connect(), second.connect()]);
  // Seeding only, as the superuser: no foreign-key triggers (every key exists by construction).
  for (const c of [seeder, second]) await c.query(`set session_replication_role = replica`);
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  try {
    const started = performance.now();
    const devices = await seedRegistry(seeder, shape, PLANS);
    const registryMs = performance.now() - started;
    progress(`${TENANTS} tenants, ${devices} devices, daily partitions for ${DAYS} days`);

    let phase = 0;
    let total = 0;
    const grow = async (rows: number) => {
      const t0 = performance.now();
      phase += 1;
      const chunks = Math.max(1, Math.ceil(rows / CHUNK_ROWS));
      await addTelemetry(
        [seeder, second],
        shape,
        { phase, perDevice: rows / devices, chunks, offset: phase === 1 ? 0 : 0.5 },
        (done, n) =>
          progress(
            `telemetry phase ${phase}: ${(total + n).toLocaleString('en')} rows (${done}/${chunks}), ${seconds(performance.now() - t0)}`,
          ),
      );
      total += rows;
      const t1 = performance.now();
      await addSideRows(seeder, shape, {
        phase,
        rejects: Math.round(rows * REJECT_SHARE),
        aiRows: Math.round(rows / MESSAGES_PER_AI_CALL),
      });
      await refreshLatest(seeder);
      const t2 = performance.now();
      progress(`dead letters, AI ledger and latest values: ${seconds(t2 - t1)}; vacuum (analyze)...`);
      await vacuumAnalyze(seeder);
      const t3 = performance.now();
      progress(`vacuum (analyze): ${seconds(t3 - t2)}`);
      return { telemetryMs: t1 - t0, sideMs: t2 - t1, vacuumMs: t3 - t2, totalMs: t3 - t0 };
    };

    const source = createPlatformDbSource(pool);
    const checks = databaseChecks(source);
    const measure = async (label: string, seeding: SizeResult['seeding']): Promise<SizeResult> => {
      const counts = await seededCounts(seeder);
      if (counts.rolledUpMessages !== counts.telemetry || counts.defaultPartition !== 0)
        throw new Error(`inconsistent seed: ${JSON.stringify(counts)}`);
      progress(`${label}: ${JSON.stringify(counts)}; running the cadences ${REPEATS} times`);
      const cadences: CadenceTiming[] = [];
      for (const cadence of BENCH_CADENCES) {
        const timing = await timeCadence(cadence, checks[cadence], anchor.getTime(), REPEATS);
        progress(`${label} ${cadence}: ${timing.runsMs.map((ms) => `${Math.round(ms)} ms`).join(', ')}`);
        cadences.push(timing);
      }
      const plans: QueryPlan[] = await explainQueries(seeder, anchor.getTime());
      await mkdir(DIR, { recursive: true });
      const file = join(DIR, `ops-explain-${label}.txt`);
      await writeFile(file, plans.map((p) => `-- ${p.label}\n${p.text}\n`).join('\n'));
      progress(`${label}: plans in ${file}`);
      return { label, counts, seeding, cadences, plans };
    };

    const small = await measure(label(ROWS), await grow(ROWS));
    const large = await measure(label(GROW_TO), await grow(GROW_TO - ROWS));
    const others: Record<string, string[] | null> = {};
    for (const cadence of BENCH_CADENCES) others[cadence] = otherChecks(cadence, checks[cadence]);
    return {
      database: dbName,
      anchor: anchor.toISOString(),
      shape: { tenants: TENANTS, devices, days: DAYS, repeats: REPEATS },
      seedingMs: registryMs + small.seeding.totalMs + large.seeding.totalMs,
      sizes: [small, large],
      notTimed: others,
    };
  } finally {
    await pool.end();
    await Promise.all([seeder.end(), second.end()]);
  }
}

function label(rows: number): string {
  return rows % 1_000_000 === 0 ? `${rows / 1_000_000}M` : `${rows}`;
}

let exitCode = 0;
try {
  const result = await main();
  process.stdout.write(args.json ? `${JSON.stringify(result, null, 2)}\n` : formatReport(result));
} catch (error) {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  exitCode = 1;
} finally {
  await dropDatabase().catch((e: unknown) => progress(`could not drop ${dbName}: ${String(e)}`));
  progress(`dropped ${dbName}`);
}
process.exit(exitCode);
