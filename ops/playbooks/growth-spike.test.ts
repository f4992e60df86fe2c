/** growth-spike on a fresh, seeded database: device growth, largest payloads, partitions, advice. */
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

beforeAll(async () => {
  db = await createTestDatabase('playbook_growth');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
  environment = await writeTestEnvironment({ databaseUrl: db.url });
  const ids = await seedTenants(pool, [
    { slug: 'grow', plan: 'small', devices: ['g-1', 'g-2'] },
    { slug: 'chatty', plan: 'large', devices: ['c-1'] },
  ]);
  const grow = ids.get('grow')!;
  const chatty = ids.get('chatty')!;
  const usage = (
    tenantId: string,
    deviceId: string,
    fromMs: number,
    toMs: number,
    messages: number,
    bytes: number,
  ) => seedUsage(pool, { tenantId, deviceId, fromMs, toMs, messages, bytes });
  // g-1: payloads 8x larger (100 -> 800 B/msg); g-2: steady; c-1: 6x the messages per hour.
  await usage(grow.tenantId, grow.devices.get('g-1')!, NOW - 8 * DAY, NOW - DAY, 10, 1_000);
  await usage(grow.tenantId, grow.devices.get('g-1')!, NOW - DAY, NOW, 10, 8_000);
  await usage(grow.tenantId, grow.devices.get('g-2')!, NOW - 8 * DAY, NOW, 10, 100);
  await usage(chatty.tenantId, chatty.devices.get('c-1')!, NOW - 8 * DAY, NOW - DAY, 10, 500);
  await usage(chatty.tenantId, chatty.devices.get('c-1')!, NOW - DAY, NOW, 60, 3_000);
}, 30_000);

afterAll(async () => {
  await pool?.end();
  await Promise.allSettled([db?.drop(), environment?.remove()]);
});

test('finds the devices that grew, the largest payloads and the partition sizes; changes nothing', async () => {
  const io = recordingIo(environment, { now: () => NOW });
  expect(await runPlaybookCommand(['growth-spike', '--env', 'test'], io)).toBe(0);
  const text = io.printed.join('\n');
  const growth = io.printed.filter((l) => /^ {4}\S+\/\S+: [\d.]+ msg\/h/.test(l)).map((l) => l.trim());
  expect(growth).toEqual([
    'grow/g-1: 10.0 msg/h (x1.0), 800 B/msg (x8.0), 187.5 KiB in 24 h',
    'chatty/c-1: 60.0 msg/h (x6.0), 50 B/msg (x1.0), 70.3 KiB in 24 h',
    'grow/g-2: 10.0 msg/h (x1.0), 10 B/msg (x1.0), 2.3 KiB in 24 h',
  ]);
  expect(text).toContain('bytes in 24 h by tenant: grow 189.8 KiB, chatty 70.3 KiB');
  expect(text).toContain('growing >= x2 (>= 100 msgs in 24 h): grow/g-1, chatty/c-1');
  expect(text).toMatch(/grow\/g-1: 800 B\/msg over 10 message\(s\) in the hour from 2026-11-2\dT\d\d:00Z/);
  const partitions = await pool.query(
    `select count(*)::int as n from pg_inherits where inhparent = 'public.telemetry'::regclass`,
  );
  expect(text).toContain(`${partitions.rows[0].n} partition(s),`);
  expect(text).toContain('the Blob archive is disabled today');
  expect(text).toContain('`ops playbook cost-spike --tenant grow --rate-per-second N --apply`');
  expect(io.last()).toBe('Outcome: growth-spike on test (dry run): 3 ok, 1 warn; no action taken');
  expect((await pool.query('select 1 from ops.audit_log')).rowCount).toBe(0);
});

test('takes no action options', async () => {
  const io = recordingIo(environment);
  expect(
    await runPlaybookCommand(
      ['growth-spike', '--env', 'test', '--tenant', 'grow', '--retention-days', '3'],
      io,
    ),
  ).toBe(2);
  expect(io.errors.join('')).toContain('growth-spike does not take --tenant, --retention-days');
});
