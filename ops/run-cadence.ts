/**
 * One cadence run: plan its checks for the environment, run them with progress, render the
 * report and write it under `reportDir`. Shared by `npm run ops`, `npm start` and the actions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planCadence, type Cadence } from './cadences.js';
import type { OpsTarget } from './config/ops-target.js';
import { loadRunbookConfig, type RunbookConfig } from './config/runbook-config.js';
import type { CheckResult, CheckStatus } from './engine/check.js';
import { checkProgress } from './engine/progress.js';
import { runChecks } from './engine/run-checks.js';
import { renderMarkdown, verdict } from './report/render-markdown.js';

export interface CadenceRun {
  cadence: Cadence;
  environment: string;
  verdict: CheckStatus;
  results: CheckResult[];
  markdown: string;
  /** Where the report was written. */
  file: string;
}

export interface RunCadenceOptions {
  reportDir: string;
  runbook?: RunbookConfig;
  now?: () => number;
  progress?: (line: string) => void;
  /** Time budget per check (default: the engine's). */
  timeoutMs?: number;
  /** Extra Markdown after the checks (the incident reconcile's summary). */
  appendix?: (results: CheckResult[]) => Promise<string>;
}

export async function runCadence(
  cadence: Cadence,
  target: OpsTarget,
  options: RunCadenceOptions,
): Promise<CadenceRun> {
  const now = options.now ?? Date.now;
  const progress = options.progress ?? (() => undefined);
  const runbook = options.runbook ?? loadRunbookConfig();
  const plan = planCadence(cadence, target, runbook);
  progress(`${cadence} on ${target.name}: ${plan.checks.length} checks`);
  let results: CheckResult[];
  try {
    results = await runChecks(plan.checks, {
      now,
      timeoutMs: options.timeoutMs,
      onProgress: checkProgress(plan.checks.length, progress),
    });
  } finally {
    await plan.close();
  }
  // Nothing a source echoed back (a URL with a password, a key in an error) reaches the report.
  results = results.map((r) => redactResult(r, target.secrets.redact));
  const at = new Date(now());
  let markdown = renderMarkdown({ title: `${cadence} checks (${target.name})`, at, results });
  if (options.appendix) markdown += `\n${await options.appendix(results)}`;
  markdown = target.secrets.redact(markdown);
  await mkdir(options.reportDir, { recursive: true });
  const file = join(
    options.reportDir,
    `${cadence}-${target.name}-${at.toISOString().replace(/[:.]/g, '-')}.md`,
  );
  await writeFile(file, markdown);
  return { cadence, environment: target.name, verdict: verdict(results), results, markdown, file };
}

function redactResult(r: CheckResult, redact: (text: string) => string): CheckResult {
  return { ...r, summary: redact(r.summary), evidence: r.evidence.map(redact) };
}
