/**
 * Go-live and uptime: the minute-level probe (an Azure Functions timer) is alive. Its heartbeat is
 * the newest time it recorded a result; stale beyond `staleMinutes` means nobody is watching
 * uptime between the daily runs (the watchdog's dead-man's switch). What the probe currently sees
 * down is listed as evidence; those checks have incidents of their own.
 */
import type { Check } from '../engine/check.js';
import type { ProbeStateSource } from '../sources/probe-state.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const PROBE_HEARTBEAT_TITLE = 'Uptime probe heartbeat';

export function probeHeartbeatCheck(
  source: ProbeStateSource,
  options: { staleMinutes?: number } = {},
): Check {
  const staleMinutes = options.staleMinutes ?? 5;
  return {
    id: 'golive.probe-heartbeat',
    title: PROBE_HEARTBEAT_TITLE,
    severity: 'high',
    playbook: null,
    async run({ now }) {
      const rows = await source.read();
      if (rows.length === 0) {
        return {
          status: 'fail',
          summary:
            'the uptime probe has never recorded a result: is the uptime_probe function deployed and enabled?',
        };
      }
      const last = Math.max(...rows.map((r) => r.lastAt.getTime()));
      const ageMin = Math.round(((now() - last) / 60_000) * 10) / 10;
      const down = rows.filter((r) => r.state === 'down');
      const evidence = [
        `last result ${new Date(last).toISOString()} (${ageMin} min ago)`,
        ...down.map((r) => `${r.checkId} down since ${r.since.toISOString()}: ${r.summary}`),
      ];
      const metrics = { heartbeat_age_min: ageMin, checks: rows.length, down: down.length };
      if (ageMin > staleMinutes) {
        return {
          status: 'fail',
          summary: `heartbeat stale: last result ${ageMin} min ago (limit ${staleMinutes})`,
          metrics,
          evidence,
        };
      }
      return {
        status: 'ok',
        summary: `alive: last result ${ageMin} min ago, ${rows.length} checks, ${down.length} down`,
        metrics,
        evidence,
      };
    },
  };
}
