/**
 * The incident decisions as one pure function: what is open and counted so far, this run's check
 * results, the policy and the time in; the issues to open, update and close, the ones held back by
 * the per-run cap and the next counters out. Stores (GitHub, local file) only carry the plan out.
 */
import { createHash } from 'node:crypto';
import type { CheckResult, CheckStatus, Component, Severity } from '../engine/check.js';
import { severityRank } from '../engine/severity.js';
import { atLeast, statusRank } from '../engine/status.js';
import {
  evidenceLines,
  formatDuration,
  incidentBody,
  incidentTitle,
  keptOpeningSection,
  openingSection,
  type TextContext,
} from './issue-text.js';
import type { IncidentMarker, Tracker } from './marker.js';
import type { IncidentPolicy } from './policy.js';

export interface OpenIncident {
  number: number;
  url: string;
  marker: IncidentMarker;
  /** The body as loaded: its "When it opened" section is carried into every rewrite. */
  body?: string | null;
}

/** What a store knows before a run: open incident issues and counters of the others. */
export interface IncidentSnapshot {
  incidents: OpenIncident[];
  trackers: Record<string, Tracker>;
}

export interface PlanContext extends TextContext {
  env: string;
  now: Date;
}

export interface OpenAction {
  kind: 'open';
  fingerprint: string;
  title: string;
  body: string;
  labels: string[];
  marker: IncidentMarker;
  /** The counters to keep should the issue fail to open. */
  tracker: Tracker;
}
export interface UpdateAction {
  kind: 'update';
  number: number;
  url: string;
  fingerprint: string;
  /** Posted only when something changed; null on an identical repeat. */
  comment: string | null;
  body: string;
  /** The incident labels to set when the severity or component changed, else null (labels left alone). */
  labels: string[] | null;
  marker: IncidentMarker;
  /** The marker revision this plan read; a store that finds another one lost a race and skips. */
  expectedRev: number;
}
export interface CloseAction {
  kind: 'close';
  number: number;
  url: string;
  fingerprint: string;
  comment: string;
  body: string;
  marker: IncidentMarker;
  expectedRev: number;
  reason: 'resolved' | 'duplicate';
  duplicateOf?: number;
  /** Resolved only: first failure to now. */
  outageMs?: number;
}
export type IncidentAction = OpenAction | UpdateAction | CloseAction;

export interface HeldBack {
  fingerprint: string;
  checkId: string;
  severity: Severity;
  summary: string;
  consecutiveFailures: number;
}

export interface IncidentPlan {
  actions: IncidentAction[];
  heldBack: HeldBack[];
  /** Counters of fingerprints without an open issue after this run. */
  trackers: Record<string, Tracker>;
  trackersChanged: boolean;
}

/** Counters of a fingerprint not seen for this long are dropped (a check that was removed). */
const TRACKER_TTL_MS = 40 * 86_400_000;

/** A result without a component (a check run outside a cadence) gets no component label. */
export function incidentLabels(severity: Severity, component: Component | null): string[] {
  return ['incident', `severity:${severity}`, ...(component ? [`component:${component}`] : [])];
}

/** `error` and `fail` always count; `warn` when the policy says so. */
export function isFailure(status: CheckStatus, policy: IncidentPolicy): boolean {
  return atLeast(status, policy.warnIsFailure ? 'warn' : 'error');
}

/** Numbers change every run (latency, days left); a summary changes materially when its words do. */
export function materialText(s: string): string {
  return s
    .replace(/\d+(?:[.,]\d+)*/g, '#')
    .replace(/\s+/g, ' ')
    .trim();
}

export function evidenceKey(evidence: readonly string[]): string {
  return createHash('sha256').update(evidence.map(materialText).join('\n')).digest('hex').slice(0, 16);
}

