/**
 * Go-live: the archive of old telemetry runs, or is explicitly disabled with a reason (the
 * operator's current state: the Blob archive is off). An environment that says nothing fails: the go-live
 * checklist wants a decision, not a default.
 */
import type { ArchiveConfig } from '../config/environment-config.js';
import type { Check } from '../engine/check.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const ARCHIVE_STATUS_TITLE = 'Telemetry archive running or explicitly disabled';

export function archiveStatusCheck(options: {
  environment: string;
  archive: ArchiveConfig | undefined;
}): Check {
  return {
    id: 'golive.archive',
    title: ARCHIVE_STATUS_TITLE,
    severity: 'low',
    playbook: null,
    async run() {
      const a = options.archive;
      if (!a) {
        return {
          status: 'fail',
          summary: `no archive decision: add archive (mode: disabled, reason) to runbook/environments/${options.environment}.yaml`,
        };
      }
      // Whether the enabled archive really ran is read from the database by the archive's own checks.
      return {
        status: 'ok',
        summary:
          a.mode === 'disabled'
            ? `explicitly disabled: ${a.reason}`
            : a.mode === 'enabled'
              ? `enabled: telemetry past retention is archived to container ${a.container}`
              : `purging without archive: ${a.reason}`,
        evidence: [`archive.mode = ${a.mode}`],
      };
    },
  };
}
