/**
 * No loss, no duplicates across a broker restart: Mosquitto (the role's config, persistence on) is
 * restarted while three devices publish. Devices reconnect; a message counts as published only
 * when PUBACKed, and mqtt.js resends what was not acknowledged (same bytes, same message id), so
 * a message the broker took but whose PUBACK was lost arrives twice and ingest must store it once.
 */
import {
  expectExactlyOnce,
  log,
  platformPerTest,
  telemetryCount,
  waitForCommitted,
} from './support/platform.js';
import { describeWith } from './support/prerequisites.js';
import { drain, startTraffic } from './support/traffic.js';
import { stopwatch } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

const PER_DEVICE = 1_000;
const RATE = 300; // messages per second, all devices together: about 10 s of traffic

describeE2E('end to end: broker restart', () => {
  const platform = platformPerTest();

  test('Mosquitto restarted mid-stream: committed rows = distinct message ids = PUBACKed messages', async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'broker_restart' });
    const bridge = p.bridge!;
    const traffic = await startTraffic(p, { perDevice: PER_DEVICE, ratePerSecond: RATE, tag: 'brk' });
    const { devices, total } = traffic;

    await waitForCommitted(p, Math.round(total / 4), 20_000);
    const committedBefore = await telemetryCount(p.db);
    const publishedBefore = traffic.published();
    const restartStarted = elapsed();
    await p.broker.restart(); // SIGTERM (Mosquitto saves its persistence file), start on the same port and data
    // Devices reconnect after their reconnect period: what they published meanwhile is not acknowledged yet.
    const unansweredAfterRestart = devices.reduce((sum, d) => sum + d.unanswered, 0);
    log(
      `broker restart: ${elapsed() - restartStarted} ms, at ${publishedBefore} published / ${committedBefore} committed; ` +
        `${unansweredAfterRestart} publishes waiting for a PUBACK right after it`,
    );
    // Mid-stream: traffic before and after the restart, and publishes caught without a PUBACK.
    expect(traffic.done()).toBe(false);
    expect(committedBefore).toBeLessThan(total);
    expect(unansweredAfterRestart).toBeGreaterThan(0);

    await drain(p, traffic);

    // The restart was real: every device and the bridge lost their connection and came back; the
    // bridge's persistent session (plain subscription) survived it.
    for (const device of devices)
      expect({ device: device.username, lostConnection: device.closes >= 1 }).toEqual({
        device: device.username,
        lostConnection: true,
      });
    const entries = p.bridgeLog!.entries;
    expect(entries.some((e) => e.msg === 'mqtt_disconnected')).toBe(true);
    const connects = entries.filter((e) => e.msg === 'mqtt_connected');
    expect(connects.length).toBeGreaterThanOrEqual(2);
    expect(connects.slice(1).map((e) => e.fields.sessionPresent)).toEqual(connects.slice(1).map(() => true));
    expect(entries.filter((e) => e.msg === 'mqtt_session_lost')).toEqual([]);

    const stats = bridge.stats();
    expect(stats.inserted).toBe(total);

    await expectExactlyOnce(p, traffic);
    log(
      `broker restart: ${total} messages exactly once in ${elapsed()} ms; bridge received ${stats.received}, ` +
        `redeliveries ${stats.redeliveries}, ingest duplicates ${stats.duplicates}`,
    );
  }, 90_000);
});
