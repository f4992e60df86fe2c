/**
 * Loading alert rules, and the per-tenant cache that keeps evaluateAcceptedBatch free of queries
 * for tenants without rules (it runs on every ingest batch).
 */
import type pg from 'pg';
import type { AlertRule, Channel, Operator, RuleKind, AlertSeverity, ThresholdRule } from './types.js';

/** The enabled rules of one tenant, split by kind. */
export interface TenantRules {
  threshold: ThresholdRule[];
  noData: AlertRule[];
}

export const NO_RULES: TenantRules = Object.freeze({ threshold: [], noData: [] }) as TenantRules;

interface RuleRow {
  id: string;
  tenant_id: string;
  tenant_slug: string;
  name: string;
  device_id: string | null;
  kind: RuleKind;
  metric: string | null;
  operator: Operator | null;
  threshold: number | null;
  clear_threshold: number | null;
  for_seconds: number;
  cooldown_seconds: number;
  no_data_seconds: number | null;
  severity: AlertSeverity;
  channels: unknown;
}

/** Columns of alert_rules (aliased `r`) and tenants (aliased `t`) that `ruleFromRow` reads. */
export const RULE_COLUMNS = `r.id, r.tenant_id, t.slug as tenant_slug, r.name, r.device_id, r.kind, r.metric, r.operator,
  r.threshold, r.clear_threshold, r.for_seconds, r.cooldown_seconds, r.no_data_seconds, r.severity, r.channels`;

/** Keeps the channels this engine can deliver to; anything else is ignored. */
export function parseChannels(raw: unknown): Channel[] {
  if (!Array.isArray(raw)) return [];
  const out: Channel[] = [];
  for (const entry of raw) {
    if (entry === null || typeof entry !== 'object') continue;
    const c = entry as Record<string, unknown>;
    if (c.type === 'mqtt') out.push({ type: 'mqtt' });
    else if (c.type === 'webhook' && typeof c.url === 'string' && /^https?:\/\//i.test(c.url)) {
      out.push({ type: 'webhook', url: c.url });
    }
  }
  return out;
}

export function ruleFromRow(row: RuleRow): AlertRule {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    tenantSlug: row.tenant_slug,
    name: row.name,
    deviceId: row.device_id,
    kind: row.kind,
    metric: row.metric,
    operator: row.operator,
    threshold: row.threshold,
    clearThreshold: row.clear_threshold,
    forSeconds: row.for_seconds,
    cooldownSeconds: row.cooldown_seconds,
    noDataSeconds: row.no_data_seconds,
    severity: row.severity,
    channels: parseChannels(row.channels),
  };
}

export function isThresholdRule(rule: AlertRule): rule is ThresholdRule {
  return (
    rule.kind === 'threshold' && rule.metric !== null && rule.operator !== null && rule.threshold !== null
  );
}

/** One query: the enabled rules of the given tenants (tenants without rules map to NO_RULES). */
export async function loadRules(
  pool: pg.Pool,
  tenantIds: readonly string[],
): Promise<Map<string, TenantRules>> {
  const result = new Map<string, TenantRules>();
  for (const id of tenantIds) result.set(id, { threshold: [], noData: [] });
  if (tenantIds.length === 0) return result;
  const res = await pool.query<RuleRow>(
    `select ${RULE_COLUMNS}
       from public.alert_rules r join public.tenants t on t.id = r.tenant_id
      where r.tenant_id = any($1::uuid[]) and r.enabled and t.status = 'active'
      order by r.tenant_id, r.id`,
    [tenantIds],
  );
  for (const row of res.rows) {
    const rule = ruleFromRow(row);
    const bucket = result.get(rule.tenantId);
    if (!bucket) continue;
    if (isThresholdRule(rule)) bucket.threshold.push(rule);
    else if (rule.kind === 'no_data' && rule.noDataSeconds !== null) bucket.noData.push(rule);
  }
  for (const [id, rules] of result) {
    if (rules.threshold.length === 0 && rules.noData.length === 0) result.set(id, NO_RULES);
  }
  return result;
}

export interface RuleCacheOptions {
  /** How long a tenant's rules are reused (default 5000 ms): rule edits take effect after this. */
  ttlMs?: number;
  /** Milliseconds clock (default Date.now); injectable for tests. */
  clock?: () => number;
  /** The loader (default loadRules); one call per miss, for every missing tenant of the batch. */
  load?: (pool: pg.Pool, tenantIds: readonly string[]) => Promise<Map<string, TenantRules>>;
}

interface Entry {
  rules: TenantRules;
  expiresAt: number;
}

/**
 * Per-tenant rule cache. A batch's tenants that are cached and fresh cost nothing; the missing ones
 * are loaded together in one query. Concurrent misses for the same tenant share the load.
 */
export class RuleCache {
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private readonly load: (pool: pg.Pool, tenantIds: readonly string[]) => Promise<Map<string, TenantRules>>;
  private readonly entries = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Map<string, TenantRules>>>();

  constructor(options: RuleCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 5000;
    this.clock = options.clock ?? Date.now;
    this.load = options.load ?? loadRules;
  }

  async get(pool: pg.Pool, tenantIds: readonly string[]): Promise<Map<string, TenantRules>> {
    const now = this.clock();
    const out = new Map<string, TenantRules>();
    const missing: string[] = [];
    const waits: Array<Promise<void>> = [];
    for (const id of new Set(tenantIds)) {
      const entry = this.entries.get(id);
      if (entry && entry.expiresAt > now) {
        out.set(id, entry.rules);
        continue;
      }
      const pending = this.inflight.get(id);
      if (pending) {
        waits.push(pending.then((m) => void out.set(id, m.get(id) ?? NO_RULES)));
        continue;
      }
      missing.push(id);
    }
    if (missing.length > 0) {
      const loading = this.load(pool, missing);
      for (const id of missing) this.inflight.set(id, loading);
      try {
        const loaded = await loading;
        const expiresAt = this.clock() + this.ttlMs;
        if (this.entries.size > 10_000) this.prune();
        for (const id of missing) {
          const rules = loaded.get(id) ?? NO_RULES;
          this.entries.set(id, { rules, expiresAt });
          out.set(id, rules);
        }
      } finally {
        for (const id of missing) if (this.inflight.get(id) === loading) this.inflight.delete(id);
      }
    }
    await Promise.all(waits);
    return out;
  }

  /** Forgets one tenant's rules (or all): for a process that edits rules and evaluates too. */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined) this.entries.clear();
    else this.entries.delete(tenantId);
  }

  private prune(): void {
    const now = this.clock();
    for (const [id, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(id);
  }
}
