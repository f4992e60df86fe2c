import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { acknowledgeAlert } from './acknowledge.js';
import { evaluateAcceptedBatch } from './evaluate.js';
import { evaluateNoData } from './no-data.js';
import { RuleCache } from './rules.js';
import {
  alertsOf,
  at,
  createDevice,
  createMember,
  createRule,
  createTenant,
  outboxOfTenant,
  setLatest,
} from '../../../test/support/alert-fixture.js';
import type { AcceptedReading } from './types.js';

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('alerts');
  pool = new pg.Pool({ connectionString: db.url, max: 8 });
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

const T0 = new Date('2026-03-01T12:00:00Z');
const NOW = at(T0, 3600);

function reading(
  tenantId: string,
  deviceId: string,
  seconds: number,
  metrics: Record<string, unknown>,
): AcceptedReading {
  return { tenantId, deviceId, ts: at(T0, seconds), metrics };
}

async function setup(rule: Parameters<typeof createRule>[2] = {}) {
  const tenant = await createTenant(pool);
  const device = await createDevice(pool, tenant.tenantId);
  const ruleId = await createRule(pool, tenant.tenantId, rule);
  const temp = (seconds: number, value: number) =>
    reading(tenant.tenantId, device.deviceId, seconds, { temp: value });
  return { ...tenant, ...device, ruleId, temp, cache: new RuleCache() };
}

/** Counts the queries and connections a pool serves. */
function countingPool(target: pg.Pool): { pool: pg.Pool; count: () => number } {
  let n = 0;
  const proxy = new Proxy(target, {
    get(obj, prop, receiver) {
      const value = Reflect.get(obj, prop, receiver) as unknown;
      if ((prop === 'query' || prop === 'connect') && typeof value === 'function') {
        return (...args: unknown[]) => {
          n++;
          return (value as (...a: unknown[]) => unknown).apply(obj, args);
        };
      }
      return value;
    },
  });
  return { pool: proxy, count: () => n };
}

describe('the cheap path', () => {
  test('a tenant without rules costs one query on a miss and none while cached', async () => {
    const tenant = await createTenant(pool);
    const device = await createDevice(pool, tenant.tenantId);
    const counting = countingPool(pool);
    let clock = 0;
    const cache = new RuleCache({ ttlMs: 5000, clock: () => clock });
    const batch = [reading(tenant.tenantId, device.deviceId, 0, { temp: 99 })];

    await evaluateAcceptedBatch(counting.pool, batch, NOW, cache);
    expect(counting.count()).toBe(1);
    for (let i = 0; i < 100; i++) await evaluateAcceptedBatch(counting.pool, batch, NOW, cache);
    expect(counting.count()).toBe(1);
    clock += 5000;
    await evaluateAcceptedBatch(counting.pool, batch, NOW, cache);
    expect(counting.count()).toBe(2);
  });

  test('readings without the rule metric, or of other devices than the rule names, touch nothing', async () => {
    const s = await setup({ metric: 'temp' });
    const other = await createDevice(pool, s.tenantId);
    const pinned = await createRule(pool, s.tenantId, { deviceId: other.deviceId, metric: 'hum' });
    await s.cache.get(pool, [s.tenantId]);
    const counting = countingPool(pool);
    const summary = await evaluateAcceptedBatch(
      counting.pool,
      [reading(s.tenantId, s.deviceId, 0, { hum: 99, temp: 'hot' })],
      NOW,
      s.cache,
    );
    expect(summary).toMatchObject({ pairs: 0, fired: 0 });
    expect(counting.count()).toBe(0);
    expect(await alertsOf(pool, pinned)).toHaveLength(0);
  });
});

