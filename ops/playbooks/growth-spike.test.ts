/**
 * growth-spike on a fresh, seeded database: device growth, the tenants and metrics that grow
 * fastest, largest payloads, partitions; a tenant's payload caps (dry run with the share of its last
 * day they would refuse, then applied and audited); the archive step and the advice when the
 * archive is off. The archive run itself: playbook-archive.test.ts.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';
import { runPlaybookCommand } from './cli.js';
import {
  recordingIo,
  seedTenants,
  seedUsage,
  writeTestEnvironment,
  type TestEnvironment,
} from '../../test/support/playbook-fixture.js';

const NOW = Date.parse('2026-11-26T12:00:00Z');
const DAY = 24 * 3_600_000;

let db: TestDatabase;
let pool: pg.Pool;
let environment: TestEnvironment;
let growId: string;

/** `samples` numeric samples of `metric` in each hour of [fromMs, toMs), as the rollup holds them. */
const seedSamples = (
  tenantId: string,
  deviceId: string,
  metric: string,
  fromMs: number,
  toMs: number,
  samples: number,
) =>
  pool.query(
    `insert into public.telemetry_hourly (tenant_id, device_id, hour, metric, samples, sum, min, max)
     select $1, $2, h, $3, $6::bigint, $6::float8, 1, 1
       from generate_series($4::timestamptz, $5::timestamptz - interval '1 hour', interval '1 hour') h`,
    [tenantId, deviceId, metric, new Date(fromMs), new Date(toMs), samples],
  );

beforeAll(async () => {
  db = await createTestDatabase('playbook_growth');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  environment = await writeTestEnvironment({ databaseUrl: db.url });
  // The same environment with its archive explicitly disabled, as prod's is.
  const yaml = await readFile(join(environment.dir, 'test.yaml'), 'utf8');
  await writeFile(
    join(environment.dir, 'off.yaml'),
    yaml.replace('name: test', 'name: off') +
      'archive:\n  mode: disabled\n  reason: the Blob archive container was deleted\n',
  );
  await writeFile(
    join(environment.dir, 'purge.yaml'),
    yaml.replace('name: test', 'name: purge') +
      'archive:\n  mode: purge-without-archive\n  reason: no archive in this phase\n',
  );
  const ids = await seedTenants(pool, [
    { slug: 'grow', plan: 'small', devices: ['g-1', 'g-2'] },
    { slug: 'chatty', plan: 'large', devices: ['c-1'] },
  ]);
  const grow = ids.get('grow')!;
  const chatty = ids.get('chatty')!;
  growId = grow.tenantId;
  const g1 = grow.devices.get('g-1')!;
  const g2 = grow.devices.get('g-2')!;
  const c1 = chatty.devices.get('c-1')!;
  const usage = (
    tenantId: string,
    deviceId: string,
    fromMs: number,
    toMs: number,
    messages: number,
    bytes: number,
  ) => seedUsage(pool, { tenantId, deviceId, fromMs, toMs, messages, bytes });
  // g-1: payloads 8x larger (100 -> 800 B/msg); g-2: steady; c-1: 6x the messages per hour.
  await usage(grow.tenantId, g1, NOW - 8 * DAY, NOW - DAY, 10, 1_000);
  await usage(grow.tenantId, g1, NOW - DAY, NOW, 10, 8_000);
  await usage(grow.tenantId, g2, NOW - 8 * DAY, NOW, 10, 100);
  await usage(chatty.tenantId, c1, NOW - 8 * DAY, NOW - DAY, 10, 500);
  await usage(chatty.tenantId, c1, NOW - DAY, NOW, 60, 3_000);
  // The hourly rollup: grow's temp steady on both devices, its vibration new in the last day;
  // chatty's rssi 6x. A week before the window is outside it and must not count.
  await seedSamples(grow.tenantId, g1, 'temp', NOW - 8 * DAY, NOW, 60);
  await seedSamples(grow.tenantId, g2, 'temp', NOW - 8 * DAY, NOW, 10);
  await seedSamples(grow.tenantId, g1, 'vibration', NOW - DAY, NOW, 600);
  await seedSamples(chatty.tenantId, c1, 'rssi', NOW - 8 * DAY, NOW - DAY, 10);
  await seedSamples(chatty.tenantId, c1, 'rssi', NOW - DAY, NOW, 60);
  await seedSamples(chatty.tenantId, c1, 'rssi', NOW - 15 * DAY, NOW - 8 * DAY, 1_000);
  // grow's last day of telemetry, straight into its partition (the rollup above stays as it is):
  // 10 small messages; 5 with 5 metrics (nested ones and null count, the object does not); 5
  // with a 100-character string.
  await pool.query(`select ops.ensure_telemetry_partitions('2026-11-26'::date, 1)`);
  await pool.query(
    `insert into public.telemetry_p20261126 (tenant_id, device_id, ts, msg_key, metrics)
     select $1, $2, '2026-11-26T01:00:00Z'::timestamptz + g * interval '1 minute', 'm-' || g,
            case when g <= 10 then '{"t": 1, "s": "ok", "n": 2}'::jsonb
                 when g <= 15 then '{"t": 1, "s": "ok", "pos": {"lat": 1.5, "lon": 2.5}, "n": null}'::jsonb
                 else jsonb_build_object('t', 1, 'note', repeat('x', 100)) end
       from generate_series(1, 20) g`,
    [growId, g1],
  );
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await Promise.allSettled([db?.drop(), environment?.remove()]);
});

