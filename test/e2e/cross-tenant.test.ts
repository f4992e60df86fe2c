/**
 * Tenant isolation on the MQTT side, end to end: a device of tenant A (acme-1) tries to publish
 * on tenant B's topics and to read them. The broker (the role's ACL) refuses the publishes: over
 * MQTT 5 each QoS 1 PUBACK carries 0x87 Not authorized, which mqtt.js reports as an error of that
 * publish only (ErrorWithReasonCode, code 135; the connection stays up); over MQTT 3.1.1 the PUBACK
 * looks like success and the message is dropped all the same. Its subscriptions are granted but
 * deliver nothing. Nothing it sends reaches ingest, so nothing is attributed to B in telemetry,
 * usage or dead letters. And if the broker's ACL were ever out of date, ingest still refuses the
 * topic and attributes the message to the device's real tenant.
 */
import type { MqttClient } from 'mqtt';
import { telemetryTopic } from '../../common/topics.js';
import { connectDevice, createStream, REASON_NOT_AUTHORIZED, type Stream } from './support/device.js';
import { count, expectExactlyOnce, log, platformPerTest } from './support/platform.js';
import { describeWith } from './support/prerequisites.js';
import { drain, startTraffic } from './support/traffic.js';
import { stopwatch, waitFor } from './support/wait.js';

const describeE2E = await describeWith({ sharedPostgres: true });

function record(client: MqttClient): string[] {
  const topics: string[] = [];
  client.on('message', (topic) => topics.push(topic));
  return topics;
}

