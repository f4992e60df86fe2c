/**
 * The platform's own database as the ops checks read it: rollups and indexed recent rows only,
 * never a scan of raw telemetry (the checks must stay fast at millions of rows). Connects with a
 * role that bypasses RLS (the service role).
 */
import type pg from 'pg';

export interface DeadLetterCount {
  reason: string;
  /** Tenant slug; null for messages that could not be attributed (unknown device, bad topic). */
  tenant: string | null;
  count: number;
}

export interface TenantUsage {
  tenant: string;
  messages: number;
  bytes: number;
  /** Devices that sent at least one accepted message in the window. */
  devices: number;
}

export interface AiUsage {
  tenant: string;
  model: string;
  tokens: number;
  costUsd: number;
  /** The tenant's plan allowance (`plans.ai_tokens_per_month`). */
  allowance: number;
}

export interface TenantPlanUse {
  tenant: string;
  plan: string;
  monthlyPriceCents: number;
  maxDevices: number;
  /** Active devices now. */
  devices: number;
  maxMessagesPerDay: number;
  /** The busiest UTC day's accepted messages in the window. */
  peakMessagesPerDay: number;
}

export interface PlatformDbSource {
  /** Dead letters received in [from, to), by reason and tenant. */
  deadLetters(from: Date, to: Date): Promise<DeadLetterCount[]>;
  /** Accepted messages per tenant from the hourly rollup, hours in [from, to). */
  tenantUsage(from: Date, to: Date): Promise<TenantUsage[]>;
  /** AI tokens and cost per tenant and model from the daily rollup, UTC days from `from`'s through `to`'s. */
  aiUsage(from: Date, to: Date): Promise<AiUsage[]>;
  /** Each active tenant's plan limits against its devices now and its busiest day in [from, to). */
  planUse(from: Date, to: Date): Promise<TenantPlanUse[]>;
}

/**
 * The queries, by method, each taking [from, to]: exported so `bench:ops` EXPLAINs exactly what
 * the checks run.
 */
export const PLATFORM_DB_QUERIES = {
  deadLetters: `select r.reason, t.slug as tenant, count(*)::int as count
      from public.ingest_rejects r left join public.tenants t on t.id = r.tenant_id
     where r.created_at >= $1 and r.created_at < $2
     group by r.reason, t.slug
     order by count desc, r.reason, t.slug`,
  // Per device first, then per tenant: two small hash aggregates instead of a sort of every
  // rollup row for count(distinct) (which spilled to disk over 7 days at 1,000 devices).
  tenantUsage: `with per_device as (
       select tenant_id, device_id, sum(messages) as messages, sum(bytes) as bytes
         from public.usage_hourly
        where hour >= $1 and hour < $2
        group by tenant_id, device_id
     ), per_tenant as (
       select tenant_id, sum(messages) as messages, sum(bytes) as bytes, count(*) as devices
         from per_device group by tenant_id
     )
     select t.slug as tenant, u.messages::float8 as messages, u.bytes::float8 as bytes, u.devices::int as devices
       from per_tenant u join public.tenants t on t.id = u.tenant_id
      order by u.messages desc, t.slug`,
  // The daily rollup the ledger's trigger keeps (migration 20261127000004), by UTC day.
  aiUsage: `select t.slug as tenant, a.model, sum(a.input_tokens + a.output_tokens)::float8 as tokens,
           sum(a.cost_usd)::float8 as "costUsd", p.ai_tokens_per_month::float8 as allowance
      from public.ai_usage_daily a
      join public.tenants t on t.id = a.tenant_id
      join public.plans p on p.id = t.plan_id
     where a.day >= ($1::timestamptz at time zone 'utc')::date
       and a.day <= ($2::timestamptz at time zone 'utc')::date
     group by t.slug, a.model, p.ai_tokens_per_month
     order by tokens desc, t.slug, a.model`,
  // One pass over the window's rollup rows (hash aggregate by tenant and UTC day) joined to the
  // tenants, not a correlated sub-query per tenant.
  planUse: `with daily as (
       select tenant_id, date_trunc('day', hour at time zone 'utc') as day, sum(messages) as n
         from public.usage_hourly where hour >= $1 and hour < $2 group by 1, 2
     ), peak as (
       select tenant_id, max(n) as n from daily group by tenant_id
     ), active_devices as (
       select tenant_id, count(*) as n from public.devices where status = 'active' group by tenant_id
     )
     select t.slug as tenant, p.id as plan, p.monthly_price_cents as "monthlyPriceCents",
            p.max_devices as "maxDevices", coalesce(d.n, 0)::int as devices,
            p.max_messages_per_day::float8 as "maxMessagesPerDay",
            coalesce(k.n, 0)::float8 as "peakMessagesPerDay"
       from public.tenants t join public.plans p on p.id = t.plan_id
       left join peak k on k.tenant_id = t.id
       left join active_devices d on d.tenant_id = t.id
      where t.status = 'active'
      order by t.slug`,
} as const satisfies Record<keyof PlatformDbSource, string>;

export function createPlatformDbSource(pool: pg.Pool): PlatformDbSource {
  const rows = async <T extends pg.QueryResultRow>(sql: string, from: Date, to: Date) =>
    (await pool.query<T>(sql, [from, to])).rows;
  return {
    deadLetters: (from, to) => rows<DeadLetterCount>(PLATFORM_DB_QUERIES.deadLetters, from, to),
    tenantUsage: (from, to) => rows<TenantUsage>(PLATFORM_DB_QUERIES.tenantUsage, from, to),
    aiUsage: (from, to) => rows<AiUsage>(PLATFORM_DB_QUERIES.aiUsage, from, to),
    planUse: (from, to) => rows<TenantPlanUse>(PLATFORM_DB_QUERIES.planUse, from, to),
  };
}
