/**
 * The `component:<x>` label of an incident, derived from its check id
 * (`<cadence>.<check>[.<instance>]`): the first rule whose check name matches wins; a check name
 * without a rule is its own component. Keep this table in step with the checks (runbook/).
 *
 * | check names                                                        | component |
 * | ------------------------------------------------------------------ | --------- |
 * | broker-uptime, tls-expiry, broker-errors, vm-capacity               | broker    |
 * | ingest-canary, function-health, dead-letters, function-errors,      | ingest    |
 * | bridge-backlog (delivery to ingest, like the canary)               |           |
 * | endpoints, dashboard                                                | dashboard |
 * | backup-freshness, restore-test, database                            | database  |
 * | cost-burn, ai-spend                                                 | cost      |
 * | top-tenants, pricing-review                                         | tenants   |
 * | failed-workflows, uptime-heartbeat                                  | ops       |
 * | error-logs                                                          | logs      |
 */
const RULES: [RegExp, string][] = [
  [/^(broker-uptime|tls-expiry|broker-errors|bridge-errors|vm-capacity|vm-)/, 'broker'],
  [/^(ingest-canary|function-health|dead-letters|function-errors|bridge-backlog|ingest)/, 'ingest'],
  [/^(endpoints|dashboard)/, 'dashboard'],
  [/^(backup-freshness|restore-test|backup|database|supabase)/, 'database'],
  [/^(cost-burn|ai-spend|cost)/, 'cost'],
  [/^(top-tenants|pricing-review)/, 'tenants'],
  [/^(failed-workflows|uptime-heartbeat|heartbeat)/, 'ops'],
  [/^error-logs/, 'logs'],
];

export function componentOf(checkId: string): string {
  const parts = checkId.split('.');
  // `daily.broker-uptime.tls` -> `broker-uptime`; an id without a cadence prefix is taken whole.
  const name = (parts.length > 1 ? parts[1] : parts[0]) ?? checkId;
  for (const [pattern, component] of RULES) if (pattern.test(name)) return component;
  return name.toLowerCase().replace(/[^a-z0-9-]+/g, '-') || 'unknown';
}