describeE2E('end to end: cross-tenant isolation', () => {
  const platform = platformPerTest();

  test("a device of tenant A can neither publish to nor read tenant B's topics; nothing is attributed to B", async () => {
    const elapsed = stopwatch();
    const p = await platform.start({ label: 'cross_tenant' });
    const bridge = p.bridge!;
    const intruder = await p.connect('acme-1'); // MQTT 5
    const intruderV311 = await p.connect('acme-1', { protocolVersion: 4 }); // same user, another session
    // Control: a reader allowed to see all telemetry, to prove B's messages were flowing.
    const observer = await connectDevice(p.broker.url, p.service.observer);
    await observer.client.subscribeAsync('t/globex/+/telemetry', { qos: 1 });
    const observed = record(observer.client);

    // A subscribes to B's topics, and to everything.
    const seenByIntruder = [...record(intruder.client), ...record(intruderV311.client)];
    const intruderSeen = () => [...seenByIntruder];
    const filters = [
      't/globex/globex-1/telemetry',
      't/globex/+/telemetry',
      't/globex/#',
      't/+/+/telemetry',
      '#',
    ];
    const granted = await intruder.client.subscribeAsync(filters, { qos: 1 });
    await intruderV311.client.subscribeAsync(filters, { qos: 1 });
    log(`cross-tenant: SUBACK for the intruder: ${granted.map((g) => `${g.topic}=${g.qos}`).join(', ')}`);

    // A publishes on B's telemetry (as B's device, and under its own key) and on B's alerts topic.
    const foreign = [
      telemetryTopic('globex', 'globex-1'),
      telemetryTopic('globex', 'acme-1'),
      't/globex/alerts',
    ];
    const v5Answers: string[] = [];
    const v311Answers: string[] = [];
    const intruderIds: string[] = [];
    for (const [t, topic] of foreign.entries()) {
      for (let i = 0; i < 10; i += 1) {
        const id = `intrude-${t}-${i}`;
        intruderIds.push(id, `${id}-v311`, `${id}-qos0`);
        const payload = (suffix: string) =>
          JSON.stringify({ ts: Date.now(), id: `${id}${suffix}`, metrics: { t: i } });
        const v5 = await intruder.publish(topic, payload(''), { deadlineMs: 10_000 });
        v5Answers.push(v5.kind === 'refused' ? `0x${v5.code.toString(16)} ${v5.message}` : v5.kind);
        const v311 = await intruderV311.publish(topic, payload('-v311'), { deadlineMs: 10_000 });
        v311Answers.push(v311.kind);
        intruder.client.publish(topic, payload('-qos0'), { qos: 0 });
      }
    }
    // MQTT 5: every publish refused with 0x87, reported by mqtt.js as that publish's error.
    expect(new Set(v5Answers)).toEqual(
      new Set([`0x${REASON_NOT_AUTHORIZED.toString(16)} Publish error: Not authorized`]),
    );
    expect(v5Answers).toHaveLength(30);
    // MQTT 3.1.1 has no reason codes: the PUBACK looks like success (Mosquitto 2.0); dropped all the same (below).
    expect(new Set(v311Answers)).toEqual(new Set(['acked']));

    // B publishes its own readings meanwhile; the control reader receives them.
    const b = await startTraffic(p, {
      deviceKeys: ['globex-1'],
      perDevice: 200,
      ratePerSecond: 200,
      tag: 'b',
    });
    await b.finished;
    await waitFor('the control reader to receive all of B', () => observed.length >= 200, {
      timeoutMs: 10_000,
    });
    // Barrier: the broker handled B's publishes before this one, so anything it had let through to A
    // was written to A's connection before this PUBACK.
    const own = createStream(intruder, p.devices['acme-1']!.topic, 0, 'own');
    own.ids.push('own-0');
    const ownAnswer = await intruder.publish(
      own.topic,
      JSON.stringify({ ts: Date.now(), id: 'own-0', metrics: { t: 1 } }),
    );
    if (ownAnswer.kind === 'acked') own.acked.add('own-0');
    expect(observed).toHaveLength(200);
    expect(intruderSeen()).toEqual([]);
    // The refusals did not cost A its connections.
    expect([intruder.closes, intruderV311.closes]).toEqual([0, 0]);

    const streams = [...b.streams, own];
    await drain(p, { streams }, { timeoutMs: 15_000 });
    // The broker passed none of A's 90 foreign publishes to the bridge: B's 200 and A's own 1 only.
    expect(bridge.stats().received).toBe(201);

    // Telemetry holds exactly B's readings and A's own one; nothing was dead-lettered.
    await expectExactlyOnce(p, { streams });
    const perTenantDevice = await p.db.query<{ tenant: string; device_key: string; n: string }>(
      `select tn.slug as tenant, d.device_key, count(*) as n from public.telemetry t
         join public.devices d on d.id = t.device_id join public.tenants tn on tn.id = t.tenant_id
        group by tn.slug, d.device_key order by 1, 2`,
    );
    expect(perTenantDevice.rows).toEqual([
      { tenant: 'acme', device_key: 'acme-1', n: '1' },
      { tenant: 'globex', device_key: 'globex-1', n: '200' },
    ]);
    expect(
      await count(p.db, `select count(*) as n from public.telemetry where msg_key like 'id:intrude-%'`),
    ).toBe(0);
    // Usage (billing): B is charged for its own 200 messages only, A for its 1.
    const usage = await p.db.query<{ tenant: string; device_key: string; n: string }>(
      `select tn.slug as tenant, d.device_key, sum(u.messages) as n from public.usage_hourly u
         join public.devices d on d.id = u.device_id join public.tenants tn on tn.id = u.tenant_id
        group by tn.slug, d.device_key order by 1, 2`,
    );
    expect(usage.rows).toEqual([
      { tenant: 'acme', device_key: 'acme-1', n: '1' },
      { tenant: 'globex', device_key: 'globex-1', n: '200' },
    ]);
    log(
      `cross-tenant: ${intruderIds.length} foreign publishes refused or dropped, B's 200 intact, in ${elapsed()} ms`,
    );
  }, 60_000);

  test('defence in depth: with a stale broker ACL naming tenant B, ingest refuses the topic and blames tenant A', async () => {
    const p = await platform.start({ label: 'stale_acl' });
    const bridge = p.bridge!;
    // acme-stale belongs to acme in the registry, but its broker ACL (out of date) lets it write B's namespace.
    const stale = p.devices['acme-stale']!;
    expect(stale.topic).toBe(telemetryTopic('globex', 'acme-stale'));
    const traffic = await startTraffic(p, {
      deviceKeys: ['acme-stale', 'globex-1'],
      perDevice: 50,
      ratePerSecond: 200,
      tag: 'stale',
    });
    await traffic.finished;
    const [staleStream, bStream] = traffic.streams as [Stream, Stream];
    expect(staleStream.acked.size).toBe(50); // the broker let them through

    // Only B's 50 are committed; the stale device's 50 are dead-lettered.
    await drain(p, { streams: [bStream] }, { timeoutMs: 15_000 });
    await waitFor(
      '50 dead letters',
      async () => (await count(p.db, 'select count(*) as n from public.ingest_rejects')) >= 50,
      { timeoutMs: 10_000, describe: () => JSON.stringify(bridge.stats()) },
    );

    const rejects = await p.db.query<{ reason: string; tenant_id: string; device_id: string; n: string }>(
      'select reason, tenant_id, device_id, count(*) as n from public.ingest_rejects group by 1, 2, 3',
    );
    expect(rejects.rows).toEqual([
      { reason: 'topic_tenant_mismatch', tenant_id: p.tenants.acme, device_id: stale.id, n: '50' },
    ]);
    // B's data and usage are B's own only.
    await expectExactlyOnce(p, { streams: [bStream] }, { otherRejectsExpected: true });
    expect(
      await count(p.db, 'select count(*) as n from public.telemetry where device_id = $1', [stale.id]),
    ).toBe(0);
    expect(
      await count(
        p.db,
        'select coalesce(sum(messages), 0) as n from public.usage_hourly where tenant_id = $1',
        [p.tenants.globex],
      ),
    ).toBe(50);
  }, 60_000);
});
