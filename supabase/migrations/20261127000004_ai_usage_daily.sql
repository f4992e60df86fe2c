-- AI usage per tenant, UTC day and model, kept by the ledger's insert trigger: the weekly AI spend
-- check (ops/sources/platform-db.ts) reads this instead of summing the whole month of the ledger,
-- so its cost does not grow with the ledger (docs/benchmark-ops.md). The ledger is append-only:
-- the rollup counts inserts; rows leave both only with their tenant (on delete cascade).

create table public.ai_usage_daily (
  tenant_id uuid not null references public.tenants (id) on delete cascade,
  day date not null,
  model text not null,
  requests bigint not null default 0 check (requests >= 0),
  input_tokens bigint not null default 0 check (input_tokens >= 0),
  output_tokens bigint not null default 0 check (output_tokens >= 0),
  cost_usd numeric(14, 6) not null default 0,
  primary key (tenant_id, day, model)
);
create index ai_usage_daily_day_idx on public.ai_usage_daily (day);

alter table public.ai_usage_daily enable row level security;
revoke all on public.ai_usage_daily from public, anon, authenticated;
grant select on public.ai_usage_daily to authenticated;
grant all on public.ai_usage_daily to service_role;
create policy ai_usage_daily_select_members on public.ai_usage_daily
  for select to authenticated
  using (tenant_id = any (array(select private.user_tenant_ids())));

-- One statement-level trigger: a bulk insert of the ledger is one grouped upsert, not one per row.
create or replace function private.ai_usage_rollup() returns trigger
  language plpgsql security definer set search_path = '' as $$
begin
  insert into public.ai_usage_daily as d (tenant_id, day, model, requests, input_tokens, output_tokens, cost_usd)
  select tenant_id, (occurred_at at time zone 'utc')::date, model, count(*),
         sum(input_tokens), sum(output_tokens), sum(cost_usd)
    from new_rows
   group by 1, 2, 3
  on conflict (tenant_id, day, model) do update
    set requests = d.requests + excluded.requests,
        input_tokens = d.input_tokens + excluded.input_tokens,
        output_tokens = d.output_tokens + excluded.output_tokens,
        cost_usd = d.cost_usd + excluded.cost_usd;
  return null;
end;
$$;
revoke all on function private.ai_usage_rollup() from public, anon, authenticated;

create trigger ai_usage_rollup after insert on public.ai_usage
  referencing new table as new_rows
  for each statement execute function private.ai_usage_rollup();

-- Updating or deleting ledger rows would leave the rollup wrong: the ledger refuses both (a
-- tenant's rows still go with the tenant: a cascade from tenants is a delete the trigger allows).
create or replace function private.ai_usage_append_only() returns trigger
  language plpgsql set search_path = '' as $$
begin
  if tg_op = 'DELETE' and pg_trigger_depth() > 1 then
    return old; -- cascaded from public.tenants
  end if;
  raise exception 'public.ai_usage is an append-only ledger: % is not allowed', lower(tg_op)
    using errcode = '42501';
end;
$$;
revoke all on function private.ai_usage_append_only() from public, anon, authenticated;

create trigger ai_usage_append_only before update or delete on public.ai_usage
  for each row execute function private.ai_usage_append_only();

-- What the ledger already holds.
insert into public.ai_usage_daily (tenant_id, day, model, requests, input_tokens, output_tokens, cost_usd)
select tenant_id, (occurred_at at time zone 'utc')::date, model, count(*),
       sum(input_tokens), sum(output_tokens), sum(cost_usd)
  from public.ai_usage
 group by 1, 2, 3;
