/**
 * The hidden state an issue body carries: one HTML comment holding JSON, invisible when GitHub
 * renders the body. `--` and angle brackets are written as JSON unicode escapes so nothing in the
 * data can end the comment early, and JSON.parse restores them.
 */
import type { CheckStatus, Component, Severity } from '../engine/check.js';

/** What an open incident issue remembers about its fingerprint. */
export interface IncidentMarker {
  kind: 'incident';
  v: 1;
  env: string;
  fingerprint: string;
  checkId: string;
  checkTitle: string;
  severity: Severity;
  /** runbook.yaml's component when the labels were last set; absent in markers older than the field. */
  component?: Component | null;
  playbook: string | null;
  consecutiveFailures: number;
  consecutivePasses: number;
  /** First failing run of this outage (ISO). */
  since: string;
  lastStatus: CheckStatus;
  lastSummary: string;
  /** Digest of the last evidence, digits ignored (see change detection in plan.ts). */
  evidenceKey: string;
  updatedAt: string;
  /** Bumped on every write: a writer that finds another revision than it read lost a race. */
  rev: number;
}

/** Failure counters of a fingerprint that has no open issue (yet). */
export interface Tracker {
  checkId: string;
  consecutiveFailures: number;
  /** First failing run of the current streak (ISO). */
  since: string;
  lastStatus: CheckStatus;
  lastSummary: string;
  /** Last run that saw this fingerprint (ISO); stale counters are dropped. */
  updatedAt: string;
}

/** The body marker of the counters issue (label `ops-state`, one per environment). */
export interface StateMarker {
  kind: 'ops-state';
  v: 1;
  env: string;
  trackers: Record<string, Tracker>;
  updatedAt: string;
}

export type Marker = IncidentMarker | StateMarker;

const OPEN = '<!-- ops:marker ';
const CLOSE = ' -->';

export function encodeMarker(marker: Marker): string {
  const json = JSON.stringify(marker)
    .replace(/--/g, '\\u002d\\u002d')
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e');
  return `${OPEN}${json}${CLOSE}`;
}

/** The marker in an issue body, or null when there is none or it is not ours. */
export function decodeMarker(body: string | null | undefined): Marker | null {
  if (!body) return null;
  const start = body.lastIndexOf(OPEN);
  if (start < 0) return null;
  const end = body.indexOf(CLOSE, start + OPEN.length);
  if (end < 0) return null;
  try {
    const value = JSON.parse(body.slice(start + OPEN.length, end)) as Partial<Marker>;
    if (value?.v !== 1) return null;
    if (value.kind === 'incident' && typeof value.fingerprint === 'string' && typeof value.env === 'string')
      return value as IncidentMarker;
    if (
      value.kind === 'ops-state' &&
      typeof value.env === 'string' &&
      value.trackers &&
      typeof value.trackers === 'object'
    )
      return value as StateMarker;
    return null;
  } catch {
    return null;
  }
}
