import type pg from 'pg';
import { DEFAULT_BRIDGE_BACKLOG } from '../../../ops/checks/bridge-backlog.js';
import { loadRunbookConfig } from '../../../ops/config/runbook-config.js';
import { parseProbeSettings, probeChecks } from './probe-settings.js';

// Never queried here: the checks are only built.
const pool = {} as pg.Pool;

const base = {
  PROBE_MQTT_LISTENERS: 'tls=mqtts://mqtt.example.com:8883, websocket=wss://mqtt.example.com:9001/mqtt',
  PROBE_MQTT_USERNAME: 'svc-uptime',
  PROBE_MQTT_PASSWORD: 'pw-123456',
};

test('parses listeners, endpoints and GitHub, and builds the checks with the daily ids', () => {
  const s = parseProbeSettings({
    ...base,
    PROBE_ENDPOINTS: 'dashboard=https://app.example.com/',
    PROBE_HEALTH_URL: 'https://func.example.com/api/health',
    GITHUB_REPOSITORY: 'acme/mqtt-saas',
    GITHUB_DISPATCH_TOKEN: 'ghs_x',
  });
  expect(s.listeners).toEqual([
    { name: 'tls', url: 'mqtts://mqtt.example.com:8883' },
    { name: 'websocket', url: 'wss://mqtt.example.com:9001/mqtt' },
  ]);
  expect(s.github).toEqual({
    repository: 'acme/mqtt-saas',
    token: 'ghs_x',
    apiUrl: 'https://api.github.com',
  });
  expect(probeChecks(s, { pool }).map((c) => c.id)).toEqual([
    'daily.broker-uptime.tls',
    'daily.broker-uptime.websocket',
    'daily.endpoints.dashboard',
    'daily.endpoints.function-health',
    'daily.bridge-backlog',
  ]);
});

test('the probe watches the bridges with the thresholds of runbook.yaml, as the cadences do', () => {
  const runbook = loadRunbookConfig();
  expect(runbook.cadences.uptime).toContain('daily.bridge-backlog');
  // The probe runs in Azure without runbook.yaml: it uses the check's defaults.
  expect(runbook.checks['daily.bridge-backlog']!.thresholds).toEqual(DEFAULT_BRIDGE_BACKLOG);
});

test('every problem is named at once, and no value is echoed', () => {
  expect(() =>
    parseProbeSettings({
      PROBE_MQTT_LISTENERS: 'tls=http://nope',
      PROBE_MQTT_PASSWORD: 'pw-123456',
      GITHUB_REPOSITORY: 'not a repo',
    }),
  ).toThrow(
    'uptime probe settings: PROBE_MQTT_LISTENERS: "tls=http://nope" is not name=url; PROBE_MQTT_USERNAME is not set; ' +
      'GITHUB_REPOSITORY must be owner/name; GITHUB_DISPATCH_TOKEN is not set (GITHUB_REPOSITORY is)',
  );
  expect(() => parseProbeSettings({})).toThrow(/PROBE_MQTT_LISTENERS is not set/);
});

test('without GitHub settings the probe records only', () => {
  expect(parseProbeSettings(base).github).toBeUndefined();
});