const io = (over = {}) => recordingIo(environment, { now: () => NOW, ...over });
const audit = async () =>
  (
    await pool.query<{ actor: string; action: string; target: string }>(
      'select actor, action, target from ops.audit_log order by id',
    )
  ).rows;

test('finds the devices, tenants and metrics that grew, the largest payloads and the partition sizes; changes nothing', async () => {
  const out = io();
  expect(await runPlaybookCommand(['growth-spike', '--env', 'test'], out)).toBe(0);
  const text = out.printed.join('\n');
  const growth = out.printed.filter((l) => /^ {4}\S+\/\S+: [\d.]+ msg\/h/.test(l)).map((l) => l.trim());
  expect(growth).toEqual([
    'grow/g-1: 10.0 msg/h (x1.0), 800 B/msg (x8.0), 187.5 KiB in 24 h',
    'chatty/c-1: 60.0 msg/h (x6.0), 50 B/msg (x1.0), 70.3 KiB in 24 h',
    'grow/g-2: 10.0 msg/h (x1.0), 10 B/msg (x1.0), 2.3 KiB in 24 h',
  ]);
  expect(text).toContain('bytes in 24 h by tenant: grow 189.8 KiB, chatty 70.3 KiB');
  expect(text).toContain('growing >= x2 (>= 100 msgs in 24 h): grow/g-1, chatty/c-1');

  // Tenants and metrics by samples added per day: grow 16,080 in 24 h against 11,760 in 7 days.
  const start = out.printed.findIndex((l) => l.includes('diagnose field-growth'));
  expect(out.printed.slice(start + 1, start + 9).map((l) => l.trim())).toEqual([
    'tenants (samples added per day, most first):',
    'grow: 16,080 samples in 24 h, 7-day daily mean 1,680 (x9.6); 2 metric(s), 1 new; 189.8 KiB in 24 h',
    'chatty: 1,440 samples in 24 h, 7-day daily mean 240 (x6.0); 1 metric(s); 70.3 KiB in 24 h',
    'metrics (tenant/metric, samples added per day, most first):',
    'grow/vibration: 14,400 samples in 24 h, 7-day daily mean 0 (new)',
    'chatty/rssi: 1,440 samples in 24 h, 7-day daily mean 240 (x6.0)',
    'grow/temp: 1,680 samples in 24 h, 7-day daily mean 1,680 (x1.0)',
    'numeric metrics only (the rollup counts numbers); text and booleans show in the bytes per message above',
  ]);
  expect(text).toContain('growing >= x2 (>= 100 samples in 24 h): grow/vibration, chatty/rssi');
  expect(out.printed[start]).toMatch(/^\[WARN\] diagnose field-growth/);

  expect(text).toMatch(/grow\/g-1: 800 B\/msg over 10 message\(s\) in the hour from 2026-11-2\dT\d\d:00Z/);
  const partitions = await pool.query(
    `select count(*)::int as n from pg_inherits where inhparent = 'public.telemetry'::regclass`,
  );
  expect(text).toContain(`${partitions.rows[0].n} partition(s),`);
  // The environment has no archive: the advice says so, and how to turn it on.
  expect(text).toContain(
    'archive sooner (growth-spike.archive): runbook/environments/test.yaml configures no archive: ' +
      'nothing is archived and nothing leaves the database. To turn it on:',
  );
  expect(text).toContain('fastest-growing metrics: grow/vibration, chatty/rssi');
  expect(text).toContain('`ops playbook cost-spike --tenant grow --rate-per-second N --apply`');
  expect(out.last()).toBe(
    'Outcome: growth-spike on test (dry run): 3 ok, 2 warn, 2 skipped; no action taken',
  );
  expect(await audit()).toEqual([]);
});

