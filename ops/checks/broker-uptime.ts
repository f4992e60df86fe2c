/**
 * Daily: the broker answers on a listener. Connect, authenticate, subscribe, publish and receive
 * as the uptime probe; fail naming the stage that broke, warn when slow.
 */
import type { Check } from '../engine/check.js';
import type { MqttRoundTripSource } from '../sources/mqtt-round-trip.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const BROKER_UPTIME_TITLE = 'Broker round trip';

export function brokerUptimeCheck(
  source: MqttRoundTripSource,
  options: { listener: string; endpoint: string; warnMs?: number },
): Check {
  const warnMs = options.warnMs ?? 1_000;
  return {
    id: `daily.broker-uptime.${options.listener}`,
    title: `${BROKER_UPTIME_TITLE} on ${options.listener}`,
    severity: 'critical',
    playbook: 'broker-down',
    async run({ signal }) {
      const r = await source.roundTrip(signal);
      if (!r.ok) {
        return {
          status: 'fail',
          summary: `${options.endpoint}: ${r.stage} failed: ${r.error}`,
          metrics: { elapsed_ms: r.elapsedMs },
          evidence: [`stage ${r.stage} after ${r.elapsedMs} ms: ${r.error}`],
          fingerprint: `daily.broker-uptime.${options.listener}`,
        };
      }
      const metrics = { connect_ms: r.connectMs, round_trip_ms: r.roundTripMs };
      const total = r.connectMs + r.roundTripMs;
      if (total > warnMs) {
        return {
          status: 'warn',
          summary: `slow: connect ${r.connectMs} ms, round trip ${r.roundTripMs} ms (over ${warnMs} ms)`,
          metrics,
        };
      }
      return { status: 'ok', summary: `connect ${r.connectMs} ms, round trip ${r.roundTripMs} ms`, metrics };
    },
  };
}
