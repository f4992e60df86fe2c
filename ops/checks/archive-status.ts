/**
 * Go-live: the archive of old telemetry runs, or is explicitly disabled with a reason (the
 * operator's current state: the Blob archive is off). An environment that says nothing fails: the
 * go-live checklist wants a decision, not a default. Enabled (or purging) is ok only when a run in
 * that mode finished within maxAgeHours without errors: the same facts as daily.archive
 * (ops/sources/archive-facts.ts), read only then, so a disabled archive needs no database.
 */
import type { ArchiveConfig } from '../config/environment-config.js';
import type { Check, CheckOutcome } from '../engine/check.js';
import type { ArchiveFactsSource } from '../sources/archive-facts.js';
import { describeRun, modeMismatch, runErrors } from './archive-health.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const ARCHIVE_STATUS_TITLE = 'Telemetry archive running or explicitly disabled';

const HOUR_MS = 3_600_000;

export function archiveStatusCheck(options: {
  environment: string;
  archive: ArchiveConfig | undefined;
  /** The facts, asked for only when the archive is not disabled. */
  facts: () => Pick<ArchiveFactsSource, 'read'>;
  /** A run older than this is no evidence that the archive runs (default 50: two nights). */
  maxAgeHours?: number;
}): Check {
  const maxAgeHours = options.maxAgeHours ?? 50;
  const yaml = `runbook/environments/${options.environment}.yaml`;
  return {
    id: 'golive.archive',
    title: ARCHIVE_STATUS_TITLE,
    severity: 'low',
    playbook: null,
    async run({ now }): Promise<CheckOutcome> {
      const a = options.archive;
      if (!a) {
        return {
          status: 'fail',
          summary: `no archive decision: add archive (mode: disabled, reason) to ${yaml}`,
        };
      }
      if (a.mode === 'disabled')
        return {
          status: 'ok',
          summary: `explicitly disabled: ${a.reason}`,
          evidence: ['archive.mode = disabled'],
        };

      const facts = await options.facts().read({ sampleDays: 1 });
      const last = facts.lastFinished;
      const evidence = [`archive.mode = ${a.mode}`];
      if (!last)
        return {
          status: 'fail',
          summary: `archive.mode is ${a.mode} but no archive run is recorded (ops.archive_runs): deploy archive_timer with ARCHIVE_MODE=${a.mode}`,
          evidence,
        };
      const at = now();
      const age = Math.round(((at - last.finishedAt!) / HOUR_MS) * 10) / 10;
      evidence.push(describeRun(last, at));
      const problems = [
        modeMismatch(last, a.mode, yaml),
        age > maxAgeHours ? `the last archive run finished ${age} h ago (more than ${maxAgeHours} h)` : null,
        last.errors.length ? runErrors(last) : null,
      ].filter((p): p is string => p !== null);
      const metrics = { last_run_age_hours: age, last_run_errors: last.errors.length };
      if (problems.length) return { status: 'fail', summary: problems.join('; '), metrics, evidence };
      return {
        status: 'ok',
        summary:
          a.mode === 'enabled'
            ? `enabled: the last run finished ${age} h ago without errors (${last.objectsVerified} object(s) verified into container ${a.container})`
            : `purging without archive (${a.reason}): the last run finished ${age} h ago without errors (${last.rowsRemoved} rows purged)`,
        metrics,
        evidence,
      };
    },
  };
}
