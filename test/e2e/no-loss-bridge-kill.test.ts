/**
 * No loss, no duplicates across bridge crashes: the bridge runs as its own process (bridge/main.ts
 * bundled, as on the VM) and is SIGKILLed twice while three devices publish, each time restarted on
 * the same journal directory. The broker queues for the bridge's persistent session meanwhile; the
 * new process replays what ingest had not accepted and takes the redeliveries of what the killed
 * one had not acknowledged.
 */
import type { BridgeChild } from './support/bridge-child.js';
import {
  expectExactlyOnce,
  log,
  platformPerTest,
  telemetryCount,
  waitForCommitted,
} from './support/platform.js';
import { describeWith } from './support/prerequisites.js';
import { drain, startTraffic } from './support/traffic.js';
import { stopwatch, waitFor } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

const PER_DEVICE = 1_000;
const RATE = 300; // messages per second, all devices together: about 10 s of traffic

describeE2E('end to end: bridge crash', () => {
  const platform = platformPerTest();

  test('bridge process SIGKILLed twice mid-stream, restarted on the same journal: every PUBACKed message committed once', async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'bridge_kill', bridge: 'child' });
    const processes: BridgeChild[] = [await p.startBridgeChild()];
    const traffic = await startTraffic(p, { perDevice: PER_DEVICE, ratePerSecond: RATE, tag: 'kill' });
    const total = traffic.total;

    for (const fraction of [0.2, 0.55]) {
      await waitForCommitted(p, Math.round(total * fraction), 20_000);
      const victim = processes.at(-1)!;
      // Kill while the bridge holds messages ingest has not accepted yet, when that shows up quickly.
      await waitFor(
        'the bridge to hold unforwarded messages',
        async () => (await victim.metrics()).pending > 0,
        {
          timeoutMs: 2_000,
          intervalMs: 5,
        },
      ).catch(() => undefined);
      const committedAtKill = await telemetryCount(p.db);
      const publishedAtKill = traffic.published();
      await victim.kill();
      expect((await victim.exited).signal).toBe('SIGKILL');
      const restarted = await p.startBridgeChild();
      processes.push(restarted);
      const replay = restarted.logs('bridge_starting')[0]?.replay;
      log(
        `bridge SIGKILL at ${publishedAtKill} published / ${committedAtKill} committed; ` +
          `${traffic.published() - publishedAtKill} published while it was down; replayed ${String(replay)} from the journal`,
      );
      // Mid-stream: devices kept publishing while no bridge was running.
      expect(traffic.done()).toBe(false);
      expect(traffic.published()).toBeGreaterThan(publishedAtKill);
    }

    const last = processes.at(-1)!;
    await drain(p, traffic, { stats: () => last.metrics() });
    await expectExactlyOnce(p, traffic);

    // A clean stop after all that: exit code 0, nothing left in the journal.
    const metrics = await last.metrics();
    expect(await last.terminate()).toBe(0);
    expect(last.logs('bridge_stopped')[0]).toMatchObject({ flushed: true, pending: 0 });
    for (const child of processes) expect(child.output()).not.toMatch(/"level":"error"/);
    log(
      `bridge kill: ${total} messages exactly once in ${elapsed()} ms over ${processes.length} bridge processes; ` +
        `last process: received ${metrics.received}, redeliveries ${metrics.redeliveries}, duplicates ${metrics.duplicates}`,
    );
  }, 90_000);
});
