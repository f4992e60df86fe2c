/**
 * No loss, no duplicates across a PostgreSQL restart: the database is a server of the test's own
 * (test/support/own-postgres.ts, migrated with the deploy's tool), stopped (fast shutdown: open
 * transactions are aborted, connections killed) while three devices publish, and started again.
 * The shutdown hits a batch in the middle of its transaction (made certain with a table lock), so
 * mqtt_ingest must roll it back and answer 503 without crashing; the bridge keeps the batches and
 * retries them. (Before the fix in write-batch.ts, pg's 'error' event on the checked-out client was
 * unhandled and took the host process down.)
 */
import pg from 'pg';
import {
  count,
  expectExactlyOnce,
  log,
  platformPerTest,
  telemetryCount,
  waitForCommitted,
} from './support/platform.js';
import { describeWith } from './support/prerequisites.js';
import { drain, startTraffic } from './support/traffic.js';
import { stopwatch, waitFor } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: false, ownPostgres: true });

const PER_DEVICE = 1_000;
const RATE = 300; // messages per second, all devices together: about 10 s of traffic

describeE2E('end to end: PostgreSQL restart', () => {
  const platform = platformPerTest();

  test('PostgreSQL restarted mid-stream: every PUBACKed message committed once', async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'pg_restart', database: 'own' });
    const postgres = p.ownPostgres!;
    const bridge = p.bridge!;
    const traffic = await startTraffic(p, { perDevice: PER_DEVICE, ratePerSecond: RATE, tag: 'pg' });
    const total = traffic.total;

    await waitForCommitted(p, Math.round(total / 4), 20_000);
    // Restart while mqtt_ingest is inside a batch's transaction (the worst moment, made certain): a
    // lock holds the next batch's insert into public.telemetry until the server goes down.
    const blocker = new pg.Client({ connectionString: p.databaseUrl });
    blocker.on('error', () => undefined); // terminated by the shutdown, as intended
    await blocker.connect();
    await blocker.query('begin');
    await blocker.query('lock table public.telemetry in share mode');
    await waitFor(
      'a batch write waiting inside its transaction',
      async () =>
        (await count(
          p.db,
          `select count(*) as n from pg_stat_activity where wait_event_type = 'Lock' and query like '%insert into public.telemetry%'`,
        )) > 0,
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    const committedBefore = await telemetryCount(p.db);
    const retriesBefore = bridge.stats().retries;
    const stopStarted = elapsed();
    await postgres.stopServer(); // fast shutdown: the waiting transaction is aborted, its connection killed
    await blocker.end().catch(() => undefined);
    // Down: mqtt_ingest's health check fails and the bridge's batches are refused (503) and retried.
    expect(await p.host.health()).toBe(503);
    await waitFor(
      'mqtt_ingest to refuse a batch while the database is down',
      () => bridge.stats().retries > retriesBefore,
      {
        timeoutMs: 10_000,
      },
    );
    const downMs = elapsed() - stopStarted;
    await postgres.startServer();
    log(`postgres down ${downMs} ms at ${traffic.published()} published / ${committedBefore} committed`);
    expect(traffic.done()).toBe(false);
    expect(committedBefore).toBeLessThan(total);

    await drain(p, traffic, { timeoutMs: 40_000 });
    expect(await p.host.health()).toBe(200);
    expect(bridge.stats().lastError).toMatch(/503/);

    const stats = bridge.stats();
    expect(stats.received).toBe(total);

    await expectExactlyOnce(p, traffic);
    log(
      `postgres restart: ${total} messages exactly once in ${elapsed()} ms; retries ${stats.retries}, ` +
        `duplicates ${stats.duplicates}; service errors: ${p.serviceErrors.length}`,
    );
  }, 90_000);
});
