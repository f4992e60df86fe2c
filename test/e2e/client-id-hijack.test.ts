/**
 * Client ids cannot be spoofed, end to end. The attack this guards against: a device that connected
 * with the bridge's client id made Mosquitto drop the bridge and hand the device the bridge's
 * session (with clean:false), or delete it (clean:true); about a second of every tenant's telemetry
 * was lost each time. With the shipped configuration the devices' listener (TLS here, as in
 * production) replaces every client id by the username (use_username_as_clientid), so the attacker
 * only ever gets its own session:
 *
 * - acme-2 connects with the bridge's client id (MQTT 5 and 3.1.1, clean:false and clean:true) and
 *   with the client ids of acme-1 and globex-1, while those two publish steadily through the bridge;
 * - the broker logs each attack as a connection of acme-2 and no takeover of anyone;
 * - the bridge keeps its one connection (no disconnect, no lost session), the victims keep theirs;
 * - every message of both tenants, and each attacker's own reading, is committed exactly once.
 *
 * "Not disconnected" is read from the broker's log, not waited for: Mosquitto logs a takeover
 * ("Client <id> already connected, closing old connection.") before it logs the new client, so
 * once an attacker's connection is in the log, any takeover it caused is there too.
 */
import { readFile } from 'node:fs/promises';
import type { TLSSocket } from 'node:tls';
import type { IClientOptions } from 'mqtt';
import { loadRoleDefaults, renderTemplate, userVars } from '../../broker/render-config.js';
import { createStream, telemetryPayload, type Stream } from './support/device.js';
import { expectExactlyOnce, log, platformPerTest } from './support/platform.js';
import { describeWith } from './support/prerequisites.js';
import { drain, startTraffic } from './support/traffic.js';
import { stopwatch, waitFor } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

/** mosquitto.conf's listener blocks: the `listener` line and the lines up to the next one. */
function listenerBlocks(conf: string): { listener: string; lines: string[] }[] {
  const blocks: { listener: string; lines: string[] }[] = [];
  for (const line of conf.split('\n')) {
    if (line.startsWith('listener ')) blocks.push({ listener: line, lines: [] });
    else if (blocks.length > 0 && line.trim() !== '' && !line.startsWith('#'))
      blocks.at(-1)!.lines.push(line);
  }
  return blocks;
}

const BOUND = 'use_username_as_clientid true';
const isLoopback = (listener: string) => / (127\.0\.0\.1|::1|localhost)$/.test(listener);

describe('the shipped configuration binds client ids on every listener devices can reach', () => {
  test('production defaults: TLS and websockets bound, the loopback plain listener free for services', () => {
    const conf = renderTemplate('mosquitto.conf.j2', { ...loadRoleDefaults(), ...userVars([]) });
    const blocks = listenerBlocks(conf);
    expect(blocks.map((b) => [b.listener, b.lines.includes(BOUND)])).toEqual([
      ['listener 1883 127.0.0.1', false],
      ['listener 8883', true],
      ['listener 9001', true],
    ]);
    // websockets ignores its bind address: it is always reachable, so it is always bound.
    for (const block of blocks) if (!isLoopback(block.listener)) expect(block.lines).toContain(BOUND);
  });
});

