/**
 * `npm run bench:archive [-- --rows N --tenants T --parallel P --json]`: the telemetry archive
 * (docs/archive.md) on one day of N rows (1,000,000) of T tenants (4), P tenant-days at a time (2,
 * the archive's default), against a plain `COPY ... TO` of the same rows measured in the same run.
 *
 * A fresh database with every migration applied and Azurite's blob service; the rows are seeded
 * inside PostgreSQL through public.telemetry (the hourly rollup as ingest keeps it), 40 days old
 * on tenants with 30 days' retention, then VACUUM ANALYZE. Then:
 *   1. the baseline: `COPY public.telemetry_p<day> TO STDOUT` read to the end by pg-copy-streams;
 *   2. the archive run as the Function App runs it: the archive harness bundled by esbuild like the
 *      Functions app and run by plain node (no tsx in its memory), exporting, uploading, reading back
 *      and verifying every object, then dropping the partition. Its phases come from its checkpoints,
 *      its peak RSS from the process itself.
 * Targets (issue 12): the archive's peak RSS under 150 MB; its rows/s (archived and verified) at
 * least half the COPY's. Also printed: the objects' size per million rows (the Blob storage cost).
 * The database and Azurite's data are removed at the end, on failure and on Ctrl-C.
 */
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { applyMigrations, REPO_ROOT } from '../../supabase/migrate.js';
import { daysAgo, seedArchiveTenants, seedDay } from '../../test/support/archive-fixture.js';
import { startAzurite, type Azurite } from '../../test/support/azurite.js';
import { positiveIntArg } from '../lib/positive-int-arg.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    rows: { type: 'string', default: '1000000' },
    tenants: { type: 'string', default: '4' },
    parallel: { type: 'string', default: '2' },
  },
});
const PARALLEL = positiveIntArg(args, 'parallel');
const ROWS = positiveIntArg(args, 'rows');
const TENANTS = positiveIntArg(args, 'tenants');
if (ROWS % (TENANTS * 2) !== 0) {
  process.stderr.write('--rows must be a multiple of 2 x --tenants (two devices per tenant)\n');
  process.exit(2);
}
const ADMIN_URL = process.env.BENCH_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DIR = join(REPO_ROOT, '.ops', 'bench');
const CONTAINER = 'archive-bench';
const RSS_TARGET_MB = 150;

const progress = (line: string) => process.stderr.write(`[bench:archive] ${line}\n`);
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const perSecond = (rows: number, ms: number) => Math.round(rows / (ms / 1000));

const dbName = `bench_archive_${randomBytes(4).toString('hex')}`;
const dbUrl = (() => {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
let azurite: Azurite | undefined;
let created = false;

async function cleanUp(): Promise<void> {
  await azurite?.stop().catch(() => undefined);
  if (!created) return;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`drop database if exists ${dbName} with (force)`);
  } finally {
    await admin.end();
  }
}
process.once('SIGINT', () => {
  progress('interrupted: cleaning up');
  void cleanUp().finally(() => process.exit(130));
});

/** The archive harness as one ESM file, built as functions/bundle.ts builds the app. */
async function bundleHarness(): Promise<string> {
  await mkdir(DIR, { recursive: true });
  const outfile = join(DIR, 'archive-harness.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'functions', 'src', 'archive', 'archive-child-harness.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    logLevel: 'warning',
  });
  return outfile;
}

interface HarnessRun {
  ms: number;
  steps: { step: string; at: number; detail: string }[];
  result: { rowsVerified: number; objectsVerified: number; partitionsDropped: string[]; errors: string[] };
  peakRss: number;
  cpuMs: number;
}

