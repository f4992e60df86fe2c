/**
 * The one owner of check statuses and how bad each is: the report's verdict, the incident plan
 * (a fingerprint's worst result), the CLI's exit code and checks that combine several findings
 * all rank through here, so they cannot disagree.
 */

/** Best to worst. `error` (the check could not tell) ranks below `fail` (it could, and it is bad). */
export const CHECK_STATUSES = ['skipped', 'ok', 'warn', 'error', 'fail'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** Worst first, for listings (verdict line, counts). */
export const STATUSES_WORST_FIRST: readonly CheckStatus[] = [...CHECK_STATUSES].reverse();

export function statusRank(status: CheckStatus): number {
  return CHECK_STATUSES.indexOf(status);
}

/** True when `status` is as bad as `threshold` or worse. */
export function atLeast(status: CheckStatus, threshold: CheckStatus): boolean {
  return statusRank(status) >= statusRank(threshold);
}

/** The worst of `statuses`, or `empty` when there are none. */
export function worstStatus<S extends CheckStatus>(statuses: Iterable<S>, empty: S): S {
  let worst: S | undefined;
  for (const s of statuses) if (worst === undefined || statusRank(s) > statusRank(worst)) worst = s;
  return worst ?? empty;
}
