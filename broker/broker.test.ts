/**
 * The rendered configuration on a real Mosquitto: authentication, the per-device ACL, limits, the
 * TLS and websockets listeners, and reload. One broker for the file; each test is bounded.
 *
 * "Not delivered" is proven with a marker: after the forbidden publish, the same client publishes
 * an allowed message; once the subscriber has the marker, anything sent before it would have
 * arrived first (per-client ordering), so no sleep decides the outcome.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import type { IClientOptions, MqttClient } from 'mqtt';
import { DEFAULT_TELEMETRY_LIMITS } from '../common/telemetry.js';
import { bridgeSubscription, telemetryTopic, TELEMETRY_FILTER } from '../common/topics.js';
import {
  startMosquitto,
  mosquittoForTests,
  type MosquittoBroker,
} from '../test/support/mosquitto-process.js';
import {
  closeAllClients,
  connectClient,
  connectRefused,
  inbox,
  type Inbox,
} from '../test/support/mqtt-test-client.js';
import type { BrokerUser } from './render-config.js';
import { createTestCa, type TestCa } from '../test/support/test-ca.js';

const binary = mosquittoForTests();
jest.setTimeout(10_000);

const device = (username: string, tenantSlug: string): BrokerUser => ({
  role: 'device',
  username,
  tenantSlug,
  password: `pw-${username}`,
});
const USERS: BrokerUser[] = [
  device('dev-a1', 'acme'),
  device('dev-a2', 'acme'),
  device('dev-b1', 'globex'),
  { role: 'bridge', username: 'bridge', password: 'pw-bridge' },
  { role: 'alerts', username: 'alerts', password: 'pw-alerts' },
];
const login = (username: string, extra: IClientOptions = {}): IClientOptions => ({
  username,
  password: `pw-${username}`,
  clientId: `${username}-${Math.random().toString(16).slice(2, 8)}`,
  ...extra,
});
const own = (username: string, tenant: string) => telemetryTopic(tenant, username);

(binary ? describe : describe.skip)('Mosquitto with the role configuration', () => {
  let dir: string;
  let ca: TestCa;
  let broker: MosquittoBroker;
  let bridge: MqttClient;
  let received: Inbox;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'broker-test-'));
    ca = await createTestCa({ dir: join(dir, 'ca') });
    broker = await startMosquitto({
      dir: join(dir, 'broker'),
      users: USERS,
      tls: { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey },
      websockets: true,
      // debug: denied and oversize PUBLISHes are only logged at this level.
      logTypes: ['error', 'warning', 'notice', 'information', 'debug'],
    });
    // The bridge as it runs in production: shared subscription, QoS 1.
    bridge = await connectClient(broker.url, login('bridge', { protocolVersion: 5 }));
    received = inbox(bridge);
    await bridge.subscribeAsync(bridgeSubscription(true), { qos: 1 });
  });

  afterAll(async () => {
    await closeAllClients();
    await broker?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const marker = async (client: MqttClient, topic: string) => {
    const payload = `marker-${Math.random()}`;
    await client.publishAsync(topic, payload, { qos: 1 });
    await received.next((m) => m.payload.toString() === payload);
  };
  const receivedPayload = (payload: string) =>
    received.messages.some((m) => m.payload.toString() === payload);

  it('accepts a device with its password and refuses a wrong password or no credentials', async () => {
    await connectClient(broker.url, login('dev-a1'));
    expect((await connectRefused(broker.url, { username: 'dev-a1', password: 'wrong' })).code).toBe(5);
    expect(
      (await connectRefused(broker.url, { username: 'dev-a1', password: 'wrong', protocolVersion: 5 })).code,
    ).toBe(135);
    expect((await connectRefused(broker.url, { username: 'nobody', password: 'x' })).code).toBe(5);
    expect((await connectRefused(broker.url, {})).code).toBe(5);
  });

  it("delivers a device's telemetry to the bridge's shared and plain subscriptions", async () => {
    const plain = await connectClient(broker.url, login('bridge'));
    const plainInbox = inbox(plain);
    await plain.subscribeAsync(TELEMETRY_FILTER, { qos: 1 });
    const dev = await connectClient(broker.url, login('dev-a1'));
    await dev.publishAsync(own('dev-a1', 'acme'), 'reading-1', { qos: 1 });
    const message = await received.next((m) => m.payload.toString() === 'reading-1');
    expect(message.topic).toBe('t/acme/dev-a1/telemetry');
    await plainInbox.next((m) => m.payload.toString() === 'reading-1');
  });

  it("drops a device's publish to another device's or tenant's topic (QoS 0 and 1, MQTT 3.1.1 and 5)", async () => {
    const v3 = await connectClient(broker.url, login('dev-a1'));
    const v5 = await connectClient(broker.url, login('dev-a1', { protocolVersion: 5 }));
    const forbidden = [own('dev-a2', 'acme'), own('dev-a1', 'globex'), 't/acme/alerts', 'anything'];
    for (const topic of forbidden) {
      await v3.publishAsync(topic, `v3q0 ${topic}`, { qos: 0 });
      // MQTT 3.1.1 has no way to say no: the PUBACK looks like success.
      await v3.publishAsync(topic, `v3q1 ${topic}`, { qos: 1 });
      // MQTT 5 gets PUBACK 0x87 Not authorized.
      await expect(v5.publishAsync(topic, `v5q1 ${topic}`, { qos: 1 })).rejects.toMatchObject({ code: 135 });
    }
    await marker(v3, own('dev-a1', 'acme'));
    await marker(v5, own('dev-a1', 'acme'));
    expect(received.messages.filter((m) => forbidden.includes(m.topic))).toEqual([]);
    expect(await broker.log()).toMatch(
      new RegExp(
        `Denied PUBLISH from ${v3.options.clientId} \\(d0, q1, r0, m\\d+, 't/acme/dev-a2/telemetry'`,
      ),
    );
  });

  it("gives a device none of the other devices' telemetry, whatever it subscribes to", async () => {
    const spy = await connectClient(broker.url, login('dev-a1'));
    const spied = inbox(spy);
    // Mosquitto 2.0 grants the SUBACK; the ACL is applied to each delivery instead.
    const granted = await spy.subscribeAsync(['t/acme/dev-a2/telemetry', TELEMETRY_FILTER, '#'], { qos: 1 });
    expect(granted.map((grant) => grant.qos)).toEqual([1, 1, 1]);
    const other = await connectClient(broker.url, login('dev-a2'));
    await marker(other, own('dev-a2', 'acme'));
    await expect(spied.next(() => true, 300)).rejects.toThrow(/no matching message/);
  });

  it('lets the alerts service write alert topics only', async () => {
    const alerts = await connectClient(broker.url, login('alerts', { protocolVersion: 5 }));
    // MQTT 5 answers a denied QoS 1 publish with 0x87, so a resolved publish means allowed.
    await alerts.publishAsync('t/acme/alerts', 'alert', { qos: 1 });
    await expect(
      alerts.publishAsync(own('dev-a1', 'acme'), 'fake reading', { qos: 1 }),
    ).rejects.toMatchObject({ code: 135 });
  });

  describe('message_size_limit', () => {
    const limit = DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes;

    it('delivers a payload of exactly the limit', async () => {
      const dev = await connectClient(broker.url, login('dev-b1'));
      const payload = 'x'.repeat(limit - 4) + 'full';
      await dev.publishAsync(own('dev-b1', 'globex'), payload, { qos: 1 });
      expect((await received.next((m) => m.payload.length === limit)).payload.toString()).toBe(payload);
    });

    it('drops a larger payload; an MQTT 3.1.1 device stays connected and gets a normal PUBACK', async () => {
      const dev = await connectClient(broker.url, login('dev-b1'));
      const payload = `too-big-v3 ${'x'.repeat(limit)}`;
      await dev.publishAsync(own('dev-b1', 'globex'), payload, { qos: 1 });
      await marker(dev, own('dev-b1', 'globex'));
      expect(receivedPayload(payload)).toBe(false);
      expect(dev.connected).toBe(true);
      expect(await broker.log()).toMatch(
        new RegExp(`Dropped too large PUBLISH from ${dev.options.clientId}`),
      );
    });

    it('MQTT 5: the broker answers PUBACK 0x95, which mqtt.js cannot parse: error event, the publish never completes', async () => {
      const dev = await connectClient(broker.url, login('dev-b1', { protocolVersion: 5 }));
      const parseError = new Promise<Error>((resolve) => dev.once('error', resolve));
      const payload = `too-big-v5 ${'x'.repeat(limit)}`;
      let completed = false;
      dev.publish(own('dev-b1', 'globex'), payload, { qos: 1 }, () => (completed = true));
      // 0x95 (Packet too large) is not a valid PUBACK reason code in MQTT 5.
      expect((await parseError).message).toMatch(/Invalid puback reason code/);
      const again = await connectClient(broker.url, login('dev-b1'));
      await marker(again, own('dev-b1', 'globex'));
      expect(receivedPayload(payload)).toBe(false);
      expect(completed).toBe(false);
    });
  });

  it('serves MQTT over TLS with the test CA, and refuses clients that do not trust it', async () => {
    expect(broker.tlsUrl).toMatch(/^mqtts:\/\/127\.0\.0\.1:\d+$/);
    const dev = await connectClient(broker.tlsUrl as string, login('dev-a2', { ca: ca.caPem }));
    await dev.publishAsync(own('dev-a2', 'acme'), 'over-tls', { qos: 1 });
    await received.next((m) => m.payload.toString() === 'over-tls');
    await expect(connectClient(broker.tlsUrl as string, login('dev-a2'))).rejects.toThrow(
      /self.signed|unable to verify|certificate/i,
    );
  });

  it('serves MQTT over websockets with the same users and ACL', async () => {
    expect(broker.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const dev = await connectClient(broker.wsUrl as string, login('dev-a1'));
    await dev.publishAsync(own('dev-a1', 'acme'), 'over-ws', { qos: 1 });
    await received.next((m) => m.payload.toString() === 'over-ws');
    expect(
      (await connectRefused(broker.wsUrl as string, { username: 'dev-a1', password: 'wrong' })).code,
    ).toBe(5);
  });

  it('picks up a new device on SIGHUP, keeping connected clients connected', async () => {
    const newcomer = device('dev-new', 'acme');
    await broker.setUsers([...USERS, newcomer]);
    // Files rewritten but not reloaded yet: the broker still has the old list.
    expect((await connectRefused(broker.url, login('dev-new'))).code).toBe(5);

    const pid = broker.pid;
    await broker.reload();
    expect(broker.pid).toBe(pid);
    const dev = await connectClient(broker.url, login('dev-new'));
    await dev.publishAsync(own('dev-new', 'acme'), 'hello-after-reload', { qos: 1 });
    // Delivered to the bridge connection opened before the reload.
    await received.next((m) => m.payload.toString() === 'hello-after-reload');
    expect(bridge.connected).toBe(true);
  });
});