describe('threshold rules', () => {
  test('fires only after the condition held for for_seconds (reading time), with one outbox row per channel', async () => {
    const s = await setup({
      forSeconds: 60,
      severity: 'critical',
      channels: [{ type: 'webhook', url: 'https://hooks.example.test/a' }, { type: 'mqtt' }],
    });
    let summary = await evaluateAcceptedBatch(pool, [s.temp(0, 90), s.temp(30, 91)], NOW, s.cache);
    expect(summary).toMatchObject({ pairs: 1, fired: 0 });
    summary = await evaluateAcceptedBatch(pool, [s.temp(59, 92)], NOW, s.cache);
    expect(summary.fired).toBe(0);
    expect(await alertsOf(pool, s.ruleId)).toHaveLength(0);

    summary = await evaluateAcceptedBatch(pool, [s.temp(60, 93), s.temp(70, 94)], NOW, s.cache);
    expect(summary).toMatchObject({ fired: 1, resolved: 0, enqueued: 2 });
    const alerts = await alertsOf(pool, s.ruleId);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ status: 'firing', value: 93, fired_at: at(T0, 60), resolved_at: null });

    const outbox = await outboxOfTenant(pool, s.tenantId);
    expect(outbox.map((o) => [o.channel, o.target, o.event, o.status])).toEqual([
      ['webhook', 'https://hooks.example.test/a', 'fired', 'pending'],
      ['mqtt', `t/${s.slug}/alerts`, 'fired', 'pending'],
    ]);
    expect(outbox[0]!.payload).toEqual({
      event: 'fired',
      alertId: alerts[0]!.id,
      tenant: { id: s.tenantId, slug: s.slug },
      rule: { id: s.ruleId, name: expect.any(String), severity: 'critical' },
      device: { id: s.deviceId, key: s.deviceKey },
      value: 93,
      threshold: 80,
      firedAt: at(T0, 60).toISOString(),
      resolvedAt: null,
    });
    expect(outbox[0]!.next_attempt_at).toEqual(NOW);
  });

  test('a dip below the threshold restarts the for-duration', async () => {
    const s = await setup({ forSeconds: 60 });
    await evaluateAcceptedBatch(
      pool,
      [s.temp(0, 90), s.temp(40, 70), s.temp(50, 90), s.temp(100, 90)],
      NOW,
      s.cache,
    );
    expect(await alertsOf(pool, s.ruleId)).toHaveLength(0);
    await evaluateAcceptedBatch(pool, [s.temp(110, 90)], NOW, s.cache);
    expect((await alertsOf(pool, s.ruleId)).map((a) => a.fired_at)).toEqual([at(T0, 110)]);
  });

  test('readings of a batch are evaluated in time order per device; older batches are stale', async () => {
    const s = await setup({ forSeconds: 60 });
    const summary = await evaluateAcceptedBatch(pool, [s.temp(60, 90), s.temp(0, 90)], NOW, s.cache);
    expect(summary.fired).toBe(1);
    expect((await alertsOf(pool, s.ruleId))[0]!.fired_at).toEqual(at(T0, 60));
    const late = await evaluateAcceptedBatch(pool, [s.temp(30, 10)], NOW, s.cache);
    expect(late).toMatchObject({ stale: 1, resolved: 0 });
    expect((await alertsOf(pool, s.ruleId))[0]!.status).toBe('firing');
  });

  test('hysteresis: between clear and threshold still firing; past clear resolved', async () => {
    const s = await setup({
      threshold: 80,
      clearThreshold: 70,
      channels: [{ type: 'webhook', url: 'https://hooks.example.test/h' }],
    });
    await evaluateAcceptedBatch(pool, [s.temp(0, 85)], NOW, s.cache);
    let summary = await evaluateAcceptedBatch(pool, [s.temp(10, 75), s.temp(20, 71)], NOW, s.cache);
    expect(summary).toMatchObject({ fired: 0, resolved: 0 });
    expect((await alertsOf(pool, s.ruleId)).map((a) => a.status)).toEqual(['firing']);

    summary = await evaluateAcceptedBatch(pool, [s.temp(30, 69.5)], NOW, s.cache);
    expect(summary).toMatchObject({ resolved: 1, enqueued: 1 });
    const [alert] = await alertsOf(pool, s.ruleId);
    expect(alert).toMatchObject({
      status: 'resolved',
      value: 85,
      fired_at: at(T0, 0),
      resolved_at: at(T0, 30),
    });
    const outbox = await outboxOfTenant(pool, s.tenantId);
    expect(outbox.map((o) => o.event)).toEqual(['fired', 'resolved']);
    expect(outbox[1]!.payload).toMatchObject({
      event: 'resolved',
      value: 69.5,
      threshold: 80,
      firedAt: at(T0, 0).toISOString(),
      resolvedAt: at(T0, 30).toISOString(),
    });
  });

  test('operator < with a dotted metric path and hysteresis above', async () => {
    const s = await setup({ metric: 'battery.voltage', operator: '<', threshold: 3.3, clearThreshold: 3.5 });
    const volt = (sec: number, v: number) =>
      reading(s.tenantId, s.deviceId, sec, { battery: { voltage: v } });
    await evaluateAcceptedBatch(pool, [volt(0, 3.2), volt(10, 3.4)], NOW, s.cache);
    expect((await alertsOf(pool, s.ruleId)).map((a) => a.status)).toEqual(['firing']);
    await evaluateAcceptedBatch(pool, [volt(20, 3.6)], NOW, s.cache);
    expect((await alertsOf(pool, s.ruleId)).map((a) => a.status)).toEqual(['resolved']);
  });

  test('cooldown: no re-fire within cooldown_seconds of the resolution, fires after', async () => {
    const s = await setup({ cooldownSeconds: 300, channels: [{ type: 'mqtt' }] });
    await evaluateAcceptedBatch(pool, [s.temp(0, 90), s.temp(10, 50)], NOW, s.cache);
    const summary = await evaluateAcceptedBatch(pool, [s.temp(20, 90), s.temp(300, 95)], NOW, s.cache);
    expect(summary).toMatchObject({ fired: 0, suppressed: 2 });
    expect(await alertsOf(pool, s.ruleId)).toHaveLength(1);

    const later = await evaluateAcceptedBatch(pool, [s.temp(310, 96)], NOW, s.cache);
    expect(later).toMatchObject({ fired: 1, enqueued: 1 });
    const alerts = await alertsOf(pool, s.ruleId);
    expect(alerts.map((a) => [a.status, a.fired_at])).toEqual([
      ['resolved', at(T0, 0)],
      ['firing', at(T0, 310)],
    ]);
    const state = await pool.query(`select * from public.alert_rule_state where rule_id = $1`, [s.ruleId]);
    expect(state.rows[0]).toMatchObject({
      last_fired_at: at(T0, 310),
      last_resolved_at: at(T0, 10),
      pending_since: null,
    });
    expect((await outboxOfTenant(pool, s.tenantId)).map((o) => o.event)).toEqual([
      'fired',
      'resolved',
      'fired',
    ]);
  });

  test('two evaluators on the same batch in parallel: one open alert, one set of notifications, no error', async () => {
    for (let round = 0; round < 8; round++) {
      const s = await setup({
        channels: [{ type: 'mqtt' }, { type: 'webhook', url: 'https://hooks.example.test/c' }],
      });
      const devices = [s, await createDevice(pool, s.tenantId), await createDevice(pool, s.tenantId)];
      const batch = devices.flatMap((d) => [
        reading(s.tenantId, d.deviceId, 0, { temp: 81 }),
        reading(s.tenantId, d.deviceId, 1, { temp: 82 }),
      ]);
      const reversed = [...batch].reverse();
      const results = await Promise.all([
        evaluateAcceptedBatch(pool, batch, NOW, new RuleCache()),
        evaluateAcceptedBatch(pool, reversed, NOW, new RuleCache()),
      ]);
      expect(results[0]!.fired + results[1]!.fired).toBe(3);
      const open = await pool.query(
        `select device_id, count(*)::int as n from public.alerts where rule_id = $1 and status = 'firing' group by device_id`,
        [s.ruleId],
      );
      expect(open.rows.map((r) => r.n)).toEqual([1, 1, 1]);
      expect(await alertsOf(pool, s.ruleId)).toHaveLength(3);
      expect(await outboxOfTenant(pool, s.tenantId)).toHaveLength(6);
    }
  });

  test('an open alert left by someone else is adopted, not duplicated', async () => {
    const s = await setup({ channels: [{ type: 'mqtt' }] });
    await evaluateAcceptedBatch(pool, [s.temp(0, 90)], NOW, s.cache);
    // State lost (e.g. a rule state row removed by hand): the index still holds the line.
    await pool.query(`delete from public.alert_rule_state where rule_id = $1`, [s.ruleId]);
    const summary = await evaluateAcceptedBatch(pool, [s.temp(10, 95)], NOW, s.cache);
    expect(summary).toMatchObject({ fired: 0, enqueued: 0 });
    expect(await alertsOf(pool, s.ruleId)).toHaveLength(1);
  });
});

