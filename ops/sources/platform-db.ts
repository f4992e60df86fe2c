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
  /** AI tokens and cost per tenant and model from the ledger, in [from, to). */
  aiUsage(from: Date, to: Date): Promise<AiUsage[]>;
  /** Each active tenant's plan limits against its devices now and its busiest day in [from, to). */
  planUse(from: Date, to: Date): Promise<TenantPlanUse[]>;
}

export function createPlatformDbSource(pool: pg.Pool): PlatformDbSource {
  return {
    async deadLetters(from, to) {
      const res = await pool.query<{ reason: string; tenant: string | null; count: number }>(
        `select r.reason, t.slug as tenant, count(*)::int as count
           from public.ingest_rejects r left join public.tenants t on t.id = r.tenant_id
          where r.created_at >= $1 and r.created_at < $2
          group by r.reason, t.slug
          order by count desc, r.reason, t.slug`,
        [from, to],
      );
      return res.rows;
    },
    async tenantUsage(from, to) {
      const res = await pool.query<TenantUsage>(
        `select t.slug as tenant, sum(u.messages)::float8 as messages, sum(u.bytes)::float8 as bytes,
                count(distinct u.device_id)::int as devices
           from public.usage_hourly u join public.tenants t on t.id = u.tenant_id
          where u.hour >= $1 and u.hour < $2
          group by t.slug
          order by messages desc, t.slug`,
        [from, to],
      );
      return res.rows;
    },
    async aiUsage(from, to) {
      const res = await pool.query<AiUsage>(
        `select t.slug as tenant, a.model, sum(a.input_tokens + a.output_tokens)::float8 as tokens,
                sum(a.cost_usd)::float8 as "costUsd", p.ai_tokens_per_month::float8 as allowance
           from public.ai_usage a
           join public.tenants t on t.id = a.tenant_id
           join public.plans p on p.id = t.plan_id
          where a.occurred_at >= $1 and a.occurred_at < $2
          group by t.slug, a.model, p.ai_tokens_per_month
          order by tokens desc, t.slug, a.model`,
        [from, to],
      );
      return res.rows;
    },
    async planUse(from, to) {
      const res = await pool.query<TenantPlanUse>(
        `with daily as (
           select tenant_id, date_trunc('day', hour at time zone 'utc') as day, sum(messages) as n
             from public.usage_hourly where hour >= $1 and hour < $2 group by 1, 2
         )
         select t.slug as tenant, p.id as plan, p.monthly_price_cents as "monthlyPriceCents",
                p.max_devices as "maxDevices",
                (select count(*)::int from public.devices d where d.tenant_id = t.id and d.status = 'active') as devices,
                p.max_messages_per_day::float8 as "maxMessagesPerDay",
                coalesce((select max(n)::float8 from daily where daily.tenant_id = t.id), 0) as "peakMessagesPerDay"
           from public.tenants t join public.plans p on p.id = t.plan_id
          where t.status = 'active'
          order by t.slug`,
        [from, to],
      );
      return res.rows;
    },
  };
}
