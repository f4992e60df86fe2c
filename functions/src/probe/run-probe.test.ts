/** The uptime probe on a real database: states, dispatches on change, retries, heartbeat, pruning. */
import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import type { Check, CheckOutcome } from '../../../ops/engine/check.js';
import { runUptimeProbe, type Dispatch } from './run-probe.js';

let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase('uptime_probe');
  pool = new pg.Pool({ connectionString: db.url, max: 2 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

/** Checks whose outcome the test sets before each run. */
const outcome: Record<string, CheckOutcome['status'] | 'error'> = {};
const check = (id: string): Check => ({
  id,
  title: id,
  severity: 'critical',
  playbook: 'broker-down',
  run: async () => {
    const status = outcome[id]!;
    if (status === 'error') throw new Error(`${id} could not run`);
    return { status, summary: `${id} is ${status}` };
  },
});
const checks = [check('daily.broker-uptime.tls'), check('daily.function-health')];

test('dispatches state changes once, retries a failed dispatch, keeps the heartbeat, prunes old runs', async () => {
  const sent: Parameters<Dispatch>[] = [];
  let failDispatch = false;
  const dispatch: Dispatch = async (type, payload) => {
    if (failDispatch) throw new Error('HTTP 502 from GitHub');
    sent.push([type, payload]);
  };
  let clock = Date.parse('2026-11-27T10:00:00Z');
  const probe = () => runUptimeProbe({ pool, checks, dispatch, now: () => clock });
  const minute = () => (clock += 60_000);

  // First sight, all up: no news.
  outcome['daily.broker-uptime.tls'] = 'ok';
  outcome['daily.function-health'] = 'warn';
  expect((await probe()).changes).toEqual([]);
  expect(sent).toHaveLength(0);

  // The broker goes down: one dispatch naming it.
  minute();
  outcome['daily.broker-uptime.tls'] = 'fail';
  let run = await probe();
  expect(run.dispatched).toBe(true);
  expect(sent).toHaveLength(1);
  expect(sent[0]![0]).toBe('probe-state-changed');
  expect(sent[0]![1].changes).toEqual([
    {
      checkId: 'daily.broker-uptime.tls',
      from: 'up',
      to: 'down',
      status: 'fail',
      since: '2026-11-27T10:01:00.000Z',
      summary: 'daily.broker-uptime.tls is fail',
    },
  ]);

  // Still down, GitHub failing: nothing new to say, so nothing sent and no error.
  minute();
  failDispatch = true;
  run = await probe();
  expect(run.changes).toEqual([]);
  expect(run.dispatchError).toBeUndefined();

  // Back up while GitHub fails: the change is recorded and stays pending.
  minute();
  outcome['daily.broker-uptime.tls'] = 'ok';
  run = await probe();
  expect(run.dispatched).toBe(false);
  expect(run.dispatchError).toBe('HTTP 502 from GitHub');
  expect(sent).toHaveLength(1);

  // GitHub is back: the pending change is sent with the time the broker came back.
  minute();
  failDispatch = false;
  run = await probe();
  expect(run.dispatched).toBe(true);
  expect(sent[1]![1].changes).toEqual([
    expect.objectContaining({
      checkId: 'daily.broker-uptime.tls',
      from: 'down',
      to: 'up',
      since: '2026-11-27T10:03:00.000Z',
    }),
  ]);

  // Nothing changes: nothing is sent.
  minute();
  await probe();
  expect(sent).toHaveLength(2);

  // Heartbeat and history.
  const state = await pool.query(
    `select check_id, state, since, last_at from ops.probe_state order by check_id`,
  );
  expect(state.rows.map((r) => [r.check_id, r.state, r.last_at.toISOString()])).toEqual([
    ['daily.broker-uptime.tls', 'up', '2026-11-27T10:05:00.000Z'],
    ['daily.function-health', 'up', '2026-11-27T10:05:00.000Z'],
  ]);
  expect((await pool.query(`select count(*)::int n from ops.probe_runs`)).rows[0].n).toBe(12);

  // 31 days later the old runs are pruned.
  clock += 31 * 86_400_000;
  run = await probe();
  expect(run.pruned).toBe(12);
});

test('a check that is down the first time it is seen is news', async () => {
  const sent: unknown[] = [];
  outcome['daily.endpoints.dashboard'] = 'error';
  const run = await runUptimeProbe({
    pool,
    checks: [check('daily.endpoints.dashboard')],
    dispatch: async (_t, p) => void sent.push(p),
  });
  expect(run.changes).toEqual([
    expect.objectContaining({ checkId: 'daily.endpoints.dashboard', from: null, to: 'down' }),
  ]);
  expect(sent).toHaveLength(1);
});
