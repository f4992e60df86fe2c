/**
 * The one owner of incident severities (runbook.yaml's `severity`, the `severity:` labels, the
 * order in which incidents open under the per-run cap). Not the tenants' alert-rule severities
 * (functions/src/alerts, `info | warning | critical`), which are a database column of another domain.
 */

/** Least to most severe. */
export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}
