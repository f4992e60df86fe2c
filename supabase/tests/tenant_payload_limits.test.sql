-- A tenant's payload caps (20261201000003_tenant_payload_limits.sql): the columns the data-growth
-- playbook writes, checks that refuse a row ingest could not apply (no cap, a cap above the global
-- limits of common/telemetry.ts, no reason), and a table only service_role reaches.
begin;
set local search_path = public, extensions;
\ir support/helpers.psql
select plan(28);

select has_table('ops', 'tenant_payload_limits', 'ops.tenant_payload_limits exists');
select is(
  (select string_agg(format('%s %s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                            case when a.attnotnull then ' not null' else '' end,
                            coalesce(' default ' || pg_get_expr(d.adbin, d.adrelid), '')), ', ' order by a.attnum)
     from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where a.attrelid = 'ops.tenant_payload_limits'::regclass and a.attnum > 0 and not a.attisdropped),
  'tenant_id uuid not null, max_metrics integer, max_string_length integer, reason text not null, '
  || 'created_by text not null default ''''::text, created_at timestamp with time zone not null default now(), '
  || 'expires_at timestamp with time zone',
  'the columns the playbook writes: names, types, not null, defaults');
select col_is_pk('ops', 'tenant_payload_limits', 'tenant_id', 'one row per tenant');
select fk_ok('ops', 'tenant_payload_limits', 'tenant_id', 'public', 'tenants', 'id',
  'tenant_id references public.tenants');

insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
values ('cap-plan', 'Cap plan', 10, 1000, 30, 0, 0);
insert into public.tenants (id, slug, name, plan_id) values
  ('00000000-0000-0000-0000-0000000c0a01', 'cap-a', 'A', 'cap-plan'),
  ('00000000-0000-0000-0000-0000000c0a02', 'cap-b', 'B', 'cap-plan');

-- Rows the checks accept ---------------------------------------------------------------------------

select lives_ok(
  $$insert into ops.tenant_payload_limits (tenant_id, max_metrics, reason)
    values ('00000000-0000-0000-0000-0000000c0a01', 8, 'data growth spike')$$,
  'a metrics cap alone, with a reason');
select results_eq(
  $$select max_string_length is null, created_by, created_at = now(), expires_at is null
      from ops.tenant_payload_limits where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  $$values (true, '', true, true)$$,
  'unset columns take their defaults: no string cap, no author, made now, no expiry');
select lives_ok(
  $$insert into ops.tenant_payload_limits (tenant_id, max_string_length, reason, created_by, expires_at)
    values ('00000000-0000-0000-0000-0000000c0a02', 0, 'strings off', 'growth-spike', now() + interval '7 days')$$,
  'a string cap of 0 (no non-empty string), with its author and an expiry');
select lives_ok(
  $$update ops.tenant_payload_limits set max_metrics = 64, max_string_length = 256
     where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  'both caps at the global limits (64 metrics, 256 characters)');
select lives_ok(
  $$update ops.tenant_payload_limits set max_metrics = 1 where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  'a metrics cap of 1');

-- Rows the checks refuse ---------------------------------------------------------------------------

select throws_ok(
  $$update ops.tenant_payload_limits set max_metrics = null, max_string_length = null
     where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'a row with no cap is refused');
select throws_ok(
  $$update ops.tenant_payload_limits set max_metrics = 0 where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'a metrics cap of 0 is refused (it would refuse every message)');
select throws_ok(
  $$update ops.tenant_payload_limits set max_metrics = 65 where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'a metrics cap above the global 64 is refused');
select throws_ok(
  $$update ops.tenant_payload_limits set max_string_length = -1 where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'a negative string cap is refused');
select throws_ok(
  $$update ops.tenant_payload_limits set max_string_length = 257 where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'a string cap above the global 256 is refused');
select throws_ok(
  $$update ops.tenant_payload_limits set reason = '' where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'an empty reason is refused');
select throws_ok(
  $$update ops.tenant_payload_limits set reason = E' \t\n' where tenant_id = '00000000-0000-0000-0000-0000000c0a01'$$,
  '23514', null, 'a reason of white space only is refused');
select throws_ok(
  $$insert into ops.tenant_payload_limits (tenant_id, max_metrics) values ('00000000-0000-0000-0000-0000000c0a02', 4)
    on conflict (tenant_id) do update set reason = excluded.reason$$,
  '23502', null, 'a row without a reason is refused');
select throws_ok(
  $$insert into ops.tenant_payload_limits (tenant_id, max_metrics, reason)
    values ('00000000-0000-0000-0000-00000000dead', 4, 'no such tenant')$$,
  '23503', null, 'a cap for a tenant that does not exist is refused');

-- Only service_role reaches it -----------------------------------------------------------------------

select ok((select relrowsecurity from pg_class where oid = 'ops.tenant_payload_limits'::regclass),
  'row-level security is on');
select is((select count(*)::int from pg_policies where schemaname = 'ops' and tablename = 'tenant_payload_limits'), 0,
  'no policy: no role that is subject to RLS sees or writes a row');
select matches(tests.value_as('anon', null, 'select count(*) from ops.tenant_payload_limits'),
  '^SQLSTATE 42501', 'anon cannot read it');
select matches(tests.value_as('authenticated', tests.id('someone'), 'select count(*) from ops.tenant_payload_limits'),
  '^SQLSTATE 42501', 'authenticated cannot read it');
select matches(tests.exec_as('authenticated', tests.id('someone'),
    $$delete from ops.tenant_payload_limits$$),
  '^SQLSTATE 42501', 'authenticated cannot delete a cap');
select matches(tests.exec_as('anon', null,
    $$update ops.tenant_payload_limits set max_metrics = 64$$),
  '^SQLSTATE 42501', 'anon cannot lift a cap');
select is(tests.exec_as('service_role', null,
    $$update ops.tenant_payload_limits set created_by = 'service' where tenant_id = '00000000-0000-0000-0000-0000000c0a02'$$),
  '1', 'service_role writes it');

-- With the grants a Supabase project gives anon and authenticated by default, RLS still hides it.
grant usage on schema ops to anon, authenticated;
grant all on ops.tenant_payload_limits to anon, authenticated;
select is(tests.value_as('authenticated', tests.id('someone'), 'select count(*) from ops.tenant_payload_limits'),
  '0', 'granted everything, authenticated still sees no row (RLS, no policy)');
select matches(tests.exec_as('anon', null,
    $$insert into ops.tenant_payload_limits (tenant_id, max_metrics, reason)
      values ('00000000-0000-0000-0000-0000000c0a02', 64, 'lifted')
      on conflict (tenant_id) do update set max_metrics = excluded.max_metrics$$),
  '^SQLSTATE 42501', 'granted everything, anon still cannot write a cap (RLS, no policy)');

delete from public.tenants where slug = 'cap-a';
select results_eq($$select tenant_id from ops.tenant_payload_limits$$,
  $$values ('00000000-0000-0000-0000-0000000c0a02'::uuid)$$, 'deleting a tenant deletes its cap, no other');

select * from finish();
rollback;
