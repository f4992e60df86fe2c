/**
 * cost-spike on a fresh, seeded database: the diagnosis from the usage rollup and the AI ledger,
 * then the tenant rate limit and the temporary retention cut, dry run and applied.
 */
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
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let db: TestDatabase;
let pool: pg.Pool;
let environment: TestEnvironment;
let hotId: string;

beforeAll(async () => {
  db = await createTestDatabase('playbook_cost');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  environment = await writeTestEnvironment({ databaseUrl: db.url });
  const ids = await seedTenants(pool, [
    { slug: 'hot', plan: 'small', devices: ['hot-1'] },
    { slug: 'calm', plan: 'large', devices: ['calm-1'] },
  ]);
  const hot = ids.get('hot')!;
  const calm = ids.get('calm')!;
  hotId = hot.tenantId;
  const hot1 = hot.devices.get('hot-1')!;
  // hot: 100 msgs/h for the week before, 1,000 msgs/h (and 20x the bytes) in the last 24 h.
  await seedUsage(pool, {
    tenantId: hotId,
    deviceId: hot1,
    fromMs: NOW - 8 * DAY,
    toMs: NOW - DAY,
    messages: 100,
    bytes: 10_000,
  });
  await seedUsage(pool, {
    tenantId: hotId,
    deviceId: hot1,
    fromMs: NOW - DAY,
    toMs: NOW,
    messages: 1_000,
    bytes: 200_000,
  });
  // Older rows: 20 days back, inside the plan's 30 days, outside a 7-day cut.
  await seedUsage(pool, {
    tenantId: hotId,
    deviceId: hot1,
    fromMs: NOW - 20 * DAY,
    toMs: NOW - 19 * DAY,
    messages: 10,
    bytes: 1_000,
  });
  await seedUsage(pool, {
    tenantId: calm.tenantId,
    deviceId: calm.devices.get('calm-1')!,
    fromMs: NOW - 8 * DAY,
    toMs: NOW,
    messages: 50,
    bytes: 5_000,
  });
  await pool.query(
    `insert into public.ai_usage (tenant_id, occurred_at, provider, model, input_tokens, output_tokens, cost_usd) values
       ($1, $3, 'openai', 'gpt-x', 15000, 5000, 1.5),
       ($2, $3, 'openai', 'gpt-x', 800, 200, 0.05),
       ($1, $4, 'openai', 'gpt-x', 900000, 0, 50)`,
    [hotId, calm.tenantId, new Date(NOW - 2 * DAY), new Date('2026-10-20T00:00:00Z')],
  );
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await Promise.allSettled([db?.drop(), environment?.remove()]);
});

const io = () => recordingIo(environment, { now: () => NOW });
const audit = async () =>
  (
    await pool.query<{ actor: string; action: string; target: string }>(
      'select actor, action, target from ops.audit_log order by id',
    )
  ).rows;

test('diagnosis: the spiking tenant from the rollup and AI spend this month against allowances', async () => {
  const out = io();
  expect(await runPlaybookCommand(['cost-spike', '--env', 'test'], out)).toBe(0);
  const text = out.printed.join('\n');
  expect(text).toContain(
    'hot: 24,000 messages, 4.6 MiB from 1 device(s) in 24 h; 7-day daily mean 2,400 messages, 234.4 KiB (x20.0 bytes)',
  );
  expect(text).toContain('calm: 1,200 messages');
  expect(text).toContain('spiking (>= x2 bytes and >= 1,000 messages): hot');
  // October's 900,000 tokens are not this month's.
  expect(text).toContain('hot: 20,000 tokens ($1.50) of 10,000 allowed (200%; gpt-x)');
  expect(text).toContain("over their plan's AI allowance: hot");
  expect(out.last()).toBe('Outcome: cost-spike on test (dry run): 2 warn, 2 skipped; no action taken');
});

