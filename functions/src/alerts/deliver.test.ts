import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect as netConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import pg from 'pg';
import { alertsTopic } from '../../../common/topics.js';
import { createTestDatabase, type TestDatabase } from '../../../test/support/database.js';
import { backoffMs, deliverOutbox, webhookTargetRefusal } from './deliver.js';
import { evaluateAcceptedBatch } from './evaluate.js';
import { lazyMqttPublisher, mqttPublisher } from './mqtt.js';
import { RuleCache } from './rules.js';
import {
  at,
  createDevice,
  createRule,
  createTenant,
  outboxOfTenant,
} from '../../../test/support/alert-fixture.js';
import { runAlertsTick } from './tick.js';

const MQTT_URL = process.env.TEST_MQTT_URL ?? 'mqtt://127.0.0.1:1883';

async function reachable(url: string): Promise<boolean> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port || 1883) });
    socket.setTimeout(1000);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => (socket.destroy(), resolve(false)));
  });
}

const mqttUp = await reachable(MQTT_URL);
if (!mqttUp) {
  if (process.env.CI === 'true')
    throw new Error(`Mosquitto is not reachable at ${MQTT_URL}: CI must run the MQTT tests`);
  console.warn(`skipping the MQTT channel tests: no broker at ${MQTT_URL} (set TEST_MQTT_URL)`);
}
const mqttTest = mqttUp ? test : test.skip;

// A real HTTP server as the webhook receiver; `mode` decides how it answers.
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}
let server: Server;
let hookBase: string;
let mode: 'ok' | 'down' | 'hang' = 'ok';
let received: Received[] = [];

let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase('alerts_deliver');
  pool = new pg.Pool({ connectionString: db.url, max: 8 });
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({
        path: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      if (mode === 'hang') return; // never answers
      if (mode === 'down') {
        res.writeHead(503, { 'content-type': 'text/plain' }).end('receiver unavailable');
        return;
      }
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  hookBase = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  mode = 'ok';
  received = [];
  // deliverOutbox works on the whole database: each test starts from an empty outbox.
  await pool.query('delete from public.notification_outbox');
});

const NOW = new Date('2026-03-01T12:00:00Z');

/** A tenant with a rule on `channels` and a fired alert (2 readings later: resolved if `resolve`). */
async function firedAlert(channels: unknown[], resolve = false) {
  const tenant = await createTenant(pool);
  const device = await createDevice(pool, tenant.tenantId);
  const ruleId = await createRule(pool, tenant.tenantId, { name: 'Too hot', severity: 'critical', channels });
  const readings = [
    { tenantId: tenant.tenantId, deviceId: device.deviceId, ts: at(NOW, -60), metrics: { temp: 91 } },
  ];
  if (resolve) readings.push({ ...readings[0]!, ts: at(NOW, -30), metrics: { temp: 20 } });
  await evaluateAcceptedBatch(pool, readings, NOW, new RuleCache());
  return { ...tenant, ...device, ruleId };
}

async function subscribe(
  topic: string,
): Promise<{ client: MqttClient; messages: Array<{ topic: string; payload: string; qos: number }> }> {
  const client = await mqtt.connectAsync(MQTT_URL, {
    clientId: `alerts-test-sub-${Math.random().toString(16).slice(2)}`,
  });
  const messages: Array<{ topic: string; payload: string; qos: number }> = [];
  client.on('message', (t, payload, packet) =>
    messages.push({ topic: t, payload: payload.toString('utf8'), qos: packet.qos }),
  );
  await client.subscribeAsync(topic, { qos: 1 });
  return { client, messages };
}

