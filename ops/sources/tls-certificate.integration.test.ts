/** The TLS checks (expiry, uptime round trip) against a real Mosquitto TLS listener with a test CA. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  mosquittoForTests,
  startMosquitto,
  type MosquittoBroker,
} from '../../test/support/mosquitto-process.js';
import { createTestCa } from '../../test/support/test-ca.js';
import { probeTopic } from '../../common/topics.js';
import { brokerUptimeCheck } from '../checks/broker-uptime.js';
import { tlsExpiryCheck } from '../checks/tls-expiry.js';
import { runChecks } from '../engine/run-checks.js';
import { createMqttRoundTripSource } from './mqtt-round-trip.js';
import { createTlsCertificateSource } from './tls-certificate.js';

const run = mosquittoForTests() ? describe : describe.skip;
const PROBE_PASSWORD = 'probe-password-1234';

run('TLS expiry on a real broker', () => {
  let dir: string;
  const brokers: MosquittoBroker[] = [];
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tls-check-'));
  });
  afterAll(async () => {
    for (const b of brokers) await b.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const brokerWith = async (days: number) => {
    const ca = await createTestCa({ dir: join(dir, `ca-${days}`), days });
    const broker = await startMosquitto({
      users: [{ role: 'probe', username: 'svc-uptime', password: PROBE_PASSWORD }],
      tls: { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey },
    });
    brokers.push(broker);
    return { ca, port: broker.ports.mqtts! };
  };

  test.each([
    [120, 'ok'],
    [3, 'fail'],
  ] as const)('a certificate valid for %p days: %s', async (days, status) => {
    const { ca, port } = await brokerWith(days);
    const source = createTlsCertificateSource({ host: '127.0.0.1', port, ca: ca.caPem });
    const [result] = await runChecks([
      tlsExpiryCheck(source, { name: 'mqtts', endpoint: `127.0.0.1:${port}` }),
    ]);
    expect(result!.status).toBe(status);
    expect(result!.metrics.days_left).toBeGreaterThanOrEqual(days - 1);
    expect(result!.metrics.days_left).toBeLessThanOrEqual(days);
  });

  test('the uptime round trip over the TLS listener', async () => {
    const { ca, port } = await brokerWith(120);
    const url = `mqtts://127.0.0.1:${port}`;
    const source = createMqttRoundTripSource({
      url,
      username: 'svc-uptime',
      password: PROBE_PASSWORD,
      topic: probeTopic('svc-uptime'),
      ca: ca.caPem,
    });
    const [result] = await runChecks([brokerUptimeCheck(source, { listener: 'tls', endpoint: url })]);
    expect(result).toMatchObject({ id: 'daily.broker-uptime.tls', status: 'ok' });
  });

  test('a chain the client does not trust fails the check', async () => {
    const { port } = await brokerWith(120);
    const other = await createTestCa({ dir: join(dir, 'other-ca'), days: 120 });
    const source = createTlsCertificateSource({ host: '127.0.0.1', port, ca: other.caPem });
    const [result] = await runChecks([
      tlsExpiryCheck(source, { name: 'mqtts', endpoint: `127.0.0.1:${port}` }),
    ]);
    expect(result!.status).toBe('fail');
    expect(result!.summary).toMatch(/does not verify/);
  });

  test('nothing listening is an error of the check, not a crash', async () => {
    const source = createTlsCertificateSource({ host: '127.0.0.1', port: 9, timeoutMs: 2_000 });
    const [result] = await runChecks([tlsExpiryCheck(source, { name: 'x', endpoint: '127.0.0.1:9' })]);
    expect(result!.status).toBe('error');
  });
});
