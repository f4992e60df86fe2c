/**
 * The smoke stage: the go-live cadence (runbook.yaml's `golive`: canary publish to committed row,
 * function health, the alert path, ...) against the environment after the other stages, retried
 * for a bounded time (`attempts`, `intervalMs` apart) until its verdict is better than `error`
 * (the cadence command's own exit rule: `error` or `fail` is a failure). The stage succeeds when
 * an attempt passes, and fails with the last attempt's report otherwise.
 *
 * Judged against the health before the deploy (preflight-stage.ts): a check that was already
 * failing before and still fails is reported, not held against this deploy, so deploying a fix onto
 * a failing system is not rolled back for what it did not break. A new failure fails the stage.
 *
 * Incidents are off: a deploy's smoke run neither opens nor closes the cadence's ordinary incident
 * issues (the cadence workflows own those; a failed deploy is reported by the deploy itself, and
 * run.ts decides the rollback).
 */
import type { OpsTarget } from '../config/ops-target.js';
import type { RunbookConfig } from '../config/runbook-config.js';
import type { CheckResult, CheckStatus } from '../engine/check.js';
import { atLeast } from '../engine/status.js';
import { runCadence, type CadenceRun, type RunCadenceOptions } from '../run-cadence.js';

export const SMOKE_CADENCE = 'golive' as const;
export const SMOKE_DEFAULTS = { attempts: 3, intervalMs: 10_000 } as const;

/** The smoke checks' verdict before the deploy (preflight-stage.ts measures it). */
export interface HealthBefore {
  verdict: CheckStatus;
  /** The checks that were error or fail before the deploy. */
  failing: string[];
  /** The cadence report written for it. */
  report?: string;
}

export interface SmokeAttempt {
  attempt: number;
  verdict: CheckStatus;
  /** The checks that were error or fail, by id. */
  failing: string[];
  /** Those of `failing` that were not failing before the deploy. */
  newFailures: string[];
  ms: number;
  /** The cadence's Markdown report file. */
  report: string;
}

export interface SmokeStageResult {
  status: 'success' | 'failure';
  summary: string;
  cadence: typeof SMOKE_CADENCE;
  verdict: CheckStatus;
  /** The last attempt's checks. */
  results: CheckResult[];
  attempts: SmokeAttempt[];
  maxAttempts: number;
  intervalMs: number;
  /** The last attempt's Markdown report (the cadence's own). */
  markdown: string;
  totalMs: number;
  /** Checks failing after the deploy that were already failing before it (not held against it). */
  failingBefore: string[];
}

export interface SmokeStageOptions {
  target: OpsTarget;
  reportDir: string;
  runbook?: RunbookConfig;
  attempts?: number;
  intervalMs?: number;
  /** Injected for tests. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  log: (line: string) => void;
  /** The health before the deploy: checks failing then do not fail the stage if they still fail. */
  before?: HealthBefore | null;
  /** Injected for tests: one run of the cadence. */
  runCadence?: (
    cadence: typeof SMOKE_CADENCE,
    target: OpsTarget,
    options: RunCadenceOptions,
  ) => Promise<CadenceRun>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** True when a verdict fails the smoke test (as `ops golive` would exit 1). */
export function smokeFails(verdict: CheckStatus): boolean {
  return atLeast(verdict, 'error');
}

export async function runSmokeStage(options: SmokeStageOptions): Promise<SmokeStageResult> {
  const maxAttempts = Math.max(1, Math.floor(options.attempts ?? SMOKE_DEFAULTS.attempts));
  const intervalMs = Math.max(0, options.intervalMs ?? SMOKE_DEFAULTS.intervalMs);
  const sleep = options.sleep ?? defaultSleep;
  const run = options.runCadence ?? runCadence;
  const clock = options.now ?? Date.now;
  const started = Date.now();
  const attempts: SmokeAttempt[] = [];
  const before = options.before?.failing ?? [];
  let last: CadenceRun | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    if (attempt > 1) {
      options.log(`waiting ${(intervalMs / 1000).toFixed(1)} s before attempt ${attempt}/${maxAttempts}`);
      await sleep(intervalMs);
    }
    const t0 = Date.now();
    last = await run(SMOKE_CADENCE, options.target, {
      reportDir: options.reportDir,
      runbook: options.runbook,
      now: clock,
      progress: (line) => options.log(line),
      // Incidents off: the deploy's smoke run never opens or closes the cadence's incidents.
      appendix: () => Promise.resolve("## Incidents\n\nIncidents: off (a deploy's smoke test).\n"),
    });
    const failing = last.results.filter((r) => smokeFails(r.status)).map((r) => r.id);
    const newFailures = failing.filter((id) => !before.includes(id));
    attempts.push({
      attempt,
      verdict: last.verdict,
      failing,
      newFailures,
      ms: Date.now() - t0,
      report: last.file,
    });
    options.log(
      `attempt ${attempt}/${maxAttempts}: ${last.verdict}${failing.length ? ` (${failing.join(', ')})` : ''}` +
        (failing.length && !newFailures.length ? ', all of them failing before the deploy too' : ''),
    );
    if (!newFailures.length) break;
  }
  const final = attempts.at(-1)!;
  const passed = final.newFailures.length === 0;
  const n = attempts.length;
  const tries = `${n} attempt${n === 1 ? '' : 's'}`;
  const failingBefore = final.failing.filter((id) => before.includes(id));
  const asBefore = failingBefore.length
    ? `; still failing as before the deploy: ${failingBefore.join(', ')}`
    : '';
  return {
    status: passed ? 'success' : 'failure',
    summary: passed
      ? `${SMOKE_CADENCE} ${last!.verdict} after ${tries}${asBefore}`
      : `${SMOKE_CADENCE} ${last!.verdict} after ${tries} (${final.newFailures.join(', ')} failing${final.newFailures.length < final.failing.length ? ', not before the deploy' : ''})${asBefore}`,
    cadence: SMOKE_CADENCE,
    verdict: last!.verdict,
    results: last!.results,
    attempts,
    maxAttempts,
    intervalMs,
    markdown: last!.markdown,
    totalMs: Date.now() - started,
    failingBefore,
  };
}