async function runHarness(file: string, connectionString: string): Promise<HarnessRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [file], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl,
      ARCHIVE_MODE: 'enabled',
      ARCHIVE_STORAGE_CONNECTION_STRING: connectionString,
      ARCHIVE_CONTAINER: CONTAINER,
      ARCHIVE_HARNESS_TRACE: '1',
      ARCHIVE_HARNESS_PARALLEL: String(PARALLEL),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n').filter(Boolean)) progress(line);
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const ms = performance.now() - started;
  const result = /ARCHIVE_RESULT (.*)/.exec(out)?.[1];
  if (code !== 0 || !result) throw new Error(`the archive run exited ${code}:\n${out}`);
  return {
    ms,
    steps: [...out.matchAll(/ARCHIVE_STEP (\S+) (\d+) (\S+)/g)].map((m) => ({
      step: m[1]!,
      at: Number(m[2]),
      detail: m[3]!,
    })),
    result: JSON.parse(result) as HarnessRun['result'],
    peakRss: Number(/ARCHIVE_PEAK_RSS (\d+)/.exec(out)?.[1] ?? 0),
    cpuMs: Number(/ARCHIVE_CPU_MS (\d+)/.exec(out)?.[1] ?? 0),
  };
}

try {
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${dbName}`);
  await admin.end();
  created = true;
  progress(`database ${dbName}: applying migrations`);
  await applyMigrations(dbUrl, { shim: true });
  azurite = await startAzurite();
  const pool = new pg.Pool({ connectionString: dbUrl, max: 2 });
  const tenants = await seedArchiveTenants(
    pool,
    Array.from({ length: TENANTS }, (_, i) => ({ slug: `bench-${i + 1}`, retentionDays: 30 })),
  );
  const day = daysAgo(40);
  const partition = `telemetry_p${day.replaceAll('-', '')}`;
  const seedStarted = performance.now();
  for (const [i, tenant] of tenants.entries()) {
    await seedDay(pool, day, [tenant], ROWS / TENANTS / 2);
    progress(`seeded ${((i + 1) * ROWS) / TENANTS} of ${ROWS} rows on ${day}`);
  }
  await pool.query(`vacuum analyze public.${partition}`);
  const size = await pool.query<{ bytes: string }>(`select pg_total_relation_size($1) as bytes`, [
    `public.${partition}`,
  ]);
  progress(
    `seeded in ${((performance.now() - seedStarted) / 1000).toFixed(1)} s; partition ${mb(Number(size.rows[0]!.bytes))} MB`,
  );

  // 1. The baseline, on the same rows, warm as the archive will find them.
  const client = await pool.connect();
  let copied = 0;
  const copyCpu = process.cpuUsage();
  const copyStarted = performance.now();
  await pipeline(
    client.query(copyStreams.to(`copy public.${partition} to stdout`)),
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        copied += chunk.length;
        done();
      },
    }),
  );
  const copyMs = performance.now() - copyStarted;
  const copyCpuMs = (({ user, system }) => (user + system) / 1000)(process.cpuUsage(copyCpu));
  client.release();
  progress(`COPY ... TO: ${ROWS} rows, ${mb(copied)} MB in ${(copyMs / 1000).toFixed(2)} s`);

  // 2. The archive run, as its own process.
  const harness = await bundleHarness();
  const run = await runHarness(harness, azurite.connectionString);
  if (run.result.errors.length)
    throw new Error(`the archive run had errors: ${run.result.errors.join('; ')}`);
  if (run.result.rowsVerified !== ROWS)
    throw new Error(`verified ${run.result.rowsVerified} rows, seeded ${ROWS}`);
  const phase = (from: string, to: string) =>
    run.steps
      .filter((s) => s.step === to)
      .reduce((sum, end) => {
        const start = [...run.steps].reverse().find((s) => s.step === from && s.at <= end.at);
        return sum + (start ? end.at - start.at : 0);
      }, 0);
  // Where the rest of the wall time went: before the first object (the process starting, the
  // partitions ahead, the day's plan) and after the last verification (the checked drop, the exit).
  const firstObjectAt = Math.min(...run.steps.filter((s) => s.step === 'export-started').map((s) => s.at));
  const lastVerifiedAt = Math.max(...run.steps.filter((s) => s.step === 'verified').map((s) => s.at));
  const removedAt = run.steps.find((s) => s.step === 'removed')?.at ?? lastVerifiedAt;
  const exportMs = phase('export-started', 'uploaded');
  const verifyMs = phase('recorded', 'verified');
  const objects = await pool.query<{ bytes: string; rows: string }>(
    `select sum(bytes) as bytes, sum(rows) as rows from ops.archive_objects where state = 'dropped'`,
  );
  await pool.end();
  const objectBytes = Number(objects.rows[0]!.bytes);

  const archiveRate = perSecond(ROWS, run.ms);
  const copyRate = perSecond(ROWS, copyMs);
  const report = {
    rows: ROWS,
    tenants: TENANTS,
    parallel: PARALLEL,
    copy: {
      seconds: copyMs / 1000,
      rowsPerSecond: copyRate,
      megabytes: mb(copied),
      clientCpuSeconds: copyCpuMs / 1000,
    },
    archive: {
      seconds: run.ms / 1000,
      rowsPerSecond: archiveRate,
      exportRowsPerSecond: perSecond(ROWS, exportMs),
      verifyRowsPerSecond: perSecond(ROWS, verifyMs),
      beforeFirstObjectSeconds: firstObjectAt / 1000,
      objectsSeconds: (lastVerifiedAt - firstObjectAt) / 1000,
      dropSeconds: (removedAt - lastVerifiedAt) / 1000,
      objects: run.result.objectsVerified,
      partitionsDropped: run.result.partitionsDropped,
      peakRssMb: mb(run.peakRss),
      processCpuSeconds: run.cpuMs / 1000,
    },
    ratioToCopy: Math.round((archiveRate / copyRate) * 100) / 100,
    objectMegabytesPerMillionRows: mb((objectBytes / ROWS) * 1_000_000),
    targets: {
      peakRssUnder150Mb: run.peakRss < RSS_TARGET_MB * 1024 * 1024,
      atLeastHalfOfCopy: archiveRate >= copyRate / 2,
    },
  };
  if (args.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else
    process.stdout.write(
      [
        `Archive of ${ROWS.toLocaleString('en')} rows (${TENANTS} tenants, one day, ${PARALLEL} at a time):`,
        `  COPY ... TO (baseline)   ${report.copy.seconds.toFixed(2)} s   ${copyRate.toLocaleString('en')} rows/s` +
          `   (client CPU ${report.copy.clientCpuSeconds.toFixed(1)} s)`,
        `  archive + verify + drop  ${report.archive.seconds.toFixed(2)} s   ${archiveRate.toLocaleString('en')} rows/s` +
          `   (process CPU ${report.archive.processCpuSeconds.toFixed(1)} s)` +
          ` = ${report.ratioToCopy} x COPY; target >= 0.5: ${report.targets.atLeastHalfOfCopy ? 'met' : 'NOT met'}`,
        `    per object, summed (objects overlap ${PARALLEL} at a time):`,
        `    export + upload        ${(exportMs / 1000).toFixed(2)} s   ${report.archive.exportRowsPerSecond.toLocaleString('en')} rows/s`,
        `    read back + verify     ${(verifyMs / 1000).toFixed(2)} s   ${report.archive.verifyRowsPerSecond.toLocaleString('en')} rows/s`,
        `    before the first object ${(firstObjectAt / 1000).toFixed(2)} s (process start, partitions, plan); ` +
          `objects ${((lastVerifiedAt - firstObjectAt) / 1000).toFixed(2)} s; drop ${((removedAt - lastVerifiedAt) / 1000).toFixed(2)} s`,
        `  peak RSS of the archive process: ${report.archive.peakRssMb} MB (target < ${RSS_TARGET_MB}: ${report.targets.peakRssUnder150Mb ? 'met' : 'NOT met'})`,
        `  objects: ${report.archive.objects}, ${mb(objectBytes)} MB; ${report.objectMegabytesPerMillionRows} MB per million rows`,
        '',
      ].join('\n'),
    );
  process.exitCode = report.targets.peakRssUnder150Mb && report.targets.atLeastHalfOfCopy ? 0 : 1;
} catch (error) {
  progress(`failed: ${(error as Error).stack ?? String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
