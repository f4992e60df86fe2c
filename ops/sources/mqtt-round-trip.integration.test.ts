/**
 * The uptime round trip on a listener that binds client ids to usernames (websockets, like TLS):
 * a second connection as the probe user drops the first, which then fails at once and says so
 * instead of waiting for its delivery timeout. This is why each vantage point has its own user.
 */
import { jest } from '@jest/globals';
import mqtt from 'mqtt';
import {
  mosquittoForTests,
  startMosquitto,
  type MosquittoBroker,
} from '../../test/support/mosquitto-process.js';
import { probeTopic } from '../../common/topics.js';
import { createMqttRoundTripSource } from './mqtt-round-trip.js';

const run = mosquittoForTests() ? describe : describe.skip;
jest.setTimeout(20_000);

const PROBE = { username: 'svc-uptime', password: 'probe-password-1234' };

run('uptime round trip on a listener that binds client ids', () => {
  let broker: MosquittoBroker;
  beforeAll(async () => {
    broker = await startMosquitto({
      users: [{ role: 'probe', ...PROBE }],
      websockets: true,
      // debug: the log line that shows the probe's PUBLISH arrived.
      logTypes: ['error', 'warning', 'notice', 'information', 'debug'],
    });
  });
  afterAll(() => broker?.stop());

  test('ok alone; dropped by another connection as the same user, it fails at once and says why', async () => {
    const ws = broker.wsUrl!;
    const ok = await createMqttRoundTripSource({
      url: ws,
      ...PROBE,
      topic: probeTopic(PROBE.username),
    }).roundTrip();
    expect(ok).toMatchObject({ ok: true });

    // Over MQTT 3.1.1 a publish to a topic outside the ACL is acknowledged and dropped: this round
    // trip waits for a delivery that never comes, until the second connection takes the id.
    const stalled = createMqttRoundTripSource({
      url: ws,
      ...PROBE,
      topic: 'ops/probe/someone-else',
      protocolVersion: 4,
      timeoutMs: 60_000,
    }).roundTrip();
    const deadline = Date.now() + 10_000;
    while (!/Denied PUBLISH from svc-uptime .*'ops\/probe\/someone-else'/.test(await broker.log())) {
      if (Date.now() > deadline)
        throw new Error(`the stalled round trip never published:\n${await broker.log()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const other = await mqtt.connectAsync(ws, {
      ...PROBE,
      clientId: 'another-vantage-point',
      reconnectPeriod: 0,
    });
    await other.endAsync();

    const reading = await stalled;
    expect(reading).toMatchObject({ ok: false });
    if (reading.ok) return;
    expect(['publish', 'deliver']).toContain(reading.stage);
    expect(reading.error).toMatch(/the broker closed the connection/);
    expect(await broker.log()).toMatch(/Client svc-uptime already connected, closing old connection/);
  });
});
