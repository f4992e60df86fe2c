import type pg from 'pg';
import { DEFAULT_BRIDGE_BACKLOG } from '../../../ops/checks/bridge-backlog.js';
import { loadRunbookConfig } from '../../../ops/config/runbook-config.js';
import { parseSettings, pickSettings } from '../settings.js';
import { probeChecks } from './probe-settings.js';

// Never queried here: the checks are only built.
const pool = {} as pg.Pool;

test('builds the checks from the settings with the daily ids', () => {
  const { probe } = pickSettings(
    parseSettings({
      PROBE_MQTT_LISTENERS: 'tls=mqtts://mqtt.example.com:8883, websocket=wss://mqtt.example.com:9001/mqtt',
      PROBE_MQTT_USERNAME: 'svc-uptime',
      PROBE_MQTT_PASSWORD: 'pw-123456',
      PROBE_ENDPOINTS: 'dashboard=https://app.example.com/',
      PROBE_HEALTH_URL: 'https://func.example.com/api/health',
    }),
    ['probe'],
  );
  expect(probeChecks(probe, { pool }).map((c) => c.id)).toEqual([
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
