import type pg from 'pg';
import type { Clock } from './clock.js';
import type { RateLimit } from './rate-limiter.js';
import type { TenantPayloadLimit } from './tenant-payload-limits.js';

export interface MaintenanceMode {
  enabled: boolean;
  reason: string;
  retryAfterSeconds: number;
}

export interface OpsSettingsSnapshot {
  maintenance: MaintenanceMode;
  defaultRateLimit: RateLimit;
  tenantRateLimits: Map<string, RateLimit>;
  /** The payload caps in force (not expired at load time), by tenant id. */
  tenantPayloadLimits: Map<string, TenantPayloadLimit>;
}

const FALLBACK: OpsSettingsSnapshot = {
  maintenance: { enabled: false, reason: '', retryAfterSeconds: 60 },
  defaultRateLimit: { perSecond: 200, burst: 1000 },
  tenantRateLimits: new Map(),
  tenantPayloadLimits: new Map(),
};

/**
 * Reads ops.settings, ops.tenant_rate_limits and ops.tenant_payload_limits, cached for `ttlMs`
 * (operators' changes, and a payload cap's expiry, apply within it).
 */
export class OpsSettings {
  private snapshot: OpsSettingsSnapshot | null = null;
  private expires = 0;
  private loading: Promise<OpsSettingsSnapshot> | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly ttlMs = 5_000,
  ) {}

  async get(): Promise<OpsSettingsSnapshot> {
    if (this.snapshot && this.clock() < this.expires) return this.snapshot;
    this.loading ??= this.load().finally(() => (this.loading = null));
    return this.loading;
  }

  private async load(): Promise<OpsSettingsSnapshot> {
    const [settings, limits, caps] = await Promise.all([
      this.pool.query<{ key: string; value: Record<string, unknown> }>(
        `select key, value from ops.settings where key in ('maintenance', 'default_rate_limit')`,
      ),
      this.pool.query<{ tenant_id: string; per_second: number; burst: number }>(
        `select tenant_id, per_second, burst from ops.tenant_rate_limits`,
      ),
      // In force by ingest's clock, the one it validates timestamps and counts quotas by.
      this.pool.query<{
        tenant_id: string;
        max_metrics: number | null;
        max_string_length: number | null;
        reason: string;
      }>(
        `select tenant_id, max_metrics, max_string_length, reason from ops.tenant_payload_limits
          where expires_at is null or expires_at > $1`,
        [new Date(this.clock())],
      ),
    ]);
    const byKey = new Map(settings.rows.map((r) => [r.key, r.value]));
    const m = byKey.get('maintenance') ?? {};
    const d = byKey.get('default_rate_limit') ?? {};
    const snapshot: OpsSettingsSnapshot = {
      maintenance: {
        enabled: m.enabled === true,
        reason: typeof m.reason === 'string' ? m.reason : '',
        retryAfterSeconds: positive(m.retryAfterSeconds, FALLBACK.maintenance.retryAfterSeconds),
      },
      defaultRateLimit: {
        perSecond: positive(d.perSecond, FALLBACK.defaultRateLimit.perSecond),
        burst: positive(d.burst, FALLBACK.defaultRateLimit.burst),
      },
      tenantRateLimits: new Map(
        limits.rows.map((r) => [r.tenant_id, { perSecond: r.per_second, burst: r.burst }]),
      ),
      tenantPayloadLimits: new Map(
        caps.rows.map((r) => [
          r.tenant_id,
          { maxMetrics: r.max_metrics, maxStringLength: r.max_string_length, reason: r.reason },
        ]),
      ),
    };
    this.snapshot = snapshot;
    this.expires = this.clock() + this.ttlMs;
    return snapshot;
  }
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
