import type pg from 'pg';
import type { Clock } from './clock.js';

export interface RegisteredDevice {
  id: string;
  deviceKey: string;
  tenantId: string;
  tenantSlug: string;
  deviceStatus: 'active' | 'disabled';
  tenantStatus: 'active' | 'suspended';
  planId: string;
  maxMessagesPerDay: number;
}

/**
 * The device registry as ingest sees it, cached briefly: a disabled device stops being accepted
 * within `ttlMs`; unknown keys are cached too (shorter) so a flood from an unknown device costs
 * one query per interval, not one per message.
 */
export class DeviceRegistry {
  private readonly cache = new Map<string, { device: RegisteredDevice | null; expires: number }>();

  constructor(
    private readonly pool: pg.Pool,
    private readonly clock: Clock,
    private readonly ttlMs = 10_000,
    private readonly negativeTtlMs = 5_000,
  ) {}

  async lookup(keys: Iterable<string>): Promise<Map<string, RegisteredDevice | null>> {
    const now = this.clock();
    const result = new Map<string, RegisteredDevice | null>();
    const missing: string[] = [];
    for (const key of new Set(keys)) {
      const hit = this.cache.get(key);
      if (hit && hit.expires > now) result.set(key, hit.device);
      else missing.push(key);
    }
    if (missing.length === 0) return result;
    const rows = await this.pool.query<RegisteredDevice>(
      `select d.id, d.device_key as "deviceKey", d.tenant_id as "tenantId", t.slug as "tenantSlug",
              d.status as "deviceStatus", t.status as "tenantStatus", t.plan_id as "planId",
              p.max_messages_per_day::float8 as "maxMessagesPerDay"
         from public.devices d
         join public.tenants t on t.id = d.tenant_id
         join public.plans p on p.id = t.plan_id
        where d.device_key = any($1::text[])`,
      [missing],
    );
    const found = new Map(rows.rows.map((r) => [r.deviceKey, r]));
    for (const key of missing) {
      const device = found.get(key) ?? null;
      this.cache.set(key, { device, expires: now + (device ? this.ttlMs : this.negativeTtlMs) });
      result.set(key, device);
    }
    return result;
  }
}