export function planIncidents(
  snapshot: IncidentSnapshot,
  results: readonly CheckResult[],
  policy: IncidentPolicy,
  ctx: PlanContext,
): IncidentPlan {
  const now = ctx.now.toISOString();
  const actions: IncidentAction[] = [];

  // One open issue per fingerprint: the oldest is canonical, later ones (a lost race) are closed.
  const canonical = new Map<string, OpenIncident>();
  const incidents = snapshot.incidents
    .filter((i) => i.marker.env === ctx.env)
    .sort((a, b) => a.number - b.number);
  for (const incident of incidents) {
    const first = canonical.get(incident.marker.fingerprint);
    if (!first) {
      canonical.set(incident.marker.fingerprint, incident);
      continue;
    }
    actions.push({
      kind: 'close',
      reason: 'duplicate',
      duplicateOf: first.number,
      number: incident.number,
      url: incident.url,
      fingerprint: incident.marker.fingerprint,
      comment: duplicateComment(first.number),
      body: incidentBody(
        { ...incident.marker, rev: incident.marker.rev + 1 },
        [],
        keptOpeningSection(incident.body),
        ctx,
      ),
      marker: { ...incident.marker, rev: incident.marker.rev + 1 },
      expectedRev: incident.marker.rev,
    });
  }

  const trackers: Record<string, Tracker> = {};
  for (const [fp, t] of Object.entries(snapshot.trackers)) {
    if (canonical.has(fp)) continue; // an open issue holds its own counters
    if (ctx.now.getTime() - Date.parse(t.updatedAt ?? t.since) > TRACKER_TTL_MS) continue;
    trackers[fp] = t;
  }

  const candidates: { result: CheckResult; tracker: Tracker }[] = [];
  for (const result of worstPerFingerprint(results)) {
    if (result.status === 'skipped') continue;
    const fp = result.fingerprint;
    const failing = isFailure(result.status, policy);
    const key = evidenceKey(result.evidence);
    const incident = canonical.get(fp);

    if (incident) {
      const prev = incident.marker;
      const next: IncidentMarker = {
        ...prev,
        checkId: result.id,
        checkTitle: result.title,
        severity: result.severity,
        component: result.component,
        playbook: result.playbook,
        consecutiveFailures: failing ? prev.consecutiveFailures + 1 : 0,
        consecutivePasses: failing ? 0 : prev.consecutivePasses + 1,
        lastStatus: result.status,
        lastSummary: result.summary,
        evidenceKey: key,
        updatedAt: now,
        rev: prev.rev + 1,
      };
      const base = { number: incident.number, url: incident.url, fingerprint: fp, expectedRev: prev.rev };
      const opening = keptOpeningSection(incident.body);
      if (!failing && next.consecutivePasses >= policy.closeAfter) {
        const outageMs = ctx.now.getTime() - Date.parse(prev.since);
        actions.push({
          ...base,
          kind: 'close',
          reason: 'resolved',
          outageMs,
          comment: resolvedComment(next, prev.since, now, outageMs),
          body: incidentBody(next, result.evidence, opening, ctx),
          marker: next,
        });
        continue;
      }
      const changes = describeChanges(prev, result, key);
      actions.push({
        ...base,
        kind: 'update',
        comment: changes.length ? changeComment(changes, next, result, failing, policy) : null,
        body: incidentBody(next, result.evidence, opening, ctx),
        // An old marker without a component relabels once.
        labels:
          prev.severity !== result.severity || (prev.component ?? null) !== result.component
            ? incidentLabels(result.severity, result.component)
            : null,
        marker: next,
      });
      continue;
    }

    if (!failing) {
      delete trackers[fp];
      continue;
    }
    const before = trackers[fp];
    const tracker: Tracker = {
      checkId: result.id,
      consecutiveFailures: (before?.consecutiveFailures ?? 0) + 1,
      since: before?.since ?? now,
      lastStatus: result.status,
      lastSummary: result.summary,
      updatedAt: now,
    };
    trackers[fp] = tracker;
    if (tracker.consecutiveFailures >= policy.openAfter) candidates.push({ result, tracker });
  }

  // The most severe and the longest-failing open first; the cap holds the rest back for a later run.
  candidates.sort(
    (a, b) =>
      severityRank(b.result.severity) - severityRank(a.result.severity) ||
      a.tracker.since.localeCompare(b.tracker.since) ||
      a.result.fingerprint.localeCompare(b.result.fingerprint),
  );
  const heldBack: HeldBack[] = [];
  for (const [index, { result, tracker }] of candidates.entries()) {
    if (index >= policy.maxOpenedPerRun) {
      heldBack.push({
        fingerprint: result.fingerprint,
        checkId: result.id,
        severity: result.severity,
        summary: result.summary,
        consecutiveFailures: tracker.consecutiveFailures,
      });
      continue;
    }
    const marker: IncidentMarker = {
      kind: 'incident',
      v: 1,
      env: ctx.env,
      fingerprint: result.fingerprint,
      checkId: result.id,
      checkTitle: result.title,
      severity: result.severity,
      component: result.component,
      playbook: result.playbook,
      consecutiveFailures: tracker.consecutiveFailures,
      consecutivePasses: 0,
      since: tracker.since,
      lastStatus: result.status,
      lastSummary: result.summary,
      evidenceKey: evidenceKey(result.evidence),
      updatedAt: now,
      rev: 1,
    };
    delete trackers[result.fingerprint];
    actions.push({
      kind: 'open',
      fingerprint: result.fingerprint,
      title: incidentTitle(marker),
      body: incidentBody(
        marker,
        result.evidence,
        openingSection({
          at: now,
          status: result.status,
          summary: result.summary,
          evidence: result.evidence,
        }),
        ctx,
      ),
      labels: incidentLabels(result.severity, result.component),
      marker,
      tracker,
    });
  }

  return {
    actions,
    heldBack,
    trackers,
    trackersChanged: stableJson(trackers) !== stableJson(snapshot.trackers),
  };
}

