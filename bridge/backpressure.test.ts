/**
 * Journal full -> backpressure: the bridge stops acknowledging, the broker queues, nothing is
 * lost, and it recovers when ingest comes back. Held long enough (keepalive 5 s) that mqtt.js
 * drops and re-opens the blocked connection, so that path is exercised too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { mosquittoForTests } from '../test/support/mosquitto-process.js';
import { startBridge } from './bridge.js';
import { createMemoryLogger } from './log.js';
import {
  bridgeMqttOptions,
  connectPublisher,
  distinctPayloads,
  startIngestStandIn,
  startTestBroker,
  tempDir,
  TEST_LINGER_MS,
  UNLIMITED_QUEUE,
  waitFor,
} from '../test/support/bridge-harness.js';

const itMosq = mosquittoForTests() ? it : it.skip;

itMosq(
  'stops acknowledging when the journal is full, never exceeds it, loses nothing and recovers',
  async () => {
    // The broker queues all that the bridge does not acknowledge.
    const broker = await startTestBroker({ vars: UNLIMITED_QUEUE });
    const ingest = await startIngestStandIn();
    const dir = tempDir('bp');
    const log = createMemoryLogger(process.env.BRIDGE_TEST_LOG === '1');
    const maxJournalBytes = 64 * 1024;
    const bridge = await startBridge(
      {
        ...bridgeMqttOptions(broker),
        clientId: 'bridge-bp',
        ingestUrl: ingest.url,
        ingestKey: ingest.key,
        journalDir: path.join(dir, 'journal'),
        maxJournalBytes,
        segmentBytes: 16 * 1024,
        keepaliveSeconds: 5,
        reconnectPeriodMs: 200,
        retryBaseMs: 50,
        retryMaxMs: 200,
        lingerMs: TEST_LINGER_MS,
      },
      { logger: log },
    );
    const pub = await connectPublisher(broker.url, broker.publisher);
    let maxSeen = 0;
    const sampler = setInterval(() => (maxSeen = Math.max(maxSeen, bridge.stats().journalBytes)), 5);
    try {
      await bridge.subscribed;
      ingest.mode = 'error500';
      const N = 3000; // ~140 bytes a record: ~420 KB, far beyond the 64 KB journal
      await pub.publish(0, N); // the broker acknowledges the publisher and queues for the bridge
      await waitFor(() => bridge.stats().journalFull, 10_000, 'journal full');
      const full = bridge.stats();
      expect(full.received).toBeLessThan(N);
      expect(full.journalBytes).toBeLessThanOrEqual(maxJournalBytes);
      expect(bridge.health().status).toBe('degraded');
      expect(bridge.health().problems.join()).toMatch(/journal full/);

      // Stay full past 1.5 x keepalive: mqtt.js drops the blocked connection and reconnects.
      await waitFor(
        () => log.entries.some((e) => e.msg === 'mqtt_disconnected'),
        12_000,
        'the blocked connection to be recycled',
      );
      await waitFor(() => bridge.stats().connected, 5000, 'reconnected');
      expect(bridge.stats().journalFull).toBe(true);

      ingest.mode = 'ok';
      await waitFor(
        () => distinctPayloads(ingest.envelopes).size === N && bridge.stats().pending === 0,
        15_000,
        'all delivered',
      );
      const s = bridge.stats();
      expect(s.journalFull).toBe(false);
      expect(maxSeen).toBeLessThanOrEqual(maxJournalBytes);
      expect(ingest.ids.size).toBe(N); // one id per message: no message was journaled twice
      // One line entering and one leaving per episode (catch-up flapping included), not per message.
      await waitFor(
        () => log.entries.some((e) => e.msg === 'journal_space_available'),
        5000,
        'leave log line',
      );
      expect(log.entries.filter((e) => e.msg === 'journal_full')).toHaveLength(1);
      expect(log.entries.filter((e) => e.msg === 'journal_space_available')).toHaveLength(1);
      expect(s.journalFullEpisodes).toBe(1);
      expect(log.entries.find((e) => e.msg === 'journal_full')?.fields.policy).toMatch(/withholding PUBACKs/);
    } finally {
      clearInterval(sampler);
      await pub.end();
      await bridge.stop();
      await ingest.close();
      await broker.mosquitto.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  },
  30_000,
);