test('rate limit: dry run changes nothing; applied sets it (burst 5x rate) and audits it', async () => {
  const dry = io();
  expect(
    await runPlaybookCommand(
      ['cost-spike', '--env', 'test', '--tenant', 'hot', '--rate-per-second', '20'],
      dry,
    ),
  ).toBe(0);
  expect(dry.printed.join('\n')).toContain('would limit hot to 20/s, burst 100');
  expect((await pool.query('select 1 from ops.tenant_rate_limits')).rowCount).toBe(0);
  expect(await audit()).toEqual([]);

  const applied = io();
  expect(
    await runPlaybookCommand(
      [
        'cost-spike',
        '--env',
        'test',
        '--tenant',
        'hot',
        '--rate-per-second',
        '20',
        '--incident',
        '12',
        '--apply',
      ],
      applied,
    ),
  ).toBe(0);
  expect(applied.last()).toMatch(/^Outcome: cost-spike on test \(applied\): .*; limited hot to 20\/s$/);
  const limit = await pool.query(
    'select per_second, burst, reason from ops.tenant_rate_limits where tenant_id = $1',
    [hotId],
  );
  expect(limit.rows).toEqual([{ per_second: 20, burst: 100, reason: 'cost-spike playbook (incident #12)' }]);
  expect(await audit()).toEqual([
    { actor: 'playbook:cost-spike', action: 'tenant.rate_limit', target: 'hot' },
  ]);
  await pool.query('truncate ops.audit_log');
});

test('retention: only lowers, dry run changes nothing, applied writes an expiring override', async () => {
  const higher = io();
  expect(
    await runPlaybookCommand(
      ['cost-spike', '--env', 'test', '--tenant', 'hot', '--retention-days', '45', '--apply'],
      higher,
    ),
  ).toBe(1);
  expect(higher.printed.join('\n')).toContain(
    "hot's plan small keeps 30 days: an override only lowers it (asked 45)",
  );
  // Refused before anything changed: the header does not claim otherwise.
  expect(higher.last()).toMatch(/^Outcome: cost-spike on test \(nothing applied\): /);

  const dry = io();
  expect(
    await runPlaybookCommand(
      ['cost-spike', '--env', 'test', '--dry-run', '--tenant', 'hot', '--retention-days', '7'],
      dry,
    ),
  ).toBe(0);
  const text = dry.printed.join('\n');
  expect(text).toContain('hot: plan small keeps 30 days, 30 in force now');
  expect(text).toContain("messages older than 7 days within the plan's window: 2,640 (257.8 KiB received)");
  expect(text).toContain("would lower hot's retention to 7 days until 2026-12-10");
  // This environment has no archive: the cut would change nothing, and the step says so.
  expect(text).toContain(
    'WARNING: the cut changes nothing until the archive is on: runbook/environments/test.yaml configures no archive',
  );
  expect((await pool.query('select 1 from ops.tenant_retention_overrides')).rowCount).toBe(0);

  const applied = io();
  const env = { ...environment, env: { ...environment.env, GITHUB_ACTOR: 'octocat' } };
  expect(
    await runPlaybookCommand(
      [
        'cost-spike',
        '--env',
        'test',
        '--tenant',
        'hot',
        '--retention-days',
        '7',
        '--retention-for-days',
        '3',
        '--reason',
        'egress spike',
        '--apply',
      ],
      recordingIo(env, { now: () => NOW, out: applied.out }),
    ),
  ).toBe(0);
  expect(applied.last()).toContain("lowered hot's retention to 7 days");
  // Recorded, with a warning: nothing leaves the database until the archive is on.
  expect(applied.printed).toContain(
    '[WARN] act retention: a temporary retention cut for one tenant (--tenant <slug> --retention-days N [--retention-for-days N])',
  );
  const override = await pool.query(
    `select retention_days, reason, expires_at, created_by, ops.effective_retention_days(tenant_id, $2) as effective
       from ops.tenant_retention_overrides where tenant_id = $1`,
    [hotId, new Date(NOW)],
  );
  expect(override.rows).toEqual([
    {
      retention_days: 7,
      reason: 'egress spike',
      expires_at: new Date(NOW + 3 * DAY),
      created_by: 'playbook:cost-spike (octocat)',
      effective: 7,
    },
  ]);
  expect(await audit()).toEqual([
    { actor: 'playbook:cost-spike (octocat)', action: 'tenant.retention_override', target: 'hot' },
  ]);
});

test('an unknown tenant is a step error (exit 1), not a crash', async () => {
  const out = io();
  expect(
    await runPlaybookCommand(
      ['cost-spike', '--env', 'test', '--tenant', 'nobody', '--rate-per-second', '5', '--apply'],
      out,
    ),
  ).toBe(1);
  expect(out.printed.join('\n')).toContain('no tenant with slug "nobody"');
});
