/**
 * Daily, go-live and uptime (the minute-level probe too): the pipeline from the VM to mqtt_ingest
 * is moving. Each bridge reports its backlog on every request to ingest and in a heartbeat when
 * idle (docs/bridge.md); ingest stores the last report per bridge (ops.bridge_status) even when it
 * refuses the batch. Fails when the oldest message a bridge has not got accepted is older than
 * `failAgeSeconds` (a batch refused for ever holds everything behind it, for every tenant), or
 * when a bridge has not been heard for `staleReportSeconds` (down, or cannot reach ingest at all:
 * then there is no age to see). No bridge ever heard of fails too.
 */
import type { Check, CheckOutcome } from '../engine/check.js';
import { worstStatus } from '../engine/status.js';
import type { BridgeStatusRow, BridgeStatusSource } from '../sources/bridge-status.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const BRIDGE_BACKLOG_TITLE = 'Bridge backlog (oldest message not yet accepted by mqtt_ingest)';

export interface BridgeBacklogOptions {
  warnAgeSeconds: number;
  failAgeSeconds: number;
  staleReportSeconds: number;
}

/** Also what the uptime probe uses (it has no runbook.yaml); a test keeps the two equal. */
export const DEFAULT_BRIDGE_BACKLOG: BridgeBacklogOptions = {
  warnAgeSeconds: 60,
  failAgeSeconds: 300,
  staleReportSeconds: 300,
};

/** Clocks further apart than this are worth a line of evidence (the age is the bridge's). */
const SKEW_NOTE_MS = 60_000;

const seconds = (ms: number) => Math.round(ms / 1000);

export function bridgeBacklogCheck(
  source: BridgeStatusSource,
  options: Partial<BridgeBacklogOptions> = {},
): Check {
  const o = { ...DEFAULT_BRIDGE_BACKLOG, ...options };
  return {
    id: 'daily.bridge-backlog',
    title: BRIDGE_BACKLOG_TITLE,
    severity: 'critical',
    playbook: null,
    async run({ now }) {
      const rows = await source.read();
      if (rows.length === 0) {
        return {
          status: 'fail',
          summary:
            'no bridge has ever reported its backlog to mqtt_ingest: is the bridge running, a version that reports, and can it reach ingest?',
          metrics: { bridges: 0 },
          evidence: ['ops.bridge_status is empty'],
        };
      }
      const at = now();
      const assessed = rows.map((r) => assess(r, at, o));
      const worst = worstStatus(
        assessed.map((a) => a.status),
        'ok',
      );
      const metrics = {
        bridges: rows.length,
        pending: rows.reduce((n, r) => n + r.pending, 0),
        oldest_pending_age_s: Math.max(...rows.map((r) => seconds(r.oldestPendingAgeMs))),
        report_age_s: Math.max(...assessed.map((a) => seconds(a.reportAgeMs))),
      };
      const outcome: CheckOutcome = {
        status: worst,
        // The bridges in the worst state; every bridge is in the evidence.
        summary: assessed
          .filter((a) => a.status === worst)
          .map((a) => a.line)
          .join('; '),
        metrics,
        evidence: assessed.flatMap((a) => a.evidence),
      };
      return outcome;
    },
  };
}

function assess(r: BridgeStatusRow, at: number, o: BridgeBacklogOptions) {
  const reportAgeMs = Math.max(0, at - r.receivedAt.getTime());
  const ageS = seconds(r.oldestPendingAgeMs);
  const received = r.receivedAt.toISOString();
  const lastReport = `last report ${received} (${seconds(reportAgeMs)} s ago)`;
  const evidence = [
    `${r.bridgeId}: ${r.pending} pending, oldest unacknowledged ${ageS} s, at its report sent ${r.sentAt.toISOString()} (bridge clock), received ${received} (ingest clock)`,
  ];
  const skew = r.sentAt.getTime() - r.receivedAt.getTime();
  if (Math.abs(skew) > SKEW_NOTE_MS) {
    evidence.push(
      `${r.bridgeId}: its clock is ${seconds(Math.abs(skew))} s ${skew > 0 ? 'ahead of' : 'behind'} ingest's`,
    );
  }

  let status: 'ok' | 'warn' | 'fail';
  let line: string;
  if (reportAgeMs > o.staleReportSeconds * 1000) {
    status = 'fail';
    line =
      `${r.bridgeId}: no report for ${seconds(reportAgeMs)} s (limit ${o.staleReportSeconds}): the bridge is down or cannot reach mqtt_ingest; ` +
      `its last report, at ${received}, said ${r.pending} pending, oldest ${ageS} s`;
    evidence.push(
      `${r.bridgeId}: look at the bridge on the VM (systemctl status, its status file: connected, lastError) and at whether mqtt_ingest is reachable from it (401/403: the function key)`,
    );
  } else if (r.oldestPendingAgeMs > o.failAgeSeconds * 1000) {
    status = 'fail';
    line = `${r.bridgeId}: oldest unacknowledged message ${ageS} s old (limit ${o.failAgeSeconds}), ${r.pending} pending, ${lastReport}`;
    evidence.push(
      `${r.bridgeId}: ingest is refusing its batches (a batch answered non-2xx is retried for ever and holds everything behind it): look at the bridge's lastError and mqtt_ingest's failures`,
    );
  } else if (r.oldestPendingAgeMs > o.warnAgeSeconds * 1000) {
    status = 'warn';
    line = `${r.bridgeId}: oldest unacknowledged message ${ageS} s old (warn at ${o.warnAgeSeconds}), ${r.pending} pending, ${lastReport}`;
  } else {
    status = 'ok';
    line = `${r.bridgeId}: ${r.pending} pending, oldest ${ageS} s, ${lastReport}`;
  }
  return { status, line, evidence, reportAgeMs };
}
