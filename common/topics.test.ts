import { bridgeSubscription, parseTelemetryTopic, telemetryTopic, alertsTopic } from './topics.js';

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