test('archive sooner while the archive is disabled: refused, saying it is off and how to turn it on', async () => {
  const out = recordingIo({ ...environment }, { now: () => NOW });
  expect(await runPlaybookCommand(['growth-spike', '--env', 'off', '--retention-days', '14'], out)).toBe(1);
  const text = out.printed.join('\n');
  expect(text).toContain(
    '[FAIL] act archive-sooner: run the archive now with a shorter retention (--retention-days N; only if the Blob archive is on)\n' +
      '    the archive is disabled in runbook/environments/off.yaml (the Blob archive container was deleted): ' +
      'nothing is archived and nothing leaves the database. To turn it on: archive.mode: enabled with ' +
      'container and connectionStringEnv in runbook/environments/off.yaml',
  );
  expect(text).toContain(
    'archive sooner (growth-spike.archive): the archive is disabled in runbook/environments/off.yaml',
  );
  expect(out.last()).toMatch(/; archive not run: it is disabled$/);
});

test('archive sooner when the environment purges without archive: refused, nothing deleted', async () => {
  const before = (await pool.query(`select count(*)::int as n from public.telemetry`)).rows[0].n;
  const out = recordingIo({ ...environment }, { now: () => NOW });
  expect(
    await runPlaybookCommand(['growth-spike', '--env', 'purge', '--retention-days', '14', '--apply'], out),
  ).toBe(1);
  const text = out.printed.join('\n');
  expect(text).toContain(
    "purge's archive purges without a copy (purge-without-archive: no archive in this phase): running it " +
      'sooner deletes telemetry for good, which this playbook does not do. If that is meant: ' +
      'npm run ops -- archive run --env purge --retention-days 14 (a dry run), then --apply',
  );
  expect(text).toContain('archive sooner (growth-spike.archive): the environment purges without archive');
  expect((await pool.query(`select count(*)::int as n from public.telemetry`)).rows[0].n).toBe(before);
  expect(await audit()).toEqual([]);
});