async function until(check: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('deliverOutbox', () => {
  mqttTest(
    'delivers to a webhook (POST JSON) and to MQTT (QoS 1 on the tenant alerts topic) and records it',
    async () => {
      const s = await firedAlert([{ type: 'webhook', url: `${hookBase}/hook` }, { type: 'mqtt' }]);
      const topic = alertsTopic(s.slug);
      const sub = await subscribe(topic);
      const pub = await mqtt.connectAsync(MQTT_URL, {
        clientId: `alerts-test-pub-${Math.random().toString(16).slice(2)}`,
      });
      try {
        const result = await deliverOutbox(pool, {
          now: NOW,
          fetch,
          publishMqtt: mqttPublisher(pub),
          maxAttempts: 5,
          batchSize: 10,
          allowPrivateWebhookTargets: true,
        });
        expect(result).toEqual({ claimed: 2, delivered: 2, failed: 0, retried: 0 });

        const outbox = await outboxOfTenant(pool, s.tenantId);
        expect(outbox.map((o) => [o.channel, o.status, o.attempts, o.delivered_at, o.last_error])).toEqual([
          ['webhook', 'delivered', 1, NOW, null],
          ['mqtt', 'delivered', 1, NOW, null],
        ]);

        expect(received).toHaveLength(1);
        const hook = received[0]!;
        expect(hook.path).toBe('/hook');
        expect(hook.headers['content-type']).toBe('application/json');
        expect(hook.headers['x-alert-event']).toBe('fired');
        expect(hook.headers['x-notification-id']).toBe(String(outbox[0]!.id));
        expect(hook.body).toEqual({
          event: 'fired',
          alertId: outbox[0]!.alert_id,
          tenant: { id: s.tenantId, slug: s.slug },
          rule: { id: s.ruleId, name: 'Too hot', severity: 'critical' },
          device: { id: s.deviceId, key: s.deviceKey },
          value: 91,
          threshold: 80,
          firedAt: at(NOW, -60).toISOString(),
          resolvedAt: null,
        });

        await until(() => sub.messages.length === 1);
        expect(sub.messages[0]!.topic).toBe(topic);
        expect(sub.messages[0]!.qos).toBe(1);
        expect(JSON.parse(sub.messages[0]!.payload)).toEqual(hook.body);

        // Nothing is due any more.
        expect(
          await deliverOutbox(pool, { now: at(NOW, 3600), fetch, allowPrivateWebhookTargets: true }),
        ).toMatchObject({
          claimed: 0,
        });
      } finally {
        await sub.client.endAsync();
        await pub.endAsync();
      }
    },
  );

  test('webhook down: retried with exponential backoff, then failed after maxAttempts', async () => {
    const s = await firedAlert([{ type: 'webhook', url: `${hookBase}/down` }]);
    mode = 'down';
    const opts = {
      fetch,
      maxAttempts: 3,
      batchSize: 10,
      allowPrivateWebhookTargets: true,
      backoffBaseMs: 30_000,
    };

    expect(await deliverOutbox(pool, { ...opts, now: NOW })).toEqual({
      claimed: 1,
      delivered: 0,
      failed: 0,
      retried: 1,
    });
    let [row] = await outboxOfTenant(pool, s.tenantId);
    expect(row).toMatchObject({
      status: 'pending',
      attempts: 1,
      next_attempt_at: at(NOW, 30),
      delivered_at: null,
    });
    expect(row!.last_error).toBe('HTTP 503: receiver unavailable');

    // Not due before the backoff is over.
    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 29) })).toMatchObject({ claimed: 0 });

    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 30) })).toMatchObject({ retried: 1 });
    [row] = await outboxOfTenant(pool, s.tenantId);
    expect(row).toMatchObject({ status: 'pending', attempts: 2, next_attempt_at: at(NOW, 30 + 60) });

    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 90) })).toEqual({
      claimed: 1,
      delivered: 0,
      failed: 1,
      retried: 0,
    });
    [row] = await outboxOfTenant(pool, s.tenantId);
    expect(row).toMatchObject({
      status: 'failed',
      attempts: 3,
      delivered_at: null,
      last_error: 'HTTP 503: receiver unavailable',
    });
    expect(received).toHaveLength(3);
    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 86_400) })).toMatchObject({ claimed: 0 });
  });

  test('connection refused and timeouts count as failed attempts', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadPort = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const refused = await firedAlert([{ type: 'webhook', url: `http://127.0.0.1:${deadPort}/x` }]);
    const hanging = await firedAlert([{ type: 'webhook', url: `${hookBase}/hang` }]);
    mode = 'hang';
    const result = await deliverOutbox(pool, {
      now: NOW,
      fetch,
      maxAttempts: 1,
      timeoutMs: 300,
      allowPrivateWebhookTargets: true,
    });
    expect(result).toEqual({ claimed: 2, delivered: 0, failed: 2, retried: 0 });
    expect((await outboxOfTenant(pool, refused.tenantId))[0]!.last_error).toMatch(/ECONNREFUSED/);
    expect((await outboxOfTenant(pool, hanging.tenantId))[0]!.last_error).toMatch(/timed out|aborted/i);
  });

  test('fired is delivered before resolved to the same target, even across retries', async () => {
    const s = await firedAlert([{ type: 'webhook', url: `${hookBase}/ordered` }], true);
    expect((await outboxOfTenant(pool, s.tenantId)).map((o) => o.event)).toEqual(['fired', 'resolved']);
    const opts = { fetch, allowPrivateWebhookTargets: true };
    mode = 'down';
    expect(await deliverOutbox(pool, { ...opts, now: NOW })).toMatchObject({ claimed: 1, retried: 1 });
    mode = 'ok';
    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 10) })).toMatchObject({ claimed: 0 });
    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 30) })).toMatchObject({
      claimed: 1,
      delivered: 1,
    });
    expect(await deliverOutbox(pool, { ...opts, now: at(NOW, 31) })).toMatchObject({
      claimed: 1,
      delivered: 1,
    });
    expect(received.map((r) => [r.body.event, r.headers['x-alert-event']])).toEqual([
      ['fired', 'fired'],
      ['fired', 'fired'],
      ['resolved', 'resolved'],
    ]);
  });

  test('two deliverers in parallel never deliver the same row twice', async () => {
    for (let i = 0; i < 6; i++) await firedAlert([{ type: 'webhook', url: `${hookBase}/p${i}` }]);
    const opts = { now: NOW, fetch, batchSize: 2, allowPrivateWebhookTargets: true };
    const runs = await Promise.all([
      deliverOutbox(pool, opts),
      deliverOutbox(pool, opts),
      deliverOutbox(pool, opts),
    ]);
    const more = await deliverOutbox(pool, { ...opts, batchSize: 10 });
    expect(runs.reduce((n, r) => n + r.delivered, 0) + more.delivered).toBe(6);
    expect(new Set(received.map((r) => r.path)).size).toBe(6);
    expect(received).toHaveLength(6);
  });

  test('private webhook targets are refused unless allowed; no publisher means mqtt rows retry', async () => {
    const s = await firedAlert([{ type: 'webhook', url: `${hookBase}/private` }, { type: 'mqtt' }]);
    const result = await deliverOutbox(pool, { now: NOW, fetch });
    expect(result).toEqual({ claimed: 2, delivered: 0, failed: 1, retried: 1 });
    const rows = await outboxOfTenant(pool, s.tenantId);
    expect(rows.map((r) => [r.channel, r.status, r.last_error])).toEqual([
      ['webhook', 'failed', 'webhook target is a private, loopback or link-local address'],
      ['mqtt', 'pending', 'no MQTT publisher configured'],
    ]);
    expect(received).toHaveLength(0);

    expect(webhookTargetRefusal('https://hooks.example.com/x', false)).toBeNull();
    expect(webhookTargetRefusal('http://169.254.169.254/latest/meta-data', false)).toMatch(/private/);
    expect(webhookTargetRefusal('http://10.1.2.3/', false)).toMatch(/private/);
    expect(webhookTargetRefusal('http://[::1]:8080/', false)).toMatch(/private/);
    expect(webhookTargetRefusal('http://[::ffff:127.0.0.1]/', false)).toMatch(/private/);
    expect(webhookTargetRefusal('http://app.localhost/', false)).toMatch(/loopback/);
    expect(webhookTargetRefusal('ftp://example.com/', true)).toMatch(/scheme/);
    expect(backoffMs(1, 30_000, 3_600_000)).toBe(30_000);
    expect(backoffMs(4, 30_000, 3_600_000)).toBe(240_000);
    expect(backoffMs(20, 30_000, 3_600_000)).toBe(3_600_000);
  });
});

