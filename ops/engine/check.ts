/**
 * The contract of an ops check (docs/ops.md): a small module that gets its data through
 * injected sources and says how things are. The engine adds timing and turns a throw into `error`.
 */
import type { Component } from './component.js';
import type { CheckStatus } from './status.js';
import type { Severity } from './severity.js';

export type { CheckStatus, Component, Severity };

/** What a check's run() returns. `error` is the engine's to give (a check that throws). */
export interface CheckOutcome {
  status: Exclude<CheckStatus, 'error'>;
  /** One line for the report's table. */
  summary: string;
  /** Numbers worth charting or thresholding, by name (e.g. `latency_ms`). */
  metrics?: Record<string, number>;
  /** Lines that show why: what was measured, against what. */
  evidence?: string[];
  /** Identity of the problem for incident issues; defaults to the check id. */
  fingerprint?: string;
  /** Series worth seeing as a chart (cost burn, CPU credits); rendered as Mermaid `xychart-beta`. */
  charts?: Chart[];
}

/** One x/y chart: shared x labels, one or more bar or line series of the same length. */
export interface Chart {
  title: string;
  xLabels: string[];
  yLabel: string;
  series: { kind: 'bar' | 'line'; name: string; values: number[] }[];
}

export interface CheckContext {
  /** Milliseconds since the epoch; injected so tests control time. */
  now(): number;
  /** Aborted when the run's time budget for this check is spent. */
  signal: AbortSignal;
}

export interface Check {
  id: string;
  title: string;
  severity: Severity;
  /** The runbook playbook that answers a failure (runbook/RUNBOOK.md section 7), if any. */
  playbook: string | null;
  /** Set from runbook.yaml by the cadence plan; a check run outside a cadence (the Functions probe) has none. */
  component?: Component;
  /** Its own time budget when the run's default does not fit (a restore test). */
  timeoutMs?: number;
  run(context: CheckContext): Promise<CheckOutcome>;
}

export interface CheckResult extends Required<Omit<CheckOutcome, 'status'>> {
  id: string;
  title: string;
  status: CheckStatus;
  severity: Severity;
  playbook: string | null;
  component: Component | null;
  startedAt: string;
  durationMs: number;
}