describeE2E('end to end: a device cannot take over the bridge or another device', () => {
  const platform = platformPerTest();

  test("a device using the bridge's or other devices' client ids disconnects no one; nothing is lost", async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'client_id_hijack', deviceListener: 'tls' });
    const bridge = p.bridge!;
    const bridgeLog = p.bridgeLog!;

    // The broker under test renders the role's configuration: devices' listener bound, the
    // loopback plain listener (the bridge's) not.
    const blocks = listenerBlocks(await readFile(p.broker.config.confPath, 'utf8'));
    expect(blocks.map((b) => [b.listener, b.lines.includes(BOUND)])).toEqual([
      [`listener ${p.broker.ports.mqtt} 127.0.0.1`, false],
      [`listener ${p.broker.ports.mqtts} 127.0.0.1`, true],
    ]);
    expect(p.deviceUrl).toBe(p.broker.tlsUrl);

    // Two tenants' devices publish steadily through the bridge during the attacks.
    const traffic = await startTraffic(p, {
      deviceKeys: ['acme-1', 'globex-1'],
      perDevice: 600,
      ratePerSecond: 200,
      tag: 'hijack',
    });

    const attacks: { clientId: string; options: IClientOptions }[] = [];
    for (const clientId of [p.bridgeClientId, 'acme-1', 'globex-1']) {
      attacks.push(
        {
          clientId,
          options: { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3_600 } },
        },
        { clientId, options: { protocolVersion: 5, clean: true } },
        { clientId, options: { protocolVersion: 4, clean: false } },
        { clientId, options: { protocolVersion: 4, clean: true } },
      );
    }
    const attacker = p.devices['acme-2']!;
    const attackerStreams: Stream[] = [];
    let duringTraffic = 0;
    for (const [i, attack] of attacks.entries()) {
      // Spread the attacks over the traffic: each waits until its share has been published.
      const share = Math.floor(((i + 1) * traffic.total) / (attacks.length + 2));
      await waitFor(`${share} messages published`, () => traffic.published() >= share || traffic.done(), {
        timeoutMs: 30_000,
      });
      if (!traffic.done()) duringTraffic += 1;
      const logBefore = (await p.broker.log()).length;
      const device = await p.connect(attacker.key, {
        ...attack.options,
        clientId: attack.clientId,
        reconnectPeriod: 0,
      });
      const port = (device.client.stream as TLSSocket).localPort;
      // The broker took it for acme-2, whatever client id it sent.
      const connected = new RegExp(`New client connected from 127\\.0\\.0\\.1:${port} as (\\S+) `);
      let asId: string | undefined;
      await waitFor(
        `the broker to log attack ${i}'s connection`,
        async () => (asId = connected.exec((await p.broker.log()).slice(logBefore))?.[1]) !== undefined,
        { timeoutMs: 10_000, describe: async () => (await p.broker.log()).split('\n').slice(-10).join('\n') },
      );
      expect({ attack: i, sent: attack.clientId, as: asId }).toEqual({
        attack: i,
        sent: attack.clientId,
        as: attacker.key,
      });
      // Its own reading still goes through: a working connection, under its own identity.
      const stream = createStream(device, attacker.topic, 1, `attack${i}`);
      const outcome = await device.publish(stream.topic, telemetryPayload(stream.ids[0]!, Date.now(), 0));
      if (outcome.kind === 'acked') stream.acked.add(stream.ids[0]!);
      else stream.refused.set(stream.ids[0]!, outcome.code);
      attackerStreams.push(stream);
      await device.end();
    }

    const streams = [...traffic.streams, ...attackerStreams];
    await drain(p, { streams, finished: traffic.finished }, { timeoutMs: 30_000 });

    // Nobody was taken over: not the bridge, not the victims.
    const takeovers = (await p.broker.log()).split('\n').filter((line) => line.includes('already connected'));
    expect(takeovers.filter((line) => !line.includes(`Client ${attacker.key} already connected`))).toEqual(
      [],
    );
    const events = bridgeLog.entries
      .map((e) => e.msg)
      .filter((m) => /^mqtt_(connected|disconnected|session_lost)$/.test(m));
    expect(events).toEqual(['mqtt_connected']);
    expect(bridge.stats().connected).toBe(true);
    expect(traffic.devices.map((d) => [d.username, d.closes])).toEqual([
      ['acme-1', 0],
      ['globex-1', 0],
    ]);

    await expectExactlyOnce(p, { streams, total: traffic.total + attacks.length });
    log(
      `client-id hijack: ${attacks.length} attacks (${duringTraffic} during the traffic), ${traffic.total} + ${attacks.length} messages exactly once, in ${elapsed()} ms`,
    );
  });
});
