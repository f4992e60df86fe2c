/**
 * Runs checks one after another and always returns one result per check: a check that throws,
 * or outlives its time budget, is reported as `error` and the others still run.
 */
import type { Check, CheckResult } from './check.js';

export interface RunChecksOptions {
  now?: () => number;
  /** Time budget per check; the check's signal is aborted and the result is `error` after it. */
  timeoutMs?: number;
  /** Called before and after each check (progress output for long runs). */
  onProgress?: (event: { phase: 'start'; check: Check } | { phase: 'done'; result: CheckResult }) => void;
}

export async function runChecks(
  checks: readonly Check[],
  options: RunChecksOptions = {},
): Promise<CheckResult[]> {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const results: CheckResult[] = [];
  for (const check of checks) {
    options.onProgress?.({ phase: 'start', check });
    const started = now();
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const budgetMs = check.timeoutMs ?? timeoutMs;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(new Error(`no result within ${budgetMs / 1000} s`));
      }, budgetMs);
    });
    const base = {
      id: check.id,
      title: check.title,
      severity: check.severity,
      playbook: check.playbook,
      component: check.component ?? null,
    };
    let result: CheckResult;
    try {
      const outcome = await Promise.race([check.run({ now, signal: controller.signal }), timedOut]);
      result = {
        ...base,
        status: outcome.status,
        summary: outcome.summary,
        metrics: outcome.metrics ?? {},
        evidence: outcome.evidence ?? [],
        charts: outcome.charts ?? [],
        fingerprint: outcome.fingerprint ?? check.id,
        startedAt: new Date(started).toISOString(),
        durationMs: now() - started,
      };
    } catch (error) {
      result = {
        ...base,
        status: 'error',
        summary: `the check itself failed: ${error instanceof Error ? error.message : String(error)}`,
        metrics: {},
        evidence:
          error instanceof Error && error.stack ? [error.stack.split('\n').slice(0, 3).join(' | ')] : [],
        charts: [],
        fingerprint: check.id,
        startedAt: new Date(started).toISOString(),
        durationMs: now() - started,
      };
    } finally {
      clearTimeout(timer);
    }
    results.push(result);
    options.onProgress?.({ phase: 'done', result });
  }
  return results;
}
