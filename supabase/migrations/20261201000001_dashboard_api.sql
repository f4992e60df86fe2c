-- What the tenant dashboard reads (docs/dashboard.md, "Data API (SQL)"): one view or function per
-- screen, so that each screen is one round trip through the Data API and RLS decides what it sees.
--
--   public.my_tenants          the tenant switcher: the caller's tenants, role and plan
--   public.dashboard_devices   devices: last seen, online, last values, 24 h sparkline
--   public.device_series()     device detail: one metric over a range (raw <= 24 h, else hourly)
--   public.dashboard_alerts    alerts: open / acknowledged / resolved, rule, device, who acked
--   public.acknowledge_alert() the acknowledge button
--   public.dashboard_usage     usage vs plan: devices, messages today, storage estimate
--   public.platform_status     the maintenance banner (ops.settings 'maintenance')
--
-- Views are security_invoker and functions security invoker: they read the tables as the caller,
-- so the tables' RLS policies (20261126000002_tenant_isolation.sql) decide every row. Only
-- `authenticated` may read or call them; anon gets nothing. The one exception to "as the caller" is
-- in schema private (not exposed by the Data API): two small security definer helpers that return
-- exactly one non-tenant fact each (the maintenance flag; a fellow member's e-mail).
--
-- Long chart ranges read public.telemetry_hourly, an hourly rollup per (device, metric) kept by a
-- statement-level trigger on public.telemetry from the rows each insert really inserted (the
-- transition table: a duplicate skipped by ON CONFLICT DO NOTHING is not counted), so a 30-day
-- chart reads at most 720 rows per metric instead of every reading.


-- Hourly rollup of the numeric metrics ------------------------------------------------------------
-- No foreign key, like public.telemetry itself: a rollup row must never make a telemetry insert
-- fail. Primary key first by tenant: the RLS policy's column leads the index that serves both the
-- per-device range reads and the policy.

create table public.telemetry_hourly (
  tenant_id uuid not null,
  device_id uuid not null,
  -- Start of the hour (UTC) of the readings' ts (device time, as the raw chart shows them).
  hour timestamptz not null,
  metric text not null,
  samples bigint not null check (samples > 0),
  sum double precision not null,
  min double precision not null,
  max double precision not null,
  primary key (tenant_id, device_id, hour, metric)
);

alter table public.telemetry_hourly enable row level security;
revoke all on public.telemetry_hourly from public, anon, authenticated;
grant select on public.telemetry_hourly to authenticated;
grant all on public.telemetry_hourly to service_role;
create policy telemetry_hourly_select_members on public.telemetry_hourly
  for select to authenticated
  using (tenant_id = any (array(select private.user_tenant_ids())));

-- The readings of a set of telemetry rows as (tenant, device, hour, metric, value): top-level
-- numbers only (strings, booleans, objects and nulls are not charted). The contract bounds numbers
-- to |x| <= 1e15; anything a double cannot hold is skipped rather than failing the insert.
-- One statement per insert statement: an ingest batch of 500 rows is one grouped upsert, in key
-- order so that concurrent batches lock rollup rows in the same order.
create or replace function private.telemetry_hourly_rollup() returns trigger
  language plpgsql security definer set search_path = '' as $$
begin
  insert into public.telemetry_hourly as h (tenant_id, device_id, hour, metric, samples, sum, min, max)
  select r.tenant_id, r.device_id, pg_catalog.date_trunc('hour', r.ts, 'UTC'), m.key,
         count(*), sum(v.x), min(v.x), max(v.x)
    from new_rows r
   cross join lateral pg_catalog.jsonb_each(
           case when pg_catalog.jsonb_typeof(r.metrics) = 'object' then r.metrics else '{}'::jsonb end) m
   cross join lateral (
     select case when pg_catalog.jsonb_typeof(m.value) = 'number' then m.value::numeric end as n) num
   cross join lateral (
     select case when abs(num.n) between 1e-300 and 1e300 then num.n::double precision
                 when num.n = 0 then 0::double precision end as x) v
   where v.x is not null
   group by 1, 2, 3, 4
   order by 1, 2, 3, 4
  on conflict (tenant_id, device_id, hour, metric) do update
    set samples = h.samples + excluded.samples,
        sum = h.sum + excluded.sum,
        min = least(h.min, excluded.min),
        max = greatest(h.max, excluded.max);
  return null;
end;
$$;
revoke all on function private.telemetry_hourly_rollup() from public, anon, authenticated;

-- Statement-level on the partitioned parent: fires for inserts through public.telemetry (ingest,
-- seeds, restores through the parent), not for rows ops.ensure_telemetry_partitions moves from the
-- default partition into a new one (those are inserted into the partition itself, already counted).
create trigger telemetry_hourly_rollup after insert on public.telemetry
  referencing new table as new_rows
  for each statement execute function private.telemetry_hourly_rollup();

-- What telemetry already holds. After the trigger: creating it locked out concurrent inserts
-- (share row exclusive) until this migration commits, so no row is counted twice or missed.
insert into public.telemetry_hourly (tenant_id, device_id, hour, metric, samples, sum, min, max)
select r.tenant_id, r.device_id, pg_catalog.date_trunc('hour', r.ts, 'UTC'), m.key,
       count(*), sum(v.x), min(v.x), max(v.x)
  from public.telemetry r
 cross join lateral pg_catalog.jsonb_each(
         case when pg_catalog.jsonb_typeof(r.metrics) = 'object' then r.metrics else '{}'::jsonb end) m
 cross join lateral (
   select case when pg_catalog.jsonb_typeof(m.value) = 'number' then m.value::numeric end as n) num
 cross join lateral (
   select case when abs(num.n) between 1e-300 and 1e300 then num.n::double precision
               when num.n = 0 then 0::double precision end as x) v
 where v.x is not null
 group by 1, 2, 3, 4;


-- Helpers (schema private: not exposed by the Data API) -------------------------------------------

-- The maintenance flag the broker-down playbook sets (ops.settings, which no tenant role can read):
-- only these four values, for any signed-in user. Missing or malformed values read as "off".
create or replace function private.platform_status()
returns table (maintenance boolean, message text, retry_after_seconds integer, updated_at timestamptz)
language sql
stable
security definer
set search_path = ''
as $$
  select coalesce(s.value -> 'enabled' = 'true'::jsonb, false),
         coalesce(s.value ->> 'reason', ''),
         case when pg_catalog.jsonb_typeof(s.value -> 'retryAfterSeconds') = 'number'
              then least(greatest((s.value ->> 'retryAfterSeconds')::numeric, 0), 86400)::integer end,
         s.updated_at
    from (select 1) one
    left join ops.settings s on s.key = 'maintenance'
$$;
revoke all on function private.platform_status() from public, anon, authenticated;
grant execute on function private.platform_status() to authenticated, service_role;

-- The e-mail of `p_user_id` when both that user and the caller are members of `p_tenant_id` (who
-- acknowledged an alert); otherwise null. auth.users is not readable by the API roles.
create or replace function private.member_email(p_tenant_id uuid, p_user_id uuid)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  select u.email::text
    from auth.users u
   where u.id = p_user_id
     and exists (select from public.tenant_members m
                  where m.tenant_id = p_tenant_id and m.user_id = p_user_id)
     and exists (select from public.tenant_members m
                  where m.tenant_id = p_tenant_id and m.user_id = (select auth.uid()))
$$;
revoke all on function private.member_email(uuid, uuid) from public, anon, authenticated;
grant execute on function private.member_email(uuid, uuid) to authenticated, service_role;


-- Tenant switcher ---------------------------------------------------------------------------------

create view public.my_tenants with (security_invoker = on) as
select t.id, t.slug, t.name, t.status, m.role, t.plan_id, p.name as plan_name
  from public.tenant_members m
  join public.tenants t on t.id = m.tenant_id
  join public.plans p on p.id = t.plan_id
 where m.user_id = (select auth.uid());


-- Devices -----------------------------------------------------------------------------------------
-- online: last seen within 5 minutes. last_seen is set by ingest at most every 10 s per device and
-- only once a batch is written (bridge batching, retries); 5 minutes tolerates a device reporting
-- every minute missing a few reports or a short ingest backlog without flapping, and still turns a
-- dead device offline well within the hour. During maintenance mode ingest accepts nothing, so
-- devices turn offline after 5 minutes: the maintenance banner says why.
-- sparkline: per numeric metric, the hourly means of the last 24 hours (UTC hours, oldest first,
-- the current hour last and partial), null for an hour without readings; from the hourly rollup
-- (at most 24 rows per metric). Columns not selected are not computed (scalar sub-queries of a
-- view are dropped when unused), so `select=id,name,online` costs no sparkline.

create view public.dashboard_devices with (security_invoker = on) as
select d.tenant_id,
       d.id,
       d.device_key,
       d.name,
       d.status,
       d.last_seen,
       coalesce(d.last_seen >= now() - interval '5 minutes', false) as online,
       l.ts as latest_ts,
       coalesce(l.metrics, '{}'::jsonb) as latest_metrics,
       date_trunc('hour', now(), 'UTC') - interval '23 hours' as sparkline_from,
       (select coalesce(jsonb_object_agg(s.metric,
                 (select jsonb_agg(s.vals[array_position(s.slots, g.i)] order by g.i)
                    from generate_series(0, 23) g(i))), '{}'::jsonb)
          from (select r.metric,
                       array_agg(r.sum / r.samples) as vals,
                       -- 0 = the oldest hour, 23 = the current one
                       array_agg((date_part('epoch', r.hour - (date_trunc('hour', now(), 'UTC') - interval '23 hours'))
                                  / 3600)::integer) as slots
                  from public.telemetry_hourly r
                 where r.tenant_id = d.tenant_id
                   and r.device_id = d.id
                   and r.hour >= date_trunc('hour', now(), 'UTC') - interval '23 hours'
                 group by r.metric) s) as sparkline
  from public.devices d
  left join public.device_latest l on l.device_id = d.id;


-- Device detail: one metric over a range ----------------------------------------------------------
-- Ranges up to 24 hours read the raw readings (the telemetry primary key, device_id then ts);
-- longer ones read the hourly rollup. At most p_max_points points come back: readings (or hours)
-- are averaged into equal buckets when there are more; a point that holds one reading carries that
-- reading's own ts. p_max_points => null gives every raw reading (the CSV export of a short range).

create or replace function public.device_series(
  p_device_id uuid,
  p_metric text,
  p_from timestamptz,
  p_to timestamptz default now(),
  p_max_points integer default 1000
)
returns table (
  ts timestamptz,
  value double precision,
  min double precision,
  max double precision,
  samples bigint,
  resolution text
)
language plpgsql
stable
security invoker
set search_path = ''
as $$
#variable_conflict use_column
declare
  span interval := p_to - p_from;
  bucket interval;
  first_hour timestamptz;
begin
  if p_device_id is null or p_metric is null or p_from is null or p_to is null or p_to <= p_from then
    raise exception 'device_series needs a device, a metric and a range with p_from < p_to'
      using errcode = '22023';
  end if;
  if span > interval '400 days' then
    raise exception 'device_series: a range of at most 400 days, not %', span using errcode = '22023';
  end if;
  if p_max_points is not null and p_max_points < 1 then
    raise exception 'device_series: p_max_points must be at least 1' using errcode = '22023';
  end if;

  if span <= interval '24 hours' and p_max_points is null then
    return query
    select r.ts, r.x, r.x, r.x, 1::bigint, 'raw'::text
      from (select t.ts,
                   case when abs(n.n) between 1e-300 and 1e300 then n.n::double precision
                        when n.n = 0 then 0::double precision end as x
              from public.telemetry t
             cross join lateral (
               select case when pg_catalog.jsonb_typeof(t.metrics -> p_metric) = 'number'
                           then (t.metrics -> p_metric)::numeric end as n) n
             where t.device_id = p_device_id
               and t.ts >= p_from and t.ts < p_to
               and pg_catalog.jsonb_typeof(t.metrics -> p_metric) = 'number') r
     where r.x is not null
     order by r.ts;
  elsif span <= interval '24 hours' then
    bucket := greatest(span / p_max_points, interval '1 millisecond');
    return query
    select case when count(*) = 1 then pg_catalog.min(r.ts) else r.bin end,
           avg(r.x), pg_catalog.min(r.x), pg_catalog.max(r.x), count(*), 'raw'::text
      from (select t.ts, pg_catalog.date_bin(bucket, t.ts, p_from) as bin,
                   case when abs(n.n) between 1e-300 and 1e300 then n.n::double precision
                        when n.n = 0 then 0::double precision end as x
              from public.telemetry t
             cross join lateral (
               select case when pg_catalog.jsonb_typeof(t.metrics -> p_metric) = 'number'
                           then (t.metrics -> p_metric)::numeric end as n) n
             where t.device_id = p_device_id
               and t.ts >= p_from and t.ts < p_to
               and pg_catalog.jsonb_typeof(t.metrics -> p_metric) = 'number') r
     where r.x is not null
     group by r.bin
     order by 1;
  else
    first_hour := pg_catalog.date_trunc('hour', p_from, 'UTC');
    -- Whole hours per point: more than one only when the range has more hours than p_max_points.
    bucket := make_interval(hours => greatest(1, ceil(
      extract(epoch from p_to - first_hour) / 3600 / coalesce(p_max_points, 2147483647))::integer));
    return query
    select pg_catalog.date_bin(bucket, h.hour, first_hour),
           sum(h.sum) / sum(h.samples), pg_catalog.min(h.min), pg_catalog.max(h.max),
           sum(h.samples)::bigint, 'hour'::text
      from public.telemetry_hourly h
     where h.device_id = p_device_id
       and h.metric = p_metric
       and h.hour >= first_hour and h.hour < p_to
     group by 1
     order by 1;
  end if;
end;
$$;


-- Alerts ------------------------------------------------------------------------------------------
-- state: resolved when resolved (acknowledged or not), else acknowledged once someone acknowledged
-- it, else open.

create view public.dashboard_alerts with (security_invoker = on) as
select a.tenant_id,
       a.id,
       case when a.status = 'resolved' then 'resolved'
            when a.acknowledged_at is not null then 'acknowledged'
            else 'open' end as state,
       a.status,
       a.severity,
       a.value,
       a.message,
       a.fired_at,
       a.resolved_at,
       a.acknowledged_at,
       a.acknowledged_by,
       private.member_email(a.tenant_id, a.acknowledged_by) as acknowledged_by_email,
       a.rule_id,
       r.name as rule_name,
       r.kind as rule_kind,
       r.metric as rule_metric,
       r.operator as rule_operator,
       r.threshold as rule_threshold,
       a.device_id,
       d.device_key,
       d.name as device_name
  from public.alerts a
  left join public.alert_rules r on r.id = a.rule_id
  left join public.devices d on d.id = a.device_id;

-- Acknowledges an alert as the caller, now; gives back the alert as dashboard_alerts shows it.
-- RLS decides: the alerts UPDATE policy lets owners and admins of the alert's tenant set the
-- acknowledgement, as themselves. The first acknowledgement is kept (acknowledging again returns
-- the alert unchanged). Refused (42501) when the caller cannot see the alert (not a member of its
-- tenant, or no such alert: the two are not told apart) or may not acknowledge it (a viewer).
create or replace function public.acknowledge_alert(p_alert_id uuid)
returns public.dashboard_alerts
language plpgsql
volatile
security invoker
set search_path = ''
as $$
declare
  me uuid := (select auth.uid());
  result public.dashboard_alerts;
begin
  if me is null then
    raise exception 'acknowledge_alert needs a signed-in user' using errcode = '42501';
  end if;
  update public.alerts a
     set acknowledged_at = now(), acknowledged_by = me
   where a.id = p_alert_id and a.acknowledged_at is null;
  select * into result from public.dashboard_alerts v where v.id = p_alert_id;
  if not found then
    raise exception 'alert % is not an alert of one of your tenants', p_alert_id
      using errcode = '42501', hint = 'Sign in as a member of the alert''s tenant.';
  end if;
  if result.acknowledged_at is null then
    raise exception 'only owners and admins of the tenant can acknowledge alerts'
      using errcode = '42501', hint = 'Ask an owner of the tenant for the admin role.';
  end if;
  return result;
end;
$$;


-- Usage vs plan -----------------------------------------------------------------------------------
-- devices: active devices (what counts against max_devices, as the ops plan-use check counts).
-- messages_today: accepted messages since UTC midnight, the day mqtt_ingest's quota counts
-- (functions/src/ingest/daily-quota.ts), from the hourly usage rollup.
-- storage_bytes_estimate: payload bytes received within the plan's retention window (what
-- retention keeps), from the same rollup; Postgres stores each reading with row and index overhead
-- on top (docs/dashboard.md gives the measured ratio).

