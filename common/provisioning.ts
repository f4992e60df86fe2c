/**
 * Registry writes as the platform's server side does them (service role / owner connection):
 * plans, tenants, devices. Used by the sandbox seed, tests and benchmarks. Device secrets are never
 * stored: callers pass the Mosquitto hash (broker/password-hash.ts).
 */
import type pg from 'pg';
import { assertDeviceKey } from './topics.js';

export interface PlanSpec {
  id: string;
  name: string;
  maxDevices: number;
  maxMessagesPerDay: number;
  retentionDays: number;
  aiTokensPerMonth: number;
  monthlyPriceCents: number;
}

export async function upsertPlan(db: pg.ClientBase | pg.Pool, plan: PlanSpec): Promise<void> {
  await db.query(
    `insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (id) do update set name = excluded.name, max_devices = excluded.max_devices,
       max_messages_per_day = excluded.max_messages_per_day, retention_days = excluded.retention_days,
       ai_tokens_per_month = excluded.ai_tokens_per_month, monthly_price_cents = excluded.monthly_price_cents`,
    [
      plan.id,
      plan.name,
      plan.maxDevices,
      plan.maxMessagesPerDay,
      plan.retentionDays,
      plan.aiTokensPerMonth,
      plan.monthlyPriceCents,
    ],
  );
}

export async function createTenant(
  db: pg.ClientBase | pg.Pool,
  tenant: { slug: string; name: string; planId: string },
): Promise<string> {
  const res = await db.query<{ id: string }>(
    `insert into public.tenants (slug, name, plan_id) values ($1, $2, $3)
     on conflict (slug) do update set name = excluded.name, plan_id = excluded.plan_id returning id`,
    [tenant.slug, tenant.name, tenant.planId],
  );
  return res.rows[0]!.id;
}

export async function createDevice(
  db: pg.ClientBase | pg.Pool,
  device: {
    tenantId: string;
    deviceKey: string;
    name?: string;
    credentialHash: string;
    status?: 'active' | 'disabled';
  },
): Promise<string> {
  // The key is the device's MQTT username and client id: a reserved one could take over a service's session.
  assertDeviceKey(device.deviceKey);
  const res = await db.query<{ id: string }>(
    `insert into public.devices (tenant_id, device_key, name, credential_hash, status) values ($1, $2, $3, $4, $5)
     on conflict (device_key) do update set credential_hash = excluded.credential_hash, status = excluded.status
       where public.devices.tenant_id = excluded.tenant_id
     returning id`,
    [
      device.tenantId,
      device.deviceKey,
      device.name ?? device.deviceKey,
      device.credentialHash,
      device.status ?? 'active',
    ],
  );
  if (!res.rows[0]) throw new Error(`device key ${device.deviceKey} already belongs to another tenant`);
  return res.rows[0].id;
}

export async function setTenantRateLimit(
  db: pg.ClientBase | pg.Pool,
  tenantId: string,
  limit: { perSecond: number; burst: number; reason?: string },
): Promise<void> {
  await db.query(
    `insert into ops.tenant_rate_limits (tenant_id, per_second, burst, reason) values ($1, $2, $3, $4)
     on conflict (tenant_id) do update set per_second = excluded.per_second, burst = excluded.burst,
       reason = excluded.reason, updated_at = now()`,
    [tenantId, limit.perSecond, limit.burst, limit.reason ?? ''],
  );
}

export async function setMaintenance(
  db: pg.ClientBase | pg.Pool,
  mode: { enabled: boolean; reason?: string; retryAfterSeconds?: number },
): Promise<void> {
  await db.query(`update ops.settings set value = $1, updated_at = now() where key = 'maintenance'`, [
    JSON.stringify({
      enabled: mode.enabled,
      reason: mode.reason ?? '',
      retryAfterSeconds: mode.retryAfterSeconds ?? 60,
    }),
  ]);
}