test("payload caps: the dry run says how much of the tenant's last day they would refuse and changes nothing; applied, audited", async () => {
  const dry = io();
  expect(
    await runPlaybookCommand(
      [
        'growth-spike',
        '--env',
        'test',
        '--tenant',
        'grow',
        '--max-metrics',
        '4',
        '--max-string-length',
        '50',
      ],
      dry,
    ),
  ).toBe(0);
  const step = (lines: string[]) => {
    const at = lines.findIndex((l) => l.includes('act limit-fields'));
    return lines.slice(at + 1, at + 4).map((l) => l.trim());
  };
  expect(step(dry.printed)).toEqual([
    'grow has no caps of its own (the global 64 metrics, 256 characters)',
    "of grow's 20 message(s) of the last 24 h (since 2026-11-26T01:01Z), 10 (50.0%) would be refused: " +
      '5 over the metrics cap, 5 with a longer string (an estimate: characters counted as code points)',
    "would set grow's caps (ops.tenant_payload_limits): at most 4 metrics per message, strings of at most 50 characters until changed",
  ]);
  expect(dry.last()).toMatch(/\(dry run\): .*; would cap grow's payloads$/);
  expect((await pool.query('select 1 from ops.tenant_payload_limits')).rowCount).toBe(0);

  const applied = recordingIo(
    { ...environment, env: { ...environment.env, GITHUB_ACTOR: 'octocat' } },
    { now: () => NOW },
  );
  expect(
    await runPlaybookCommand(
      [
        'growth-spike',
        '--env',
        'test',
        '--tenant',
        'grow',
        '--max-metrics',
        '4',
        '--max-string-length',
        '50',
        '--limits-for-days',
        '3',
        '--reason',
        'vibration flood',
        '--incident',
        '31',
        '--apply',
      ],
      applied,
    ),
  ).toBe(0);
  expect(step(applied.printed)[2]).toBe(
    "grow's caps are now at most 4 metrics per message, strings of at most 50 characters until 2026-11-29: " +
      'ingest refuses a message over one as a tenant_payload_limit dead letter quoting "vibration flood" (within its 5 s settings cache)',
  );
  expect(applied.last()).toMatch(/^Outcome: growth-spike on test \(applied\): .*; capped grow's payloads$/);
  const row = async () =>
    (
      await pool.query(
        `select max_metrics, max_string_length, reason, created_by, expires_at from ops.tenant_payload_limits where tenant_id = $1`,
        [growId],
      )
    ).rows;
  expect(await row()).toEqual([
    {
      max_metrics: 4,
      max_string_length: 50,
      reason: 'vibration flood',
      created_by: 'playbook:growth-spike (octocat)',
      expires_at: new Date(NOW + 3 * DAY),
    },
  ]);
  const audited = await pool.query(`select actor, action, target, detail from ops.audit_log`);
  expect(audited.rows).toEqual([
    {
      actor: 'playbook:growth-spike (octocat)',
      action: 'tenant.payload_limit',
      target: 'grow',
      detail: expect.objectContaining({
        maxMetrics: 4,
        maxStringLength: 50,
        expiresAt: new Date(NOW + 3 * DAY).toISOString(),
        reason: 'vibration flood',
        previous: null,
        incident: 31,
        env: 'test',
        status: 'ok',
      }),
    },
  ]);

  // One cap changed: the other, in force, stays; no --limits-for-days: until changed.
  const again = io();
  expect(
    await runPlaybookCommand(
      ['growth-spike', '--env', 'test', '--tenant', 'grow', '--max-metrics', '8', '--apply'],
      again,
    ),
  ).toBe(0);
  expect(step(again.printed)[0]).toBe(
    'grow has at most 4 metrics per message, strings of at most 50 characters (vibration flood, until 2026-11-29)',
  );
  expect(await row()).toEqual([
    expect.objectContaining({ max_metrics: 8, max_string_length: 50, expires_at: null }),
  ]);

  // Lifted: a dry run first (the caps stay), then applied (gone, audited with what they were).
  const lift = (apply: boolean) => {
    const out = io();
    return runPlaybookCommand(
      ['growth-spike', '--env', 'test', '--tenant', 'grow', '--lift-limits', ...(apply ? ['--apply'] : [])],
      out,
    ).then((code) => ({ code, out }));
  };
  const dryLift = await lift(false);
  expect(dryLift.code).toBe(0);
  expect(step(dryLift.out.printed).slice(0, 2)).toEqual([
    'grow has at most 8 metrics per message, strings of at most 50 characters (growth-spike playbook)',
    "would lift grow's caps: its messages would meet the global 64 metrics, 256 characters again",
  ]);
  expect(await row()).toHaveLength(1);
  await pool.query('truncate ops.audit_log');
  const lifted = await lift(true);
  expect(lifted.code).toBe(0);
  expect(lifted.out.last()).toMatch(/lifted grow's payload caps$/);
  expect(await row()).toEqual([]);
  const liftAudit = await pool.query(`select action, target, detail from ops.audit_log`);
  expect(liftAudit.rows).toEqual([
    {
      action: 'tenant.payload_limit_lifted',
      target: 'grow',
      detail: expect.objectContaining({
        previous: expect.objectContaining({ max_metrics: 8, max_string_length: 50 }),
      }),
    },
  ]);
  // Nothing left: said so, nothing audited.
  const again2 = await lift(true);
  expect(step(again2.out.printed)[1]).toBe('nothing to lift');
  expect((await pool.query('select 1 from ops.audit_log')).rowCount).toBe(1);
  await pool.query('truncate ops.audit_log, ops.tenant_payload_limits');
});

test('an unknown tenant is a step error (exit 1), not a crash', async () => {
  const out = io();
  expect(
    await runPlaybookCommand(
      ['growth-spike', '--env', 'test', '--tenant', 'nobody', '--max-metrics', '5', '--apply'],
      out,
    ),
  ).toBe(1);
  expect(out.printed.join('\n')).toContain('no tenant with slug "nobody"');
  expect((await pool.query('select 1 from ops.tenant_payload_limits')).rowCount).toBe(0);
});
