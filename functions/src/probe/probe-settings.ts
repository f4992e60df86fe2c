/**
 * The uptime probe's Function App settings, parsed and validated at start:
 *   PROBE_MQTT_LISTENERS   name=url pairs, comma separated: tls=mqtts://mqtt.example.com:8883,websocket=wss://...
 *   PROBE_MQTT_USERNAME    the ops probe's broker user (ACL: its own ops/probe/<user> topic)
 *   PROBE_MQTT_PASSWORD
 *   PROBE_ENDPOINTS        optional name=url pairs of HTTP endpoints that must answer 2xx/3xx/401
 *   PROBE_HEALTH_URL       optional: the Functions app's own health endpoint
 *   GITHUB_REPOSITORY      owner/name that receives repository_dispatch on a state change
 *   GITHUB_DISPATCH_TOKEN  a token allowed to create repository dispatch events (contents: write)
 *   GITHUB_API_URL         optional, default https://api.github.com
 * Without the GitHub pair the probe still records; it just tells no one (logged once per run).
 */
import type pg from 'pg';
import { probeTopic } from '../../../common/topics.js';
import { bridgeBacklogCheck } from '../../../ops/checks/bridge-backlog.js';
import { brokerUptimeCheck } from '../../../ops/checks/broker-uptime.js';
import { endpointCheck } from '../../../ops/checks/endpoints.js';
import type { Check } from '../../../ops/engine/check.js';
import { createBridgeStatusSource } from '../../../ops/sources/bridge-status.js';
import { createHttpProbeSource } from '../../../ops/sources/http-probe.js';
import { createMqttRoundTripSource } from '../../../ops/sources/mqtt-round-trip.js';

export interface ProbeSettings {
  listeners: { name: string; url: string }[];
  username: string;
  password: string;
  endpoints: { name: string; url: string }[];
  healthUrl?: string;
  github?: { repository: string; token: string; apiUrl: string };
  /** MQTT 5 unless the broker speaks only 3.1.1 (the sandbox's embedded one). */
  protocolVersion?: 4 | 5;
}

export function parseProbeSettings(env: Record<string, string | undefined>): ProbeSettings {
  const problems: string[] = [];
  const listeners = pairs('PROBE_MQTT_LISTENERS', env.PROBE_MQTT_LISTENERS, /^(mqtts?|wss?):\/\//, problems);
  if (listeners.length === 0 && !problems.length) problems.push('PROBE_MQTT_LISTENERS is not set');
  const username = env.PROBE_MQTT_USERNAME ?? '';
  const password = env.PROBE_MQTT_PASSWORD ?? '';
  if (!username) problems.push('PROBE_MQTT_USERNAME is not set');
  if (!password) problems.push('PROBE_MQTT_PASSWORD is not set');
  const endpoints = pairs('PROBE_ENDPOINTS', env.PROBE_ENDPOINTS, /^https?:\/\//, problems);
  const healthUrl = env.PROBE_HEALTH_URL || undefined;
  if (healthUrl && !/^https?:\/\//.test(healthUrl)) problems.push('PROBE_HEALTH_URL must be an http(s) URL');
  let github: ProbeSettings['github'];
  if (env.GITHUB_REPOSITORY || env.GITHUB_DISPATCH_TOKEN) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(env.GITHUB_REPOSITORY ?? ''))
      problems.push('GITHUB_REPOSITORY must be owner/name');
    if (!env.GITHUB_DISPATCH_TOKEN) problems.push('GITHUB_DISPATCH_TOKEN is not set (GITHUB_REPOSITORY is)');
    github = {
      repository: env.GITHUB_REPOSITORY ?? '',
      token: env.GITHUB_DISPATCH_TOKEN ?? '',
      apiUrl: env.GITHUB_API_URL || 'https://api.github.com',
    };
  }
  if (problems.length) throw new Error(`uptime probe settings: ${problems.join('; ')}`);
  return { listeners, username, password, endpoints, healthUrl, github };
}

/**
 * The probe's checks, ids as in the daily cadence: a broker round trip per listener, each
 * endpoint, and the bridges' backlog as they reported it to mqtt_ingest (the probe cannot reach
 * the VM's loopback health server or SSH; `pool` is the Functions app's database), with the
 * thresholds runbook.yaml gives it.
 */
export function probeChecks(s: ProbeSettings, deps: { pool: pg.Pool }): Check[] {
  const http = createHttpProbeSource();
  const ok = [200, 201, 204, 301, 302, 304, 401];
  return [
    ...s.listeners.map((l) =>
      brokerUptimeCheck(
        createMqttRoundTripSource({
          url: l.url,
          username: s.username,
          password: s.password,
          topic: probeTopic(s.username),
        }),
        { listener: l.name, endpoint: l.url },
      ),
    ),
    ...s.endpoints.map((e) => endpointCheck(http, { ...e, expectStatus: ok })),
    ...(s.healthUrl
      ? [endpointCheck(http, { name: 'function-health', url: s.healthUrl, expectStatus: [200] })]
      : []),
    bridgeBacklogCheck(createBridgeStatusSource(deps.pool)),
  ];
}

function pairs(name: string, value: string | undefined, urlPattern: RegExp, problems: string[]) {
  if (!value) return [];
  return value.split(',').flatMap((pair) => {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const url = pair.slice(eq + 1).trim();
    if (eq < 1 || !/^[a-z][a-z0-9-]*$/.test(key) || !urlPattern.test(url)) {
      problems.push(`${name}: "${pair.trim()}" is not name=url`);
      return [];
    }
    return [{ name: key, url }];
  });
}
