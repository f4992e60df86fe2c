/**
 * No loss, no duplicates across an mqtt_ingest outage of 30 s of real time: the local Functions
 * host stops listening (every connection dropped) while three devices keep publishing, then comes
 * back on the same port as a fresh instance. The bridge journals and retries; the backlog drains
 * once ingest answers again.
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
import { delay, stopwatch } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

const OUTAGE_MS = 30_000;
const PER_DEVICE = 1_300;
const RATE = 100; // messages per second, all devices together: about 39 s of traffic

describeE2E('end to end: mqtt_ingest outage', () => {
  const platform = platformPerTest();

  test('mqtt_ingest unreachable for 30 s while devices publish: every PUBACKed message committed once', async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'ingest_down' });
    const bridge = p.bridge!;
    const traffic = await startTraffic(p, { perDevice: PER_DEVICE, ratePerSecond: RATE, tag: 'down' });
    const total = traffic.total;

    await waitForCommitted(p, 300, 20_000);
    await p.host.down();
    const outageStarted = Date.now();
    const publishedAtDown = traffic.published();
    // Unreachable: nothing listens on the port any more.
    await expect(p.host.health()).rejects.toThrow();

    // A request the host was handling when it went down may still commit; after that, nothing may.
    await delay(1_000);
    const committedEarlyInOutage = await telemetryCount(p.db);
    const retriesEarly = bridge.stats().retries;
    await delay(outageStarted + OUTAGE_MS - Date.now());
    const committedLateInOutage = await telemetryCount(p.db);
    const atEnd = bridge.stats();
    const publishedInOutage = traffic.published() - publishedAtDown;
    expect(traffic.done()).toBe(false);
    expect(committedLateInOutage).toBe(committedEarlyInOutage);
    expect(atEnd.retries).toBeGreaterThan(retriesEarly); // still trying all along
    // Everything published during the outage was acknowledged by the bridge and waits in its journal.
    expect(atEnd.pending).toBeGreaterThanOrEqual(publishedInOutage - RATE); // minus at most ~1 s in flight
    expect(atEnd.connected).toBe(true);

    await p.host.up(); // same port, a fresh IngestService (cold instance)
    const outageMs = Date.now() - outageStarted;
    expect(await p.host.health()).toBe(200);
    log(
      `ingest down ${outageMs} ms from ${publishedAtDown} published; ${publishedInOutage} published meanwhile; ` +
        `bridge pending ${atEnd.pending}, retries ${atEnd.retries}`,
    );

    const drainMs = await drain(p, traffic);

    const entries = p.bridgeLog!.entries;
    expect(entries.filter((e) => e.msg === 'ingest_unavailable')).toHaveLength(1);
    const recovered = entries.filter((e) => e.msg === 'ingest_recovered');
    expect(recovered).toHaveLength(1);
    expect(recovered[0]!.fields.downForMs).toBeGreaterThanOrEqual(OUTAGE_MS - 1_000);

    const stats = bridge.stats();
    expect(stats.received).toBe(total);
    // A batch committed just as the host went down lost its answer: its retry is answered "duplicate".
    expect(stats.inserted + stats.duplicates).toBe(total);
    expect(stats.rejected).toBe(0);

    await expectExactlyOnce(p, traffic);
    log(
      `ingest down: ${total} messages exactly once in ${elapsed()} ms; drain after the last publish ${drainMs} ms; ` +
        `retries ${stats.retries}, duplicates ${stats.duplicates}`,
    );
  }, 120_000);
});
