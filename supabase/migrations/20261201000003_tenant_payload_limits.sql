-- A tenant's own payload caps (the data-growth playbook): fewer metrics per message and shorter
-- string values than the global limits allow, for one tenant, until expires_at (null: until the
-- row is deleted). mqtt_ingest reads the caps in force with its other ops settings (cached 5 s) and
-- refuses a message over one as `tenant_payload_limit`, the cap and its reason in the detail.
-- The caps count as the global limits count (common/telemetry.ts): a value at any depth is a
-- metric, a string's length is in UTF-16 code units. They can only lower those limits: the bounds
-- below are DEFAULT_TELEMETRY_LIMITS.maxMetrics (64) and .maxStringLength (256), which
-- functions/src/ingest/tenant-payload-limits.integration.test.ts holds them to.
-- Additive only: a new table that nothing reads until this release's mqtt_ingest is deployed.

create table ops.tenant_payload_limits (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  max_metrics integer null,
  max_string_length integer null,
  reason text not null,
  created_by text not null default '',
  created_at timestamptz not null default now(),
  expires_at timestamptz null,
  constraint tenant_payload_limits_one_cap check (max_metrics is not null or max_string_length is not null),
  constraint tenant_payload_limits_max_metrics check (max_metrics between 1 and 64),
  constraint tenant_payload_limits_max_string_length check (max_string_length between 0 and 256),
  -- Every refusal quotes it to the device's owner: a cap nobody can explain is not set.
  constraint tenant_payload_limits_reason check (reason ~ '[^[:space:]]')
);

-- Defence in depth like ops.tenant_rate_limits: RLS on, no policy, so only roles that bypass RLS.
alter table ops.tenant_payload_limits enable row level security;
revoke all on ops.tenant_payload_limits from public, anon, authenticated;
grant all on ops.tenant_payload_limits to service_role;
