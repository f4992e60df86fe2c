import type pg from 'pg';
import type { Clock } from './clock.js';

/**
 * Messages accepted today (UTC) per tenant, for the plan's messages/day quota. Loaded from the
 * hourly rollup at most every `refreshMs`; between loads this instance adds what it accepted.
 */
export class DailyQuota {
  private used = new Map<string, number>();
  private day = '';
  private expires = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly refreshMs = 5_000,
  ) {}

  async refresh(): Promise<void> {
    const now = this.clock();
    const day = new Date(now).toISOString().slice(0, 10);
    if (day === this.day && now < this.expires) return;
    const res = await this.pool.query<{ tenant_id: string; n: number }>(
      `select tenant_id, sum(messages)::float8 as n from public.usage_hourly
        where hour >= $1::date::timestamp at time zone 'UTC' group by tenant_id`,
      [day],
    );
    this.used = new Map(res.rows.map((r) => [r.tenant_id, r.n]));
    this.day = day;
    this.expires = now + this.refreshMs;
  }

  usedToday(tenantId: string): number {
    return this.used.get(tenantId) ?? 0;
  }

  add(tenantId: string, count: number): void {
    this.used.set(tenantId, this.usedToday(tenantId) + count);
  }
}