/** A fingerprint reported twice in one run counts once, at its worst status. */
function worstPerFingerprint(results: readonly CheckResult[]): CheckResult[] {
  const worst = new Map<string, CheckResult>();
  for (const r of results) {
    const seen = worst.get(r.fingerprint);
    if (!seen || statusRank(r.status) > statusRank(seen.status)) worst.set(r.fingerprint, r);
  }
  return [...worst.values()];
}

function describeChanges(prev: IncidentMarker, result: CheckResult, key: string): string[] {
  const changes: string[] = [];
  if (prev.lastStatus !== result.status) changes.push(`status ${prev.lastStatus} → ${result.status}`);
  if (prev.severity !== result.severity) changes.push(`severity ${prev.severity} → ${result.severity}`);
  if (materialText(prev.lastSummary) !== materialText(result.summary)) changes.push('summary');
  if (prev.evidenceKey !== key) changes.push('evidence');
  return changes;
}

function changeComment(
  changes: string[],
  next: IncidentMarker,
  result: CheckResult,
  failing: boolean,
  policy: IncidentPolicy,
): string {
  const state = failing
    ? `Still failing (${next.consecutiveFailures} run(s) in a row).`
    : `Passing again: ${next.consecutivePasses} of ${policy.closeAfter} passing run(s) needed to close.`;
  return [
    `**Changed** (${changes.join(', ')}) in the run of ${next.updatedAt}. ${state}`,
    '',
    `> **${result.status.toUpperCase()}**: ${result.summary.replace(/\s+/g, ' ')}`,
    '',
    ...evidenceLines(result.evidence).slice(0, 11),
  ].join('\n');
}

function resolvedComment(next: IncidentMarker, since: string, now: string, outageMs: number): string {
  return [
    `**Resolved**: ${next.consecutivePasses} passing run(s) in a row (latest: ${next.lastStatus}, ${next.lastSummary.replace(/\s+/g, ' ')}).`,
    '',
    `Outage: ${since} → ${now} (${formatDuration(outageMs)}).`,
  ].join('\n');
}

function duplicateComment(canonical: number): string {
  return `Duplicate of #${canonical}: two runs opened an issue for this fingerprint at once. The incident continues in #${canonical}.`;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
        )
      : v,
  );
}
