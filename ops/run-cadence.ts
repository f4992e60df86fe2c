/**
 * One cadence run on the local sandbox: plan its checks, run them, render the report and write
 * it under `reportDir`. Shared by `npm run ops` and `npm start`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalEnv } from '../common/local-env.js';
import { planLocalCadence, type Cadence } from './cadences.js';
import type { CheckResult, CheckStatus } from './engine/check.js';
import { runChecks } from './engine/run-checks.js';
import { renderMarkdown, verdict } from './report/render-markdown.js';

export interface CadenceRun {
  cadence: Cadence;
  verdict: CheckStatus;
  results: CheckResult[];
  markdown: string;
  /** Where the report was written. */
  file: string;
}

export async function runLocalCadence(
  cadence: Cadence,
  env: LocalEnv,
  options: { reportDir: string; now?: () => number; progress?: (line: string) => void },
): Promise<CadenceRun> {
  const now = options.now ?? Date.now;
  const progress = options.progress ?? (() => undefined);
  const plan = planLocalCadence(cadence, env);
  let results: CheckResult[];
  try {
    results = await runChecks(plan.checks, {
      now,
      onProgress: (e) =>
        progress(
          e.phase === 'start'
            ? `${e.check.id} ...`
            : `${e.result.id}: ${e.result.status} (${e.result.durationMs} ms)`,
        ),
    });
  } finally {
    await plan.close();
  }
  const at = new Date(now());
  const markdown = renderMarkdown({ title: `${cadence} checks (local)`, at, results });
  await mkdir(options.reportDir, { recursive: true });
  const file = join(options.reportDir, `${cadence}-local-${at.toISOString().replace(/[:.]/g, '-')}.md`);
  await writeFile(file, markdown);
  return { cadence, verdict: verdict(results), results, markdown, file };
}
