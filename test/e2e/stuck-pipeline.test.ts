/**
 * A stuck pipeline is seen from outside the VM. The bridge (in process, against Mosquitto with the
 * role's configuration) forwards to mqtt_ingest on the local Functions host, on real PostgreSQL,
 * whose every batch fails as with the poison message (503 for ever). The backlog the bridge
 * reports is recorded all the same, its age grows, and daily.bridge-backlog (what the ops cadences
 * and the minute-level probe run) warns, then fails; after recovery it passes. Then ingest becomes
 * unreachable: no more reports, and the check fails again until ingest is back.
 *
 * One clock, the test's, for the bridge (message ages), ingest (when a report arrived) and the
 * check: every age asserted is exact, however busy the machine.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { createMemoryLogger, startBridge } from '../../bridge/index.js';
import { bridgeMqttOptions, connectPublisher, startTestBroker, tempDir } from '../support/bridge-harness.js';
import { freePort } from '../support/free-port.js';
import { createIngestWithAlerts } from '../../functions/src/app-context.js';
import type { IngestService } from '../../functions/src/ingest/ingest-service.js';
import { startLocalFunctionsHost, type LocalHostOptions } from '../../functions/src/local-host.js';
import { bridgeBacklogCheck } from '../../ops/checks/bridge-backlog.js';
import { runChecks } from '../../ops/engine/run-checks.js';
import { createBridgeStatusSource } from '../../ops/sources/bridge-status.js';
import { createTestDatabase } from '../support/database.js';
import { describeWith } from './support/prerequisites.js';
import { waitFor } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describeE2E('end to end: a stuck pipeline is seen', () => {
  test('ingest answering 503 for ever: the recorded backlog age grows and the check fails; after recovery it passes', async () => {
    const db = await createTestDatabase('stuck_pipeline');
    cleanups.push(() => db.drop());
    const pool = new pg.Pool({ connectionString: db.url, max: 4 });
    pool.on('error', () => undefined);
    cleanups.push(() => pool.end());
    const broker = await startTestBroker();
    cleanups.push(() => broker.mosquitto.stop());
    const dir = tempDir('stuck');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));

    let clock = Date.now();
    const now = () => clock;

    // mqtt_ingest as deployed, except that while `poisoned` every batch's write fails.
    let poisoned = true;
    const real = createIngestWithAlerts(pool, { onError: () => undefined });
    const ingest: Pick<IngestService, 'ingest'> = {
      ingest: (batch) =>
        poisoned
          ? Promise.reject(new Error('could not write the batch: poison message'))
          : real.ingest(batch),
    };
    const hostOptions: LocalHostOptions = {
      pool,
      ingest,
      functionKey: 'e2e-key',
      port: await freePort(),
      bridgeReports: { minIntervalMs: 0, now }, // every report stored, on the test's clock
    };
    let host = await startLocalFunctionsHost(hostOptions);
    cleanups.push(() => host.close());

    const log = createMemoryLogger(process.env.E2E_LOG === '1');
    const bridge = await startBridge(
      {
        ...bridgeMqttOptions(broker),
        clientId: 'bridge-stuck',
        ingestUrl: host.ingestUrl,
        ingestKey: 'e2e-key',
        journalDir: join(dir, 'journal'),
        lingerMs: 0, // a linger is measured on the frozen clock
        retryBaseMs: 20,
        retryMaxMs: 50,
        maxRetryAfterMs: 50, // ingest says Retry-After: 5
        reportIntervalMs: 100,
      },
      { now, logger: log },
    );
    cleanups.push(() => bridge.stop());
    await bridge.subscribed;

    const check = bridgeBacklogCheck(createBridgeStatusSource(pool)); // runbook.yaml's thresholds
    const verdict = async () => (await runChecks([check], { now }))[0]!;
    const stored = async () => {
      const res = await pool.query<{ pending: number; age: number; received_at: Date }>(
        `select pending::int, oldest_pending_age_ms::int as age, received_at
         from ops.bridge_status where bridge_id = 'bridge-stuck'`,
      );
      return res.rows[0];
    };
    const storedAge = async (age: number) => (await stored())?.age === age;

    const publisher = await connectPublisher(broker.url, broker.publisher);
    cleanups.push(() => publisher.end());
    await publisher.publish(0, 40);
    await waitFor(
      '40 messages journaled and their batch refused',
      () => bridge.stats().received === 40 && bridge.stats().retries >= 2,
      {
        timeoutMs: 15_000,
      },
    );
    await waitFor('the backlog recorded', async () => (await stored())?.pending === 40, {
      timeoutMs: 10_000,
    });
    expect((await verdict()).status).toBe('ok'); // nothing old yet

    clock += 90_000;
    await waitFor('the age grown to 90 s', () => storedAge(90_000), { timeoutMs: 10_000 });
    expect((await verdict()).status).toBe('warn');

    clock += 600_000;
    await waitFor('the age grown to 690 s', () => storedAge(690_000), { timeoutMs: 10_000 });
    const stuck = await verdict();
    expect(stuck.status).toBe('fail');
    expect(stuck.summary).toBe(
      `bridge-stuck: oldest unacknowledged message 690 s old (limit 300), 40 pending, last report ${new Date(clock).toISOString()} (0 s ago)`,
    );
    expect(bridge.stats()).toMatchObject({ pending: 40, forwarded: 0, oldestPendingAgeMs: 690_000 });

    // Recovery: the batch goes through, and the next heartbeat says the backlog is gone.
    poisoned = false;
    await waitFor('the backlog delivered', () => bridge.stats().pending === 0, { timeoutMs: 10_000 });
    expect(bridge.stats().forwarded).toBe(40);
    clock += 1_000;
    await waitFor('the heartbeat recorded', async () => (await stored())?.pending === 0, {
      timeoutMs: 10_000,
    });
    const recovered = await verdict();
    expect(recovered.status).toBe('ok');
    expect(recovered.summary).toBe(
      `bridge-stuck: 0 pending, oldest 0 s, last report ${new Date(clock).toISOString()} (0 s ago)`,
    );

    // Cut off: ingest unreachable, nothing reports any more.
    await host.close();
    clock += 400_000;
    await waitFor('the bridge to notice', () => log.entries.some((e) => e.msg === 'ingest_report_failed'), {
      timeoutMs: 10_000,
    });
    const cut = await verdict();
    expect(cut.status).toBe('fail');
    expect(cut.summary).toMatch(
      /^bridge-stuck: no report for 400 s \(limit 300\): the bridge is down or cannot reach mqtt_ingest/,
    );

    host = await startLocalFunctionsHost(hostOptions); // back on the same port
    clock += 1_000;
    await waitFor('a report again', async () => (await stored())?.received_at.getTime() === clock, {
      timeoutMs: 10_000,
    });
    expect((await verdict()).status).toBe('ok');
  }, 90_000);
});
