import {
  alertsTopic,
  assertDeviceKey,
  bridgeSubscription,
  deviceCouldClaimClientId,
  isValidDeviceKey,
  parseTelemetryTopic,
  RESERVED_NAME_PREFIXES,
  telemetryTopic,
} from './topics.js';

test('builds and parses telemetry topics, refusing anything else', () => {
  expect(telemetryTopic('acme', 'acme-sensor-1')).toBe('t/acme/acme-sensor-1/telemetry');
  expect(parseTelemetryTopic('t/acme/acme-sensor-1/telemetry')).toEqual({
    tenantSlug: 'acme',
    deviceKey: 'acme-sensor-1',
  });
  for (const bad of [
    't/acme/telemetry',
    't/acme/x/y/telemetry',
    'x/acme/dev/telemetry',
    't/ACME/dev/telemetry',
    't/acme/+/telemetry',
    't/acme/dev/alerts',
    '',
  ]) {
    expect(parseTelemetryTopic(bad)).toBeNull();
  }
  expect(() => telemetryTopic('acme', 'a/b')).toThrow(/invalid device key/);
  expect(alertsTopic('acme')).toBe('t/acme/alerts');
  expect(bridgeSubscription(true)).toBe('$share/ingest/t/+/+/telemetry');
  expect(bridgeSubscription(false)).toBe('t/+/+/telemetry');
});

test("reserves the services' name prefixes: no device key can equal a service's client id", () => {
  expect(RESERVED_NAME_PREFIXES).toEqual(['svc-', 'bridge-']);
  for (const key of ['acme-sensor-1', 'ops-probe', 'bridgewater-1', 'svc', 'bridge'])
    expect(isValidDeviceKey(key)).toBe(true);
  for (const key of ['svc-bridge', 'bridge-vm1', 'Bridge-vm1', 'a/b', 'x'])
    expect(isValidDeviceKey(key)).toBe(false);
  expect(() => assertDeviceKey('bridge-vm1')).toThrow(/reserved for the platform's own MQTT clients/);
  expect(() => assertDeviceKey('a/b')).toThrow(/invalid device key/);
  expect(deviceCouldClaimClientId('e2e-bridge')).toBe(true);
  expect(deviceCouldClaimClientId('Bridge_VM1')).toBe(false); // not a device key at all
});
