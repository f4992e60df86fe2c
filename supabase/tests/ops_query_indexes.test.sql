-- The indexes the ops checks' queries rely on (supabase/migrations/*_ops_query_indexes.sql) and
-- the plan they give: the month-to-date AI spend query reads the ledger by time, not by a scan.
begin;
set local search_path = public, extensions;

select plan(5);

select has_index('public', 'ai_usage', 'ai_usage_occurred_idx', 'ai_usage has ai_usage_occurred_idx');
select is(
  (select pg_get_indexdef('public.ai_usage_occurred_idx'::regclass)),
  'CREATE INDEX ai_usage_occurred_idx ON public.ai_usage USING btree (occurred_at) INCLUDE (tenant_id, model, input_tokens, output_tokens, cost_usd)',
  'it covers the columns the AI spend query reads');
select has_index('public', 'usage_hourly', 'usage_hourly_hour_idx', array['hour'],
  'usage_hourly keeps its index on hour (daily, weekly and monthly windows)');

select set_eq(
  $$select stxname::text from pg_statistic_ext where stxrelid = 'public.usage_hourly'::regclass$$,
  array['usage_hourly_tenant_device', 'usage_hourly_tenant_day'],
  'usage_hourly has the extended statistics for the (tenant, device) and (tenant, day) groupings');

-- Enough rows over two months that a scan would be the worse plan, with fresh statistics.
insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
values ('idx-plan', 'Index plan', 10, 1000, 7, 1000, 0);
insert into public.tenants (id, slug, name, plan_id) values ('00000000-0000-0000-0000-00000000a1a1', 'idx-tenant', 'Idx', 'idx-plan');
insert into public.ai_usage (tenant_id, occurred_at, provider, model, input_tokens, output_tokens, cost_usd)
select '00000000-0000-0000-0000-00000000a1a1', timestamptz '2026-09-01' + g * interval '1 minute', 'openai', 'm', 10, 5, 0.001
  from generate_series(1, 20000) g;
analyze public.ai_usage;
create function pg_temp.plan_of(query text) returns text language plpgsql as $$
declare
  line text;
  plan text := '';
begin
  for line in execute 'explain ' || query loop
    plan := plan || line || E'\n';
  end loop;
  return plan;
end $$;
-- One day of the ledger's two weeks: an index scan, where the tenant-first index gave a seq scan.
select matches(
  pg_temp.plan_of($q$select tenant_id, model, sum(input_tokens + output_tokens), sum(cost_usd)
                       from public.ai_usage
                      where occurred_at >= '2026-09-05' and occurred_at < '2026-09-06'
                      group by 1, 2$q$),
  'ai_usage_occurred_idx',
  'a one-day window of the ledger is read through ai_usage_occurred_idx');

select * from finish();
rollback;