describe('runAlertsTick', () => {
  mqttTest(
    'one tick fires no_data alerts and delivers them through a lazily connected MQTT publisher',
    async () => {
      const tenant = await createTenant(pool);
      const device = await createDevice(pool, tenant.tenantId, { latestTs: at(NOW, -3600) });
      const ruleId = await createRule(pool, tenant.tenantId, {
        kind: 'no_data',
        noDataSeconds: 600,
        channels: [{ type: 'mqtt' }, { type: 'webhook', url: `${hookBase}/tick` }],
      });
      const sub = await subscribe(alertsTopic(tenant.slug));
      const publisher = lazyMqttPublisher(MQTT_URL, {
        clientId: `alerts-test-lazy-${Math.random().toString(16).slice(2)}`,
      });
      try {
        const result = await runAlertsTick(pool, {
          clock: () => NOW,
          fetch,
          publishMqtt: publisher.publish,
          allowPrivateWebhookTargets: true,
        });
        expect(result.noData.fired).toBeGreaterThanOrEqual(1);
        expect(result.delivery).toMatchObject({ delivered: result.delivery.claimed, failed: 0, retried: 0 });
        const rows = await pool.query(`select status from public.notification_outbox where tenant_id = $1`, [
          tenant.tenantId,
        ]);
        expect(rows.rows.map((r) => r.status)).toEqual(['delivered', 'delivered']);
        await until(() => sub.messages.length === 1);
        expect(JSON.parse(sub.messages[0]!.payload)).toMatchObject({
          event: 'fired',
          rule: { id: ruleId },
          device: { id: device.deviceId, key: device.deviceKey },
          value: 3600,
          threshold: 600,
        });
        expect(received.find((r) => r.path === '/tick')?.body).toEqual(JSON.parse(sub.messages[0]!.payload));
      } finally {
        await publisher.close();
        await sub.client.endAsync();
      }
    },
  );
});
