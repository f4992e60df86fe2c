-- A temporary, per-tenant cut of telemetry retention (the cost-spike playbook, runbook item
-- cost-spike.retention). The plan's retention_days is shared by every tenant on the plan, so it is
-- never edited for one tenant: an override row lowers it for one tenant until it expires.
-- ops.effective_retention_days is the one place that combines them; it never returns more than the
-- plan allows, so a mistyped override cannot extend retention.

create table ops.tenant_retention_overrides (
  tenant_id uuid primary key references public.tenants (id) on delete cascade,
  retention_days integer not null check (retention_days > 0),
  reason text not null default '',
  expires_at timestamptz not null,
  created_at timestamptz not null default now(),
  created_by text not null default '',
  constraint tenant_retention_overrides_expires_after_created check (expires_at > created_at)
);
-- Purges and reports look up the overrides still in force.
create index tenant_retention_overrides_expires_idx on ops.tenant_retention_overrides (expires_at);

create or replace function ops.effective_retention_days(p_tenant_id uuid, p_at timestamptz default now())
returns integer
language sql
stable
set search_path = ''
as $$
  select least(p.retention_days, o.retention_days)
    from public.tenants t
    join public.plans p on p.id = t.plan_id
    left join ops.tenant_retention_overrides o on o.tenant_id = t.id and o.expires_at > p_at
   where t.id = p_tenant_id
$$;

-- Defence in depth like the other ops tables: RLS on, no policy, so only roles that bypass RLS.
alter table ops.tenant_retention_overrides enable row level security;
revoke all on ops.tenant_retention_overrides from public, anon, authenticated;
grant all on ops.tenant_retention_overrides to service_role;
revoke all on function ops.effective_retention_days(uuid, timestamptz) from public, anon, authenticated;
grant execute on function ops.effective_retention_days(uuid, timestamptz) to service_role;
