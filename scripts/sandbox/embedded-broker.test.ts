/**
 * The embedded broker binds devices' client ids like Mosquitto's device listeners: a device that
 * connects with the bridge's or another device's client id gets its own username as id instead,
 * so it takes over nobody's session. Services keep their client ids (the bridge's session).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { hashPassword } from '../../broker/password-hash.js';
import { telemetryTopic } from '../../common/topics.js';
import { startEmbeddedBroker, type EmbeddedBroker, type HashedIdentity } from './embedded-broker.js';

const PASSWORD = 'password-1234';
const USERS: HashedIdentity[] = [
  { role: 'device', username: 'acme-1', tenantSlug: 'acme', hash: hashPassword(PASSWORD) },
  { role: 'device', username: 'globex-1', tenantSlug: 'globex', hash: hashPassword(PASSWORD) },
  { role: 'bridge', username: 'svc-bridge', hash: hashPassword(PASSWORD) },
];

function bounded<T>(what: string, promise: Promise<T>, ms = 5_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>(
      (_, reject) =>
        (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
    ),
  ]);
}

describe('embedded broker: client ids of devices are their usernames', () => {
  let broker: EmbeddedBroker;
  const clients: MqttClient[] = [];
  const closes = new Map<MqttClient, number>();
  const connect = async (username: string, options: IClientOptions) => {
    const client = await mqtt.connectAsync(broker.url, {
      username,
      password: PASSWORD,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
      ...options,
    });
    clients.push(client);
    closes.set(client, 0);
    client.on('close', () => closes.set(client, (closes.get(client) ?? 0) + 1));
    return client;
  };
  beforeAll(async () => {
    broker = await startEmbeddedBroker(USERS);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.endAsync(true)));
    await broker.stop();
  });

  test("a device using the bridge's or another device's client id disconnects neither", async () => {
    const bridge = await connect('svc-bridge', { clientId: 'bridge-sandbox', clean: false });
    const received: string[] = [];
    bridge.on('message', (_topic, payload) => received.push(payload.toString()));
    await bridge.subscribeAsync('t/+/+/telemetry', { qos: 1 });
    const victim = await connect('globex-1', { clientId: 'anything' });

    for (const clientId of ['bridge-sandbox', 'globex-1']) {
      for (const clean of [false, true]) {
        const attacker = await connect('acme-1', { clientId, clean });
        await attacker.publishAsync(telemetryTopic('acme', 'acme-1'), `${clientId}-${clean}`, { qos: 1 });
        await attacker.endAsync();
      }
    }
    // Both still answer on their first connection: a taken-over client would have been closed
    // before the attacker's CONNACK, and this SUBACK / PUBACK would never come.
    await bounded(
      'the SUBACK on the bridge connection',
      bridge.subscribeAsync('t/acme/+/telemetry', { qos: 1 }),
    );
    await bounded(
      "the PUBACK on the victim's connection",
      victim.publishAsync(telemetryTopic('globex', 'globex-1'), 'victim', { qos: 1 }),
    );
    expect({ bridge: closes.get(bridge), victim: closes.get(victim) }).toEqual({ bridge: 0, victim: 0 });
    const deadline = Date.now() + 5_000;
    while (received.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received.sort()).toEqual(
      ['bridge-sandbox-false', 'bridge-sandbox-true', 'globex-1-false', 'globex-1-true', 'victim'].sort(),
    );
  });
});
