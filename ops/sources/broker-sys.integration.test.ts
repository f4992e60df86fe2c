/**
 * The $SYS source against a real Mosquitto rendered from the Ansible role (broker/render-config.ts),
 * with the role's ACL for the probe user. Only sys_interval is lowered, through the role variable.
 */
import mqtt from 'mqtt';
import { startMosquitto, type MosquittoBroker } from '../../test/support/mosquitto-process.js';
import { probeTopic } from '../../common/topics.js';
import { createBrokerSysSource, SYS_TOPICS, type BrokerStats } from './broker-sys.js';

const PROBE = { username: 'svc-uptime', password: 'probe-password-1234' };
const BRIDGE = { username: 'svc-bridge', password: 'bridge-password-1234' };

let broker: MosquittoBroker;
const clients: mqtt.MqttClient[] = [];

beforeAll(async () => {
  broker = await startMosquitto({
    users: [
      { role: 'probe', ...PROBE },
      { role: 'bridge', ...BRIDGE },
    ],
    vars: { mosquitto_sys_interval: 1 },
  });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.endAsync(true)));
  await broker?.stop();
});

test('the shipped config publishes $SYS at the role interval, here lowered to 1 s', async () => {
  const conf = await (await import('node:fs/promises')).readFile(broker.config.confPath, 'utf8');
  expect(conf).toContain('\nsys_interval 1\n');
  expect(await (await import('node:fs/promises')).readFile(broker.config.aclPath, 'utf8')).toContain(
    'user svc-uptime\ntopic readwrite ops/probe/svc-uptime\ntopic read $SYS/#\n',
  );
});

test('the probe user reads connections and message rates, and they follow the load', async () => {
  const source = createBrokerSysSource({ url: broker.url, ...PROBE, timeoutMs: 5_000 });
  const first = await source.broker();
  expect(first.clientsConnected).toBeGreaterThanOrEqual(0);
  expect(Number.isFinite(first.messagesReceivedPerMin)).toBe(true);

  for (let i = 0; i < 3; i += 1)
    clients.push(
      await mqtt.connectAsync(broker.url, { ...PROBE, clientId: `load-${i}`, reconnectPeriod: 0 }),
    );
  const topic = probeTopic(PROBE.username);
  for (let i = 0; i < 60; i += 1) await clients[0]!.publishAsync(topic, `m${i}`, { qos: 1 });

  // The counters move at the next $SYS update; poll a few intervals.
  let stats: BrokerStats = first;
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !(stats.clientsConnected >= 3 && stats.messagesReceivedPerMin > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    stats = await source.broker();
  }
  expect(stats.clientsConnected).toBeGreaterThanOrEqual(3);
  expect(stats.messagesReceivedPerMin).toBeGreaterThan(0);
  expect(stats.messagesSentPerMin).toBeGreaterThanOrEqual(0);
});

test('a user the ACL gives no $SYS read times out naming every missing topic', async () => {
  const source = createBrokerSysSource({ url: broker.url, ...BRIDGE, timeoutMs: 2_500 });
  await expect(source.broker()).rejects.toThrow(
    `no ${Object.values(SYS_TOPICS).join(', ')} from ${broker.url} within 2.5 s: ` +
      'does the ACL give svc-bridge read on $SYS/# and is sys_interval shorter?',
  );
});

test('a refused login says so without the password', async () => {
  const source = createBrokerSysSource({
    url: broker.url,
    username: PROBE.username,
    password: 'wrong-pass-777',
  });
  const error = (await source.broker().catch((e: unknown) => e)) as Error;
  expect(error.message).toMatch(
    /^cannot connect to mqtt:\/\/127\.0\.0\.1:\d+ as svc-uptime: .*Not authorized/,
  );
  expect(error.message).not.toContain('wrong-pass-777');
});

test('an aborted read stops at once', async () => {
  const source = createBrokerSysSource({ url: broker.url, ...BRIDGE, timeoutMs: 20_000 });
  const controller = new AbortController();
  setTimeout(() => controller.abort(), 300);
  const started = Date.now();
  await expect(source.broker(controller.signal)).rejects.toThrow(/aborted/);
  expect(Date.now() - started).toBeLessThan(3_000);
});

test('options are validated early', () => {
  expect(() => createBrokerSysSource({ url: 'http://x', ...PROBE })).toThrow(/not an mqtt/);
  expect(() => createBrokerSysSource({ url: broker.url, username: 'x', password: '' })).toThrow(/required/);
});