create view public.dashboard_usage with (security_invoker = on) as
select t.id as tenant_id,
       t.plan_id,
       p.name as plan_name,
       (select count(*) from public.devices d where d.tenant_id = t.id and d.status = 'active') as devices,
       (select count(*) from public.devices d where d.tenant_id = t.id) as devices_total,
       p.max_devices,
       (select coalesce(sum(u.messages), 0)::bigint from public.usage_hourly u
         where u.tenant_id = t.id and u.hour >= date_trunc('day', now(), 'UTC')) as messages_today,
       p.max_messages_per_day,
       (select coalesce(sum(u.bytes), 0)::bigint from public.usage_hourly u
         where u.tenant_id = t.id and u.hour >= date_trunc('day', now(), 'UTC')) as bytes_today,
       (select coalesce(sum(u.bytes), 0)::bigint from public.usage_hourly u
         where u.tenant_id = t.id and u.hour >= now() - make_interval(days => p.retention_days)) as storage_bytes_estimate,
       p.retention_days,
       date_trunc('day', now(), 'UTC') as day_start
  from public.tenants t
  join public.plans p on p.id = t.plan_id;


-- Platform status ---------------------------------------------------------------------------------

create view public.platform_status with (security_invoker = on) as
select s.maintenance, s.message, s.retry_after_seconds, s.updated_at
  from private.platform_status() s;


-- Grants: authenticated only ----------------------------------------------------------------------
-- Functions are executable by PUBLIC by default, and a hosted project's default privileges in
-- public grant anon too: revoke both, grant back to authenticated.

revoke all on public.my_tenants, public.dashboard_devices, public.dashboard_alerts,
  public.dashboard_usage, public.platform_status from public, anon, authenticated;
grant select on public.my_tenants, public.dashboard_devices, public.dashboard_alerts,
  public.dashboard_usage, public.platform_status to authenticated;
grant select on public.my_tenants, public.dashboard_devices, public.dashboard_alerts,
  public.dashboard_usage, public.platform_status to service_role;

revoke all on function public.device_series(uuid, text, timestamptz, timestamptz, integer)
  from public, anon, authenticated;
revoke all on function public.acknowledge_alert(uuid) from public, anon, authenticated;
grant execute on function public.device_series(uuid, text, timestamptz, timestamptz, integer)
  to authenticated, service_role;
grant execute on function public.acknowledge_alert(uuid) to authenticated, service_role;
