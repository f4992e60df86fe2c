-- Core tables of the platform. Tenant isolation (RLS, grants) is in the next migration.
-- Tenant-owned tables carry a tenant_id column: the isolation test finds them by it.


-- Plans and tenants -----------------------------------------------------------------------------

create table public.plans (
  id text primary key check (id ~ '^[a-z0-9-]{2,32}$'),
  name text not null,
  max_devices integer not null check (max_devices >= 0),
  max_messages_per_day bigint not null check (max_messages_per_day >= 0),
  retention_days integer not null check (retention_days > 0),
  ai_tokens_per_month bigint not null check (ai_tokens_per_month >= 0),
  monthly_price_cents integer not null check (monthly_price_cents >= 0),
  created_at timestamptz not null default now()
);

create table public.tenants (
  id uuid primary key default gen_random_uuid(),
  slug text not null unique check (slug ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
  name text not null,
  plan_id text not null references public.plans (id),
  status text not null default 'active' check (status in ('active', 'suspended')),
  created_at timestamptz not null default now()
);
create index tenants_plan_id_idx on public.tenants (plan_id);

create table public.tenant_members (
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  user_id uuid not null references auth.users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'viewer')),
  created_at timestamptz not null default now(),
  primary key (tenant_id, user_id)
);
-- RLS looks memberships up by user.
create index tenant_members_user_id_idx on public.tenant_members (user_id, tenant_id);

-- Devices: the registry ingest attributes every message by --------------------------------------

create table public.devices (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  -- Globally unique: the device's MQTT username and its topic segment.
  device_key text not null unique check (device_key ~ '^[a-z0-9][a-z0-9._-]{1,63}$'),
  name text not null default '',
  -- Mosquitto PBKDF2-SHA512 hash ($7$...); the secret itself is never stored.
  credential_hash text not null check (credential_hash like '$7$%'),
  status text not null default 'active' check (status in ('active', 'disabled')),
  last_seen timestamptz,
  created_at timestamptz not null default now()
);
create index devices_tenant_id_idx on public.devices (tenant_id);

-- Telemetry: range-partitioned by time; retention drops partitions, never DELETEs ---------------

create table public.telemetry (
  tenant_id uuid not null,
  device_id uuid not null,
  ts timestamptz not null,
  -- Idempotency: (device, ts, msg_key) where msg_key is the message id or a payload hash.
  msg_key text not null,
  metrics jsonb not null,
  received_at timestamptz not null default now(),
  primary key (device_id, ts, msg_key)
) partition by range (ts);
-- "Latest per device" and per-device ranges use the primary key (device_id, ts); tenant-wide
-- time-range scans use this one.
create index telemetry_tenant_ts_idx on public.telemetry (tenant_id, ts desc);

-- Catches anything outside the prepared daily partitions so an insert never fails.
create table public.telemetry_default partition of public.telemetry default;

create schema if not exists ops;

-- Creates the daily partitions covering [from_day, from_day + days). Idempotent.
create or replace function ops.ensure_telemetry_partitions(from_day date, days integer)
returns integer
language plpgsql
set search_path = ''
as $$
declare
  d date;
  created integer := 0;
  part text;
  lo timestamptz;
  hi timestamptz;
