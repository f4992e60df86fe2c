import type pg from 'pg';
import type { Clock } from './clock.js';
import type { RateLimit } from './rate-limiter.js';

export interface MaintenanceMode {
  enabled: boolean;
  reason: string;
  retryAfterSeconds: number;
}

export interface OpsSettingsSnapshot {
  maintenance: MaintenanceMode;
  defaultRateLimit: RateLimit;
  tenantRateLimits: Map<string, RateLimit>;
}

const FALLBACK: OpsSettingsSnapshot = {
  maintenance: { enabled: false, reason: '', retryAfterSeconds: 60 },
  defaultRateLimit: { perSecond: 200, burst: 1000 },
  tenantRateLimits: new Map(),
};

/** Reads ops.settings and ops.tenant_rate_limits, cached for `ttlMs` (operators' changes apply within it). */
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
    const [settings, limits] = await Promise.all([
      this.pool.query<{ key: string; value: Record<string, unknown> }>(
        `select key, value from ops.settings where key in ('maintenance', 'default_rate_limit')`,
      ),
      this.pool.query<{ tenant_id: string; per_second: number; burst: number }>(
        `select tenant_id, per_second, burst from ops.tenant_rate_limits`,
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
    };
    this.snapshot = snapshot;
    this.expires = this.clock() + this.ttlMs;
    return snapshot;
  }
}

function positive(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
