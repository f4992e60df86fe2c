/**
 * Hostile input through the whole pipeline: every case of test/support/hostile-payloads.ts is
 * published by a device through Mosquitto, interleaved with valid traffic from the same and other
 * devices. Where the broker refuses a case (a topic the device's ACL does not allow: 0x87; a
 * payload over the broker's message_size_limit: 0x95) that refusal is asserted; every case the
 * broker accepts must reach ingest and land in public.ingest_rejects, once, with its expected
 * reason. Valid traffic is all committed, and nothing crashes: bridge and host stay healthy.
 */
import { aclRules } from '../../broker/acl.js';
import { DEFAULT_TELEMETRY_LIMITS, validateTelemetry } from '../../common/telemetry.js';
import { telemetryTopic } from '../../common/topics.js';
import { payloadExcerpt } from '../../functions/src/ingest/payload-excerpt.js';
import { hostileCases, poisonCases, type HostileCase } from '../support/hostile-payloads.js';
import {
  createStream,
  rawPublishV5,
  REASON_NOT_AUTHORIZED,
  REASON_PACKET_TOO_LARGE,
  type Device,
} from './support/device.js';
import { count, expectExactlyOnce, log, platformPerTest, waitForCommitted } from './support/platform.js';
import { describeWith } from './support/prerequisites.js';
import { drain, startTraffic } from './support/traffic.js';
import { stopwatch, waitFor } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

/** A valid telemetry payload of exactly `size` bytes (string metrics of at most 256 characters). */
function validPayloadOfSize(size: number, id: string, ts: number): Buffer {
  const metrics: Record<string, string> = {};
  const build = () => Buffer.from(JSON.stringify({ ts, id, metrics }));
  for (let i = 0; ; i += 1) {
    metrics[`s${i}`] = '';
    const room = size - build().length;
    if (room <= 256) {
      metrics[`s${i}`] = 'x'.repeat(room);
      break;
    }
    metrics[`s${i}`] = 'x'.repeat(256);
  }
  const payload = build();
  if (payload.length !== size) throw new Error(`built ${payload.length} bytes, wanted ${size}`);
  return payload;
}

