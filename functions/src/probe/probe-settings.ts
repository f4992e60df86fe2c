/**
 * The uptime probe's checks from its settings (PROBE_* and GITHUB_*, read and validated by
 * ../settings.ts; the sandbox builds them from its own). The module keeps its name because the
 * sandbox imports probeChecks from here.
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
import type { ProbeSettings } from '../settings.js';

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
          ...(s.protocolVersion ? { protocolVersion: s.protocolVersion } : {}),
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