begin
  for i in 0 .. days - 1 loop
    d := from_day + i;
    part := 'telemetry_p' || to_char(d, 'YYYYMMDD');
    -- Day boundaries in UTC whatever the session's time zone.
    lo := d::timestamp at time zone 'UTC';
    hi := (d + 1)::timestamp at time zone 'UTC';
    if to_regclass('public.' || part) is null then
      -- Rows that landed in the default partition for this day must move into the new one.
      execute format(
        'create table public.%I (like public.telemetry including defaults including constraints)', part);
      execute format(
        'with moved as (delete from public.telemetry_default where ts >= %L and ts < %L returning *)
         insert into public.%I select * from moved', lo, hi, part);
      execute format(
        'alter table public.telemetry attach partition public.%I for values from (%L) to (%L)',
        part, lo, hi);
      created := created + 1;
    end if;
  end loop;
  return created;
end;
$$;

select ops.ensure_telemetry_partitions((now() at time zone 'utc')::date - 8, 11);

-- Latest values per device (metrics merged, newest reading of each metric wins) -----------------

create table public.device_latest (
  device_id uuid primary key references public.devices (id) on delete cascade,
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  ts timestamptz not null,
  metrics jsonb not null,
  updated_at timestamptz not null default now()
);
create index device_latest_tenant_id_idx on public.device_latest (tenant_id);

-- Hourly usage rollup per tenant and device (by time of receipt) --------------------------------

create table public.usage_hourly (
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  hour timestamptz not null,
  messages bigint not null default 0,
  bytes bigint not null default 0,
  primary key (tenant_id, hour, device_id)
);
create index usage_hourly_hour_idx on public.usage_hourly (hour);

-- Alerts ---------------------------------------------------------------------------------------

create table public.alert_rules (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  name text not null,
  -- null: every device of the tenant.
  device_id uuid references public.devices (id) on delete cascade,
  kind text not null default 'threshold' check (kind in ('threshold', 'no_data')),
  metric text,
  operator text check (operator in ('>', '>=', '<', '<=', '==', '!=')),
  threshold double precision,
  -- Hysteresis: a firing alert resolves only once the value is back past clear_threshold.
  clear_threshold double precision,
  for_seconds integer not null default 0 check (for_seconds >= 0),
  cooldown_seconds integer not null default 300 check (cooldown_seconds >= 0),
  no_data_seconds integer check (no_data_seconds > 0),
  severity text not null default 'warning' check (severity in ('info', 'warning', 'critical')),
  -- [{"type":"webhook","url":"https://..."}, {"type":"mqtt"}]
  channels jsonb not null default '[]'::jsonb check (jsonb_typeof(channels) = 'array'),
  enabled boolean not null default true,
  created_at timestamptz not null default now(),
  check (kind <> 'threshold' or (metric is not null and operator is not null and threshold is not null)),
  check (kind <> 'no_data' or no_data_seconds is not null)
);
create index alert_rules_tenant_id_idx on public.alert_rules (tenant_id);

-- Per (rule, device) evaluation state: when the condition started holding, last fire time.
create table public.alert_rule_state (
  rule_id uuid not null references public.alert_rules (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  pending_since timestamptz,
  last_value double precision,
  last_fired_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (rule_id, device_id)
);
create index alert_rule_state_tenant_id_idx on public.alert_rule_state (tenant_id);

create table public.alerts (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  rule_id uuid not null references public.alert_rules (id) on delete cascade,
  device_id uuid not null references public.devices (id) on delete cascade,
  status text not null default 'firing' check (status in ('firing', 'resolved')),
  severity text not null check (severity in ('info', 'warning', 'critical')),
  value double precision,
  message text not null default '',
  fired_at timestamptz not null default now(),
  resolved_at timestamptz,
  acknowledged_at timestamptz,
  acknowledged_by uuid references auth.users (id) on delete set null,
  check ((status = 'resolved') = (resolved_at is not null))
);
-- One open alert per (rule, device), enforced by the database.
create unique index alerts_one_open_per_rule_device on public.alerts (rule_id, device_id)
  where status = 'firing';
create index alerts_tenant_fired_idx on public.alerts (tenant_id, fired_at desc);

create table public.notification_outbox (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  alert_id uuid not null references public.alerts (id) on delete cascade,
  event text not null check (event in ('fired', 'resolved')),
  channel text not null check (channel in ('webhook', 'mqtt')),
  target text not null,
  payload jsonb not null,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
  attempts integer not null default 0,
  next_attempt_at timestamptz not null default now(),
  last_error text,
  delivered_at timestamptz,
  created_at timestamptz not null default now()
);
create index notification_outbox_due_idx on public.notification_outbox (next_attempt_at)
  where status = 'pending';
create index notification_outbox_tenant_id_idx on public.notification_outbox (tenant_id);

-- Dead letters: every refused message with its reason -------------------------------------------

create table public.ingest_rejects (
  id bigint generated always as identity primary key,
  -- The bridge's message id: a retried batch does not dead-letter twice.
  message_id text not null unique,
  tenant_id uuid references public.tenants (id) on delete cascade,
  device_id uuid references public.devices (id) on delete set null,
  device_key text,
  topic text not null,
  reason text not null,
  detail text not null default '',
  payload_excerpt text not null default '',
  payload_bytes integer not null,
  received_at timestamptz not null,
  created_at timestamptz not null default now()
);
create index ingest_rejects_tenant_created_idx on public.ingest_rejects (tenant_id, created_at desc);
create index ingest_rejects_created_idx on public.ingest_rejects (created_at);

-- AI usage ledger ------------------------------------------------------------------------------

create table public.ai_usage (
  id bigint generated always as identity primary key,
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  occurred_at timestamptz not null default now(),
  provider text not null,
  model text not null,
  feature text not null default '',
  input_tokens bigint not null check (input_tokens >= 0),
  output_tokens bigint not null check (output_tokens >= 0),
  cost_usd numeric(12, 6) not null default 0,
  request_id text unique
);
create index ai_usage_tenant_occurred_idx on public.ai_usage (tenant_id, occurred_at);

-- Ops schema: never exposed to tenants ----------------------------------------------------------

create table ops.settings (
  key text primary key,
  value jsonb not null,
  updated_at timestamptz not null default now()
);
insert into ops.settings (key, value) values
  ('maintenance', '{"enabled": false, "reason": "", "retryAfterSeconds": 60}'),
  ('default_rate_limit', '{"perSecond": 200, "burst": 1000}');

create table ops.tenant_rate_limits (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  per_second double precision not null check (per_second > 0),
  burst double precision not null check (burst > 0),
  reason text not null default '',
  updated_at timestamptz not null default now()
);

create table ops.audit_log (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  actor text not null,
  action text not null,
  target text not null default '',
  detail jsonb not null default '{}'::jsonb
);
create index audit_log_at_idx on ops.audit_log (at);
