/** Lifecycle of the test broker: restart, crash, persistence, and errors that say what to do. */
import { jest } from '@jest/globals';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { telemetryTopic } from '../../common/topics.js';
import { freePort } from './free-port.js';
import {
  findMosquitto,
  mosquittoForTests,
  startMosquitto,
  type MosquittoBroker,
} from './mosquitto-process.js';
import { closeAllClients, connectClient, inbox } from './mqtt-test-client.js';
import type { BrokerUser } from '../../broker/render-config.js';
import { createTestCa } from './test-ca.js';

const binary = mosquittoForTests();
jest.setTimeout(15_000);

const USERS: BrokerUser[] = [
  { role: 'device', username: 'dev-1', tenantSlug: 'acme', password: 'pw-dev' },
  { role: 'bridge', username: 'bridge', password: 'pw-bridge' },
];
const TOPIC = telemetryTopic('acme', 'dev-1');

describe('findMosquitto', () => {
  const saved = process.env.MOSQUITTO_BIN;
  afterEach(() => {
    if (saved === undefined) delete process.env.MOSQUITTO_BIN;
    else process.env.MOSQUITTO_BIN = saved;
  });

  it('honours MOSQUITTO_BIN and says when it is wrong', () => {
    process.env.MOSQUITTO_BIN = '/nonexistent/mosquitto';
    expect(() => findMosquitto()).toThrow(/MOSQUITTO_BIN=\/nonexistent\/mosquitto is not an executable/);
  });

  it('returns null for a program that is not installed', () => {
    expect(findMosquitto('mosquitto_does_not_exist')).toBeNull();
  });
});

(binary ? describe : describe.skip)('startMosquitto', () => {
  const brokers: MosquittoBroker[] = [];
  const start = async (options: Partial<Parameters<typeof startMosquitto>[0]> = {}) => {
    const broker = await startMosquitto({ users: USERS, ...options });
    brokers.push(broker);
    return broker;
  };
  afterEach(async () => {
    await closeAllClients();
    await Promise.all(brokers.splice(0).map((broker) => broker.stop()));
  });

  it('keeps a persistent session across a graceful restart on the same port', async () => {
    const broker = await start();
    const sessionOptions = {
      username: 'bridge',
      password: 'pw-bridge',
      clientId: 'bridge-session',
      clean: false,
    };
    const first = await connectClient(broker.url, sessionOptions);
    await first.subscribeAsync(TOPIC, { qos: 1 });
    await first.endAsync();

    const dev = await connectClient(broker.url, { username: 'dev-1', password: 'pw-dev' });
    await dev.publishAsync(TOPIC, 'queued-while-away', { qos: 1 });
    await dev.endAsync();

    const pid = broker.pid;
    await broker.restart(); // SIGTERM saves the persistence file
    expect(broker.pid).not.toBe(pid);
    const second = await connectClient(broker.url, sessionOptions);
    await inbox(second).next((m) => m.payload.toString() === 'queued-while-away');
  });

  it('comes back after kill() (SIGKILL) with restart()', async () => {
    const broker = await start();
    await broker.kill();
    await expect(connectClient(broker.url, { username: 'dev-1', password: 'pw-dev' })).rejects.toThrow();
    await broker.restart();
    await connectClient(broker.url, { username: 'dev-1', password: 'pw-dev' });
  });

  it('runs the production listener set: loopback MQTT, TLS and websockets over TLS, with a pid file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mosquitto-wss-'));
    try {
      const ca = await createTestCa({ dir: join(dir, 'ca') });
      const tls = { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey };
      const pidFile = join(dir, 'mosquitto.pid');
      const broker = await start({
        tls,
        websockets: true,
        wsTls: true,
        vars: { mosquitto_pid_file: pidFile },
      });
      expect(broker.wsUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
      const login = { username: 'dev-1', password: 'pw-dev', ca: ca.caPem };
      for (const url of [broker.url, broker.tlsUrl as string, broker.wsUrl as string]) {
        await (await connectClient(url, login)).publishAsync(TOPIC, url, { qos: 1 });
      }
      expect(Number(await readFile(pidFile, 'utf8'))).toBe(broker.pid);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a fixed port that is taken, naming it', async () => {
    const port = await freePort();
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      await expect(start({ ports: { mqtt: port } })).rejects.toThrow(`ports.mqtt ${port} is already in use`);
    } finally {
      server.close();
    }
  });

  it('reports a broker that exits at startup with its own words', async () => {
    await expect(start({ vars: { mosquitto_persistent_client_expiration: 'forever' } })).rejects.toThrow(
      /mosquitto exited with code \d+[\s\S]*--- output ---[\s\S]*persistent_client_expiration/,
    );
    const missingCert = start({
      tls: { certfile: '/nonexistent/server.crt', keyfile: '/nonexistent/server.key' },
    });
    await expect(missingCert).rejects.toThrow(
      /mosquitto exited[\s\S]*Unable to load server certificate "\/nonexistent\/server.crt"/,
    );
    await expect(missingCert).rejects.toMatchObject({ portTaken: false });
  });
});
