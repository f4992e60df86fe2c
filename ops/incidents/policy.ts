/** When incidents open and close (flap protection) and how many one run may open. */

export interface IncidentPolicy {
  /** Consecutive failing runs before an issue opens (N). */
  openAfter: number;
  /** Consecutive passing runs before an open issue closes (M). */
  closeAfter: number;
  /** Whether `warn` counts as a failure; by default it counts as a pass (below the incident bar). */
  warnIsFailure: boolean;
  /** Issues one run may open; the rest are held back (and open on a later run if still failing). */
  maxOpenedPerRun: number;
}

export const DEFAULT_INCIDENT_POLICY: Readonly<IncidentPolicy> = Object.freeze({
  openAfter: 2,
  closeAfter: 2,
  warnIsFailure: false,
  maxOpenedPerRun: 5,
});

/** The default policy with `overrides` applied; throws a clear error on a bad value. */
export function incidentPolicy(overrides: Partial<IncidentPolicy> = {}): IncidentPolicy {
  const policy = { ...DEFAULT_INCIDENT_POLICY, ...overrides };
  const problems: string[] = [];
  const positive = (name: keyof IncidentPolicy, min: number) => {
    const v = policy[name];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > 1000)
      problems.push(`${name} must be an integer from ${min} to 1000 (got ${JSON.stringify(v)})`);
  };
  positive('openAfter', 1);
  positive('closeAfter', 1);
  positive('maxOpenedPerRun', 0);
  if (typeof policy.warnIsFailure !== 'boolean')
    problems.push(`warnIsFailure must be true or false (got ${JSON.stringify(policy.warnIsFailure)})`);
  const unknown = Object.keys(overrides).filter((k) => !(k in DEFAULT_INCIDENT_POLICY));
  if (unknown.length) problems.push(`unknown incident policy option(s): ${unknown.join(', ')}`);
  if (problems.length) throw new Error(`invalid incident policy: ${problems.join('; ')}`);
  return policy;
}
