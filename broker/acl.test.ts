import { TELEMETRY_FILTER, probeTopic, telemetryTopic } from '../common/topics.js';
import { ALERTS_FILTER, SYS_FILTER, buildAcl } from './acl.js';

describe('buildAcl', () => {
  it('lets a device write only its own telemetry topic, and services their filters', () => {
    const acl = buildAcl([
      { role: 'device', username: 'dev-a1', tenantSlug: 'acme' },
      { role: 'bridge', username: 'bridge' },
      { role: 'alerts', username: 'alerts' },
    ]);
    expect(acl).toEqual([
      { username: 'dev-a1', rules: [{ access: 'write', topic: telemetryTopic('acme', 'dev-a1') }] },
      { username: 'bridge', rules: [{ access: 'read', topic: TELEMETRY_FILTER }] },
      { username: 'alerts', rules: [{ access: 'write', topic: ALERTS_FILTER }] },
    ]);
    expect(ALERTS_FILTER).toBe('t/+/alerts');
    // No wildcard write for anyone but the alerts service.
    const deviceTopics = acl[0]?.rules.map((rule) => rule.topic) ?? [];
    expect(deviceTopics.some((topic) => /[+#]/.test(topic))).toBe(false);
  });

  it("gives the uptime probe its own topic outside the tenants and read on the broker's $SYS, nothing else", () => {
    expect(buildAcl([{ role: 'probe', username: 'svc-uptime' }])).toEqual([
      {
        username: 'svc-uptime',
        rules: [
          { access: 'readwrite', topic: 'ops/probe/svc-uptime' },
          { access: 'read', topic: '$SYS/#' },
        ],
      },
    ]);
    expect(SYS_FILTER).toBe('$SYS/#');
    expect(probeTopic('svc-uptime').startsWith(`${TELEMETRY_FILTER.split('/')[0]}/`)).toBe(false);
  });

  it('rejects usernames that would break the password file or ACL, and duplicates', () => {
    expect(() => buildAcl([{ role: 'bridge', username: 'bad name' }])).toThrow(/invalid MQTT username/);
    expect(() => buildAcl([{ role: 'bridge', username: 'a:b' }])).toThrow(/invalid MQTT username/);
    expect(() =>
      buildAcl([
        { role: 'bridge', username: 'svc' },
        { role: 'alerts', username: 'svc' },
      ]),
    ).toThrow(/duplicate MQTT username "svc"/);
  });

  it('rejects a device whose key or tenant is not a valid topic segment', () => {
    expect(() => buildAcl([{ role: 'device', username: 'dev-1', tenantSlug: 'a/b' }])).toThrow(
      /invalid tenant slug/,
    );
    expect(() => buildAcl([{ role: 'device', username: 'Dev-1', tenantSlug: 'acme' }])).toThrow(
      /invalid device key/,
    );
  });

  it("refuses a device named like a service's client id (the device listeners make a username the client id)", () => {
    for (const username of ['bridge-vm1', 'svc-bridge', 'svc-alerts'])
      expect(() => buildAcl([{ role: 'device', username, tenantSlug: 'acme' }])).toThrow(/reserved/);
    // Services may use the reserved prefixes; that is what they are for.
    expect(buildAcl([{ role: 'bridge', username: 'svc-bridge' }])).toHaveLength(1);
  });
});