describe('no_data rules', () => {
  async function deviceOf(alertId: string): Promise<string> {
    const res = await pool.query<{ device_id: string }>(`select device_id from public.alerts where id = $1`, [
      alertId,
    ]);
    return res.rows[0]!.device_id;
  }

  async function noDataSetup(cooldownSeconds = 0) {
    const tenant = await createTenant(pool);
    const silent = await createDevice(pool, tenant.tenantId, { latestTs: at(NOW, -700) });
    const chatty = await createDevice(pool, tenant.tenantId, { latestTs: at(NOW, -10) });
    const never = await createDevice(pool, tenant.tenantId);
    const disabled = await createDevice(pool, tenant.tenantId, {
      status: 'disabled',
      latestTs: at(NOW, -7000),
    });
    const ruleId = await createRule(pool, tenant.tenantId, {
      kind: 'no_data',
      noDataSeconds: 600,
      cooldownSeconds,
      severity: 'critical',
      channels: [{ type: 'webhook', url: 'https://hooks.example.test/nd' }],
    });
    return { ...tenant, silent, chatty, never, disabled, ruleId };
  }

  test('fires for a device silent longer than no_data_seconds, once; resolves when data arrives', async () => {
    const s = await noDataSetup();
    // evaluateNoData sees every tenant of the database: assertions are scoped to this test's rule.
    await evaluateNoData(pool, NOW);
    await evaluateNoData(pool, at(NOW, 60));
    const alerts = await alertsOf(pool, s.ruleId);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ status: 'firing', value: 700, fired_at: NOW });
    expect(await deviceOf(alerts[0]!.id)).toBe(s.silent.deviceId);
    const outbox = await outboxOfTenant(pool, s.tenantId);
    expect(outbox).toHaveLength(1);
    const fired = outbox[0]!;
    expect(fired.payload).toMatchObject({
      event: 'fired',
      device: { id: s.silent.deviceId, key: s.silent.deviceKey },
      value: 700,
      threshold: 600,
      firedAt: NOW.toISOString(),
      resolvedAt: null,
    });

    // Ingest commits data (device_latest, last_seen), then evaluates the batch: resolved.
    const resolvedAt = at(NOW, 120);
    await setLatest(pool, s.tenantId, s.silent.deviceId, at(NOW, 119));
    const summary = await evaluateAcceptedBatch(
      pool,
      [{ tenantId: s.tenantId, deviceId: s.silent.deviceId, ts: at(NOW, 119), metrics: { temp: 1 } }],
      resolvedAt,
      new RuleCache(),
    );
    expect(summary).toMatchObject({ resolved: 1, enqueued: 1 });
    expect((await alertsOf(pool, s.ruleId))[0]).toMatchObject({
      status: 'resolved',
      resolved_at: resolvedAt,
    });
    expect((await outboxOfTenant(pool, s.tenantId)).map((o) => o.payload.event)).toEqual([
      'fired',
      'resolved',
    ]);
    await evaluateNoData(pool, at(NOW, 180));
    expect((await alertsOf(pool, s.ruleId)).map((a) => a.status)).toEqual(['resolved']);
  });

  test('the timer resolves a no_data alert whose device is fresh again, and respects the cooldown', async () => {
    const s = await noDataSetup(900);
    const silentAlerts = async () =>
      (await alertsOf(pool, s.ruleId)).filter((a) => a.device_id === s.silent.deviceId).map((a) => a.status);
    await evaluateNoData(pool, NOW);
    await setLatest(pool, s.tenantId, s.silent.deviceId, at(NOW, 30));
    await setLatest(pool, s.tenantId, s.chatty.deviceId, at(NOW, 2000)); // keep the other device out of it
    const timer = await evaluateNoData(pool, at(NOW, 60));
    expect(timer.resolved).toBeGreaterThanOrEqual(1);
    expect(await silentAlerts()).toEqual(['resolved']);
    expect((await outboxOfTenant(pool, s.tenantId)).map((o) => o.event)).toEqual(['fired', 'resolved']);
    // Silent again: past no_data_seconds but within the cooldown of the resolution at NOW+60.
    await evaluateNoData(pool, at(NOW, 900));
    expect(await silentAlerts()).toEqual(['resolved']);
    await evaluateNoData(pool, at(NOW, 960));
    expect(await silentAlerts()).toEqual(['resolved', 'firing']);
  });

  test('two timers in parallel open one alert per device and notify once', async () => {
    const s = await noDataSetup();
    const results = await Promise.all([evaluateNoData(pool, at(NOW, 5)), evaluateNoData(pool, at(NOW, 5))]);
    expect(results.every((r) => r.fired >= 0)).toBe(true);
    const alerts = await alertsOf(pool, s.ruleId);
    expect(alerts.map((a) => [a.device_id, a.status])).toEqual([[s.silent.deviceId, 'firing']]);
    expect(await outboxOfTenant(pool, s.tenantId)).toHaveLength(1);
  });

  test('suspended tenants and disabled rules do not fire', async () => {
    const tenant = await createTenant(pool, 'suspended');
    await createDevice(pool, tenant.tenantId, { latestTs: at(NOW, -7000) });
    const suspendedRule = await createRule(pool, tenant.tenantId, { kind: 'no_data', noDataSeconds: 60 });
    const active = await createTenant(pool);
    await createDevice(pool, active.tenantId, { latestTs: at(NOW, -7000) });
    const disabledRule = await createRule(pool, active.tenantId, {
      kind: 'no_data',
      noDataSeconds: 60,
      enabled: false,
    });
    await evaluateNoData(pool, NOW);
    expect(await alertsOf(pool, suspendedRule)).toHaveLength(0);
    expect(await alertsOf(pool, disabledRule)).toHaveLength(0);
  });
});

