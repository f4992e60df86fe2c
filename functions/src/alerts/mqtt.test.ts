/**
 * The alerts publisher on the listener it uses in production (TLS, where the broker replaces each
 * client id by the username): two holders of the alerts user take the client id from each other
 * only when they publish, never in a reconnect loop.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import mqtt, { type MqttClient } from 'mqtt';
import {
  mosquittoForTests,
  startMosquitto,
  type MosquittoBroker,
} from '../../../test/support/mosquitto-process.js';
import { createTestCa, type TestCa } from '../../../test/support/test-ca.js';
import { alertsTopic } from '../../../common/topics.js';
import { lazyMqttPublisher, type LazyMqttPublisher } from './mqtt.js';

const binary = mosquittoForTests();
jest.setTimeout(20_000);

const ALERTS = { username: 'svc-alerts', password: 'alerts-password-1234' };

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

(binary ? describe : describe.skip)('lazyMqttPublisher on a listener that binds client ids', () => {
  let dir: string;
  let ca: TestCa;
  let broker: MosquittoBroker;
  const publishers: LazyMqttPublisher[] = [];
  // Every client the publishers open, to look at their reconnect state (mqtt.js arms its reconnect
  // timer synchronously when the connection closes, so a pending reconnect is visible at once).
  const clients: MqttClient[] = [];
  const original = Object.getOwnPropertyDescriptor(mqtt, 'connectAsync')!;

  beforeAll(async () => {
    const connectAsync = mqtt.connectAsync;
    Object.defineProperty(mqtt, 'connectAsync', {
      configurable: true,
      value: async (...args: Parameters<typeof connectAsync>) => {
        const client = await connectAsync(...args);
        clients.push(client);
        return client;
      },
    });
    dir = await mkdtemp(join(tmpdir(), 'alerts-mqtt-'));
    ca = await createTestCa({ dir: join(dir, 'ca') });
    broker = await startMosquitto({
      dir: join(dir, 'broker'),
      users: [{ role: 'alerts', ...ALERTS }],
      tls: { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey },
    });
  });
  afterAll(async () => {
    Object.defineProperty(mqtt, 'connectAsync', original);
    await Promise.all(publishers.map((p) => p.close()));
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const publisher = (clientId: string) => {
    const p = lazyMqttPublisher(broker.tlsUrl!, {
      ...ALERTS,
      ca: ca.caPem,
      clientId,
      protocolVersion: 5,
      reconnectPeriod: 100, // ignored: the publisher never reconnects by itself
    });
    publishers.push(p);
    return p;
  };
  const connections = async () =>
    (await broker.log()).split('\n').filter((line) => / as svc-alerts \(/.test(line)).length;
  const takeovers = async () =>
    (await broker.log()).split('\n').filter((line) => line.includes('Client svc-alerts already connected'))
      .length;

  test('two instances take the id from each other only when they publish, then stay down', async () => {
    const topic = alertsTopic('acme');
    const a = publisher('alerts-instance-a');
    const b = publisher('alerts-instance-b');
    expect(a.connected).toBe(false); // lazy: nothing until the first publish

    await a.publish(topic, 'from a');
    expect(a.connected).toBe(true);
    // b's client id becomes svc-alerts too: its connect drops a.
    await b.publish(topic, 'from b');
    await until('a to lose its connection', () => !a.connected);
    expect(await takeovers()).toBe(1);
    // ... and a's client is ended with no reconnect pending: it cannot take the id back by itself.
    expect(clients).toHaveLength(2);
    const dropped = clients[0]!;
    await until("a's client to be ended", () => dropped.disconnected);
    const timer = (dropped as unknown as { reconnectTimer: unknown }).reconnectTimer; // private in the types
    expect({ reconnecting: dropped.reconnecting, timer: timer ?? null }).toEqual({
      reconnecting: false,
      timer: null,
    });

    // b keeps publishing on its connection: a did not come back and take the id.
    await b.publish(topic, 'from b again');
    expect(b.connected).toBe(true);
    expect(a.connected).toBe(false);

    // a reconnects on demand, and then b is the one without a connection.
    await a.publish(topic, 'from a again');
    expect(a.connected).toBe(true);
    await until('b to lose its connection', () => !b.connected);
    await until("b's client to be ended", () => clients[1]!.disconnected);
    expect(clients[1]!.reconnecting).toBe(false);
    await until('the broker to log the takeover', async () => (await takeovers()) === 2);
    expect(await connections()).toBe(3);
    expect(clients).toHaveLength(3);

    await Promise.all([a.close(), b.close()]);
    expect(await connections()).toBe(3);
  });
});