describeE2E('end to end: hostile input', () => {
  const platform = platformPerTest();

  test('every hostile case is refused by the broker or dead-lettered with its reason; valid traffic all committed', async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'hostile' });
    const bridge = p.bridge!;
    const sizeLimit = Number(p.broker.config.vars.mosquitto_message_size_limit);
    expect(sizeLimit).toBe(DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes);

    const now = Date.now();
    const cases = hostileCases(now);
    expect(cases).toHaveLength(54 + poisonCases(now).length);

    // Who publishes each case, on which topic.
    const route = (c: HostileCase): { device: string; topic: string } =>
      ({
        a: { device: 'acme-1', topic: telemetryTopic('acme', 'acme-1') },
        disabled: { device: 'acme-off', topic: telemetryTopic('acme', 'acme-off') },
        unknown: { device: 'acme-ghost', topic: telemetryTopic('acme', 'acme-ghost') },
        'other-tenant-topic': { device: 'acme-1', topic: telemetryTopic('globex', 'acme-1') },
        'bad-topic': { device: 'acme-1', topic: 'devices/acme-1/data' },
      })[c.device];
    // What the shipped broker config must do with it: refuse (reason code) or pass it on (null).
    const brokerVerdict = (c: HostileCase): number | null => {
      const { device, topic } = route(c);
      if (c.payload.length > sizeLimit) return REASON_PACKET_TOO_LARGE;
      const identity = {
        role: 'device' as const,
        username: device,
        tenantSlug: p.devices[device]!.topic.split('/')[1]!,
      };
      const writable = aclRules(identity).some(
        (r) => (r.access === 'write' || r.access === 'readwrite') && r.topic === topic,
      );
      return writable ? null : REASON_NOT_AUTHORIZED;
    };
    const passed = cases.filter((c) => brokerVerdict(c) === null);
    const refusedByBroker = cases.filter((c) => brokerVerdict(c) !== null);
    log(
      `hostile: ${passed.length} cases for ingest, ${refusedByBroker.length} for the broker to refuse (${refusedByBroker.map((c) => c.name).join(', ')})`,
    );
    // The cases that must be refused by the broker: the oversized payload and the two foreign topics.
    expect(refusedByBroker.map((c) => c.name).sort()).toEqual(
      ['not a telemetry topic', 'oversized payload', 'topic naming another tenant'].sort(),
    );

    const devices: Record<string, Device> = {};
    for (const key of ['acme-1', 'acme-off', 'acme-ghost']) devices[key] = await p.connect(key);

    // Valid traffic from two other devices all along.
    const background = await startTraffic(p, {
      deviceKeys: ['acme-2', 'globex-1'],
      perDevice: 400,
      ratePerSecond: 160,
      tag: 'bg',
    });
    for (const device of background.devices) devices[device.username] = device;
    await waitForCommitted(p, 50, 10_000);

    // acme-1 alternates: hostile case, valid reading, hostile case, ... on the same connection.
    const interleaved = createStream(devices['acme-1']!, p.devices['acme-1']!.topic, 0, 'mix');
    const publishValid = async (payload: Buffer | string, id: string) => {
      interleaved.ids.push(id);
      const outcome = await interleaved.device.publish(interleaved.topic, payload);
      if (outcome.kind === 'acked') interleaved.acked.add(id);
      else interleaved.refused.set(id, outcome.code);
    };
    const brokerAnswers = new Map<string, number>();
    for (const [i, c] of cases.entries()) {
      const { device, topic } = route(c);
      if (c.payload.length > sizeLimit) {
        // mqtt.js cannot report this one (it rejects PUBACK 0x95 as malformed): a raw MQTT 5 client.
        const credentials = { username: device, password: p.devices[device]!.password };
        brokerAnswers.set(c.name, await rawPublishV5(p.broker.url, credentials, topic, c.payload));
      } else {
        const outcome = await devices[device]!.publish(topic, c.payload, { deadlineMs: 10_000 });
        brokerAnswers.set(c.name, outcome.kind === 'acked' ? 0 : outcome.code);
      }
      const id = `mix-${i}`;
      await publishValid(JSON.stringify({ ts: now + i, id, metrics: { i, temperature: 20 } }), id);
    }

    // The broker's size limit is exact: the contract's maximum passes and is stored, one byte more is refused.
    const atLimit = validPayloadOfSize(sizeLimit, 'at-limit', now);
    expect(validateTelemetry(atLimit, now)).toMatchObject({ ok: true });
    await publishValid(atLimit, 'at-limit');
    const overLimit = validPayloadOfSize(sizeLimit + 1, 'over-limit', now);
    const acme1 = { username: 'acme-1', password: p.devices['acme-1']!.password };
    expect(await rawPublishV5(p.broker.url, acme1, p.devices['acme-1']!.topic, overLimit)).toBe(
      REASON_PACKET_TOO_LARGE,
    );

    const streams = [...background.streams, interleaved];
    await drain(p, { streams, finished: background.finished }, { timeoutMs: 20_000 });
    const validTotal = streams.reduce((sum, s) => sum + s.ids.length, 0);
    await waitFor(
      `${passed.length} dead letters`,
      async () => (await count(p.db, 'select count(*) as n from public.ingest_rejects')) >= passed.length,
      { timeoutMs: 10_000, describe: () => JSON.stringify(bridge.stats()) },
    );

    // 1. The broker refused exactly what it must, with the reason it must.
    expect(refusedByBroker.map((c) => `${c.name}: 0x${brokerAnswers.get(c.name)!.toString(16)}`)).toEqual(
      refusedByBroker.map((c) => `${c.name}: 0x${brokerVerdict(c)!.toString(16)}`),
    );
    expect(passed.map((c) => `${c.name}: ${brokerAnswers.get(c.name)}`)).toEqual(
      passed.map((c) => `${c.name}: 0`),
    );

    // 2. Every case the broker passed is dead-lettered once, with its reason (matched on topic and payload).
    const keyOf = (topic: string, bytes: number, excerpt: string) => `${topic}|${bytes}|${excerpt}`;
    const expectedKeys = passed.map((c) =>
      keyOf(route(c).topic, c.payload.length, payloadExcerpt(c.payload)),
    );
    expect(new Set(expectedKeys).size).toBe(passed.length); // the cases are distinguishable
    const rows = await p.db.query<{
      topic: string;
      payload_bytes: number;
      payload_excerpt: string;
      reason: string;
      tenant_id: string | null;
      device_key: string | null;
    }>(
      'select topic, payload_bytes, payload_excerpt, reason, tenant_id, device_key from public.ingest_rejects',
    );
    const byKey = new Map<string, string[]>();
    for (const r of rows.rows) {
      const key = keyOf(r.topic, r.payload_bytes, r.payload_excerpt);
      byKey.set(key, [...(byKey.get(key) ?? []), r.reason]);
    }
    expect(
      passed.map(
        (c, i) => `${c.name}: ${(byKey.get(expectedKeys[i]!) ?? ['(not dead-lettered)']).join(', ')}`,
      ),
    ).toEqual(passed.map((c) => `${c.name}: ${c.reason}`));
    expect(rows.rowCount).toBe(passed.length);
    // Attributed to the device's real tenant, or to no tenant when the device is unknown; never to globex.
    const attribution = rows.rows.map(
      (r) => `${r.device_key}: ${r.tenant_id === p.tenants.acme ? 'acme' : String(r.tenant_id)}`,
    );
    expect(new Set(attribution)).toEqual(new Set(['acme-1: acme', 'acme-off: acme', 'acme-ghost: null']));

    // 3. Valid traffic, interleaved with all of that, is committed exactly once.
    await expectExactlyOnce(p, { streams }, { otherRejectsExpected: true });

    // 4. Nothing crashed or was disconnected: bridge and host healthy, connections intact, and a
    // reading published now still goes all the way through.
    expect(bridge.health()).toMatchObject({ status: 'ok' });
    expect(await p.host.health()).toBe(200);
    expect(p.bridgeLog!.entries.filter((e) => e.msg === 'mqtt_disconnected' || e.level === 'error')).toEqual(
      [],
    );
    for (const device of Object.values(devices))
      expect({ device: device.username, closes: device.closes, errors: device.errors }).toEqual({
        device: device.username,
        closes: 0,
        errors: [],
      });
    const stats = bridge.stats();
    expect(stats.rejected).toBe(passed.length);
    expect(stats.received).toBe(validTotal + passed.length);
    await publishValid(JSON.stringify({ ts: Date.now(), id: 'after', metrics: { t: 1 } }), 'after');
    await waitForCommitted(p, validTotal + 1, 10_000);
    expect(p.serviceErrors).toEqual([]);
    log(`hostile: ${cases.length} cases + ${validTotal + 1} valid messages in ${elapsed()} ms`);
  }, 60_000);
  test('no single message can stop ingest: after each poison message, a valid one from another tenant lands', async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'poison' });
    const acme = await p.connect('acme-1');
    const globex = await p.connect('globex-1');
    const now = Date.now();
    const cases = poisonCases(now);
    const latencies: number[] = [];
    for (const [i, c] of cases.entries()) {
      expect({ name: c.name, broker: await acme.publish(p.devices['acme-1']!.topic, c.payload) }).toEqual({
        name: c.name,
        broker: { kind: 'acked' },
      });
      const id = `after-poison-${i}`;
      const sent = Date.now();
      expect(
        await globex.publish(p.devices['globex-1']!.topic, JSON.stringify({ ts: sent, id, metrics: { i } })),
      ).toEqual({
        kind: 'acked',
      });
      await waitFor(
        `globex's reading after "${c.name}" committed`,
        async () =>
          (await count(p.db, 'select count(*) as n from public.telemetry where msg_key = $1', [
            `id:${id}`,
          ])) === 1,
        { timeoutMs: 15_000, describe: () => JSON.stringify(p.bridge!.stats()) },
      );
      latencies.push(Date.now() - sent);
    }
    // Each poison message is dead-lettered once, with its own reason, attributed to its tenant.
    const rows = await p.db.query<{ reason: string; tenant_id: string }>(
      'select reason, tenant_id from public.ingest_rejects order by id',
    );
    expect(rows.rows.map((r) => r.reason)).toEqual(cases.map((c) => c.reason));
    expect(new Set(rows.rows.map((r) => r.tenant_id))).toEqual(new Set([p.tenants.acme]));
    expect(p.bridge!.stats()).toMatchObject({ pending: 0, rejected: cases.length });
    expect(p.serviceErrors).toEqual([]);
    log(
      `poison: ${cases.length} cases, the next reading of another tenant committed after ${Math.max(...latencies)} ms at most, in ${elapsed()} ms`,
    );
  }, 60_000);
});
