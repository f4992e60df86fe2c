-- The per-tenant retention override (cost-spike playbook): it lowers the plan's retention for one
-- tenant until it expires, never raises it, and stays out of tenants' reach.
begin;
set local search_path = public, extensions;
select plan(10);

select has_table('ops', 'tenant_retention_overrides', 'ops.tenant_retention_overrides exists');
select has_function('ops', 'effective_retention_days', array['uuid', 'timestamp with time zone'],
  'ops.effective_retention_days(uuid, timestamptz) exists');

insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
values ('ret-plan', 'Retention plan', 10, 1000, 30, 1000, 0);
insert into public.tenants (id, slug, name, plan_id) values
  ('00000000-0000-0000-0000-00000000b0b1', 'ret-a', 'A', 'ret-plan'),
  ('00000000-0000-0000-0000-00000000b0b2', 'ret-b', 'B', 'ret-plan');

select is(ops.effective_retention_days('00000000-0000-0000-0000-00000000b0b1'), 30,
  'without an override the plan''s retention applies');

insert into ops.tenant_retention_overrides (tenant_id, retention_days, reason, expires_at)
values ('00000000-0000-0000-0000-00000000b0b1', 7, 'cost spike', now() + interval '30 days'),
       ('00000000-0000-0000-0000-00000000b0b2', 90, 'typo', now() + interval '30 days');

select is(ops.effective_retention_days('00000000-0000-0000-0000-00000000b0b1'), 7,
  'an override in force lowers the tenant''s retention');
select is(ops.effective_retention_days('00000000-0000-0000-0000-00000000b0b1', now() + interval '31 days'), 30,
  'after it expires the plan''s retention applies again');
select is(ops.effective_retention_days('00000000-0000-0000-0000-00000000b0b2'), 30,
  'an override above the plan never extends retention');

select throws_ok(
  $$insert into ops.tenant_retention_overrides (tenant_id, retention_days, expires_at)
    values ('00000000-0000-0000-0000-00000000b0b2', 0, now() + interval '1 day')
    on conflict (tenant_id) do update set retention_days = excluded.retention_days$$,
  '23514', null, 'a retention of 0 days is refused');
select throws_ok(
  $$update ops.tenant_retention_overrides set expires_at = created_at - interval '1 second'
     where tenant_id = '00000000-0000-0000-0000-00000000b0b1'$$,
  '23514', null, 'an override that expires before it was made is refused');

select ok(not has_table_privilege('authenticated', 'ops.tenant_retention_overrides', 'select'),
  'authenticated cannot read the overrides');
select ok(not has_function_privilege('anon', 'ops.effective_retention_days(uuid, timestamptz)', 'execute'),
  'anon cannot call ops.effective_retention_days');

select * from finish();
rollback;
