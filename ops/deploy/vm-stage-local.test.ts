/**
 * The vm stage against a running sandbox (`--env local`): the real ansible-playbook over a local
 * connection installs a new bridge release under the sandbox's vm/ directory and restarts the
 * bridge process through its supervisor while a device publishes QoS 1 messages; every message
 * is committed exactly once. A second run changes nothing.
 */
import { readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { localTarget } from '../config/ops-target.js';
import { connectClient } from '../../test/support/mqtt-test-client.js';
import { startTestSandbox, type TestSandbox } from '../../test/support/sandbox.js';
import { runVmStage } from './vm-stage.js';

// Several ansible-playbook runs: about 100 s on a quiet 2-core machine, 2.5 times that when CI
// shares the cores with the rest of the suite.
const ANSIBLE_RUNS_MS = 600_000;

let sandbox: TestSandbox;
beforeAll(async () => {
  sandbox = await startTestSandbox('vm-stage-local');
}, 60_000);
afterAll(async () => sandbox?.stop());

test(
  'deploys a new bridge release into the sandbox while a device publishes: every message committed once',
  async () => {
    const { platform, envPath } = sandbox;
    const env = platform.env;
    const target = localTarget(env, { envPath });
    const device = env.devices[0]!;
    const client: MqttClient = await connectClient(env.mqtt.deviceUrl, {
      username: device.username,
      password: device.password,
      clientId: device.username,
      protocolVersion: platform.broker.protocolVersion,
      ...(env.mqtt.ca ? { ca: env.mqtt.ca } : {}),
    });
    const base = Date.now() - 60_000;
    let sent = 0;
    let publishing = true;
    const publisher = (async () => {
      while (publishing) {
        const i = sent;
        await client.publishAsync(
          device.topic,
          JSON.stringify({ ts: base + i, id: `vm-${i}`, metrics: { seq: i } }),
          {
            qos: 1,
          },
        );
        sent += 1;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const startsBefore = platform.bridge.starts;
    try {
      const result = await runVmStage({ target, commit: 'test-head' });
      expect(result.status).toBe('success');
      expect(result.before).toEqual({ bridgeRelease: 'sandbox-start' });
      expect(result.after).toEqual({ bridgeRelease: 'test-head', previousRelease: 'sandbox-start' });
      expect(result.timings.bundleMs).toBeGreaterThanOrEqual(0);
      expect(result.checkDiff).not.toContain(env.ingest.key);
      expect(await readlink(join(env.vm!.root, 'opt', 'mqtt-bridge', 'current'))).toBe('releases/test-head');
      expect(platform.bridge.starts).toBe(startsBefore + 1);
      // Keep publishing through the new process for a moment, then stop.
      const sentAtSwitch = sent;
      while (sent < sentAtSwitch + 25) await new Promise((r) => setTimeout(r, 20));
    } finally {
      publishing = false;
      await publisher;
      await client.endAsync();
    }
    const deadline = Date.now() + 30_000;
    const count = async () =>
      (
        await platform.pool.query<{ rows: number; keys: number }>(
          `select count(*)::int as rows, count(distinct msg_key)::int as keys from public.telemetry where msg_key like 'id:vm-%'`,
        )
      ).rows[0]!;
    let committed = await count();
    while (committed.rows < sent && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      committed = await count();
    }
    expect(committed).toEqual({ rows: sent, keys: sent });
    // The sandbox's progress counters carry the replaced process's over the restart.
    const totals = platform.bridge.totals();
    expect(totals.inserted).toBeGreaterThan(platform.bridge.stats().inserted);

    // The same commit again: Ansible changes nothing and the bridge keeps running.
    const again = await runVmStage({ target, commit: 'test-head' });
    expect(again).toMatchObject({ status: 'success', changed: 0 });
    expect(platform.bridge.starts).toBe(startsBefore + 1);
  },
  ANSIBLE_RUNS_MS,
);