describe('acknowledgeAlert', () => {
  test('an admin acknowledges once; viewers and outsiders are refused; unknown alerts are not found', async () => {
    const s = await setup();
    await evaluateAcceptedBatch(pool, [s.temp(0, 90)], NOW, s.cache);
    const [alert] = await alertsOf(pool, s.ruleId);
    const member = await createMember(pool, s.tenantId);
    const second = await createMember(pool, s.tenantId);
    const outsider = await createMember(pool, (await createTenant(pool)).tenantId);
    const viewer = await createMember(pool, s.tenantId, 'viewer');

    expect((await acknowledgeAlert(pool, alert!.id, outsider, NOW)).status).toBe('forbidden');
    // As the data API's acknowledge_alert and the alerts' RLS: a viewer only reads.
    expect((await acknowledgeAlert(pool, alert!.id, viewer, NOW)).status).toBe('forbidden');
    const ack = await acknowledgeAlert(pool, alert!.id, member, NOW);
    expect(ack).toMatchObject({
      status: 'acknowledged',
      alert: { id: alert!.id, status: 'firing', acknowledgedBy: member },
    });
    expect(ack.alert!.acknowledgedAt).toEqual(NOW);
    const again = await acknowledgeAlert(pool, alert!.id, second, at(NOW, 60));
    expect(again).toMatchObject({
      status: 'already_acknowledged',
      alert: { acknowledgedBy: member, acknowledgedAt: NOW },
    });
    expect((await alertsOf(pool, s.ruleId))[0]).toMatchObject({
      acknowledged_by: member,
      acknowledged_at: NOW,
    });
    expect((await acknowledgeAlert(pool, '00000000-0000-4000-8000-000000000000', member)).status).toBe(
      'not_found',
    );

    // Acknowledging leaves the lifecycle alone: the alert still resolves.
    await evaluateAcceptedBatch(pool, [s.temp(10, 50)], NOW, s.cache);
    expect((await alertsOf(pool, s.ruleId))[0]).toMatchObject({
      status: 'resolved',
      acknowledged_by: member,
    });
  });
});
