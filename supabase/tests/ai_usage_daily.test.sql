-- The AI usage rollup follows the ledger: bulk inserts add up, the ledger is append-only.
begin;
set local search_path = public, extensions;
select plan(7);

insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
values ('t-ai', 'AI test', 1, 1, 1, 1000, 0) on conflict (id) do nothing;
insert into public.tenants (id, slug, name, plan_id)
values ('00000000-0000-4000-8000-00000000a1a1', 'ai-rollup', 'AI rollup', 't-ai');

insert into public.ai_usage (tenant_id, occurred_at, provider, model, input_tokens, output_tokens, cost_usd)
select '00000000-0000-4000-8000-00000000a1a1', '2026-11-26T23:00:00Z'::timestamptz + (i || ' minutes')::interval,
       'openai', case when i % 2 = 0 then 'gpt-a' else 'gpt-b' end, 10, 5, 0.01
  from generate_series(1, 120) i;

select is(
  (select count(*)::int from public.ai_usage_daily where tenant_id = '00000000-0000-4000-8000-00000000a1a1'),
  4, 'one bulk insert spanning two UTC days and two models gives four rollup rows');
select is(
  (select sum(requests)::int from public.ai_usage_daily where tenant_id = '00000000-0000-4000-8000-00000000a1a1'),
  120, 'every ledger row is counted once');
select is(
  (select sum(input_tokens + output_tokens)::int from public.ai_usage_daily
    where tenant_id = '00000000-0000-4000-8000-00000000a1a1' and day = '2026-11-27'),
  (select sum(input_tokens + output_tokens)::int from public.ai_usage
    where tenant_id = '00000000-0000-4000-8000-00000000a1a1' and occurred_at >= '2026-11-27T00:00:00Z'),
  'the UTC day is the ledger''s UTC day');

insert into public.ai_usage (tenant_id, occurred_at, provider, model, input_tokens, output_tokens, cost_usd)
values ('00000000-0000-4000-8000-00000000a1a1', '2026-11-27T10:00:00Z', 'openai', 'gpt-a', 100, 0, 1);
select is(
  (select input_tokens::int from public.ai_usage_daily
    where tenant_id = '00000000-0000-4000-8000-00000000a1a1' and day = '2026-11-27' and model = 'gpt-a'),
  (select sum(input_tokens)::int from public.ai_usage
    where tenant_id = '00000000-0000-4000-8000-00000000a1a1' and occurred_at >= '2026-11-27T00:00:00Z' and model = 'gpt-a'),
  'a later insert adds to the existing row');

select throws_ok(
  $$update public.ai_usage set input_tokens = 0 where tenant_id = '00000000-0000-4000-8000-00000000a1a1'$$,
  '42501', null, 'the ledger refuses updates');
select throws_ok(
  $$delete from public.ai_usage where tenant_id = '00000000-0000-4000-8000-00000000a1a1'$$,
  '42501', null, 'the ledger refuses deletes');

delete from public.tenants where id = '00000000-0000-4000-8000-00000000a1a1';
select is(
  (select count(*)::int from public.ai_usage_daily where tenant_id = '00000000-0000-4000-8000-00000000a1a1'),
  0, 'a deleted tenant takes its ledger and rollup rows with it');

select * from finish();
rollback;
