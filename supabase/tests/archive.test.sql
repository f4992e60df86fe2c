-- The archive's bookkeeping and its checked removals (20261201000002_archive.sql): retention per
-- tenant; a day's partition is dropped, or a tenant's rows of a day deleted, only when they are
-- exactly the rows of verified objects and no restore holds them; purging needs no object; only
-- service_role reaches any of it.
begin;
set local search_path = public, extensions;
select plan(26);

select has_table('ops', 'archive_objects', 'ops.archive_objects exists');
select has_table('ops', 'archive_holds', 'ops.archive_holds exists');
select has_function('ops', 'archive_retention', array['integer', 'timestamp with time zone'],
  'ops.archive_retention(integer, timestamptz) exists');
select has_function('ops', 'archive_drop_day', array['date', 'boolean', 'text'], 'ops.archive_drop_day exists');
select has_function('ops', 'archive_delete_tenant_day', array['uuid', 'date', 'boolean', 'text'],
  'ops.archive_delete_tenant_day exists');

insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
values ('arch-30', 'Archive 30', 10, 1000, 30, 0, 0), ('arch-90', 'Archive 90', 10, 1000, 90, 0, 0);
insert into public.tenants (id, slug, name, plan_id) values
  ('00000000-0000-0000-0000-0000000a0001', 'arch-a', 'A', 'arch-30'),
  ('00000000-0000-0000-0000-0000000a0002', 'arch-b', 'B', 'arch-90');
insert into ops.tenant_retention_overrides (tenant_id, retention_days, reason, expires_at)
values ('00000000-0000-0000-0000-0000000a0002', 14, 'cost spike', now() + interval '7 days');

select results_eq(
  $$select slug, plan_days, retention_days from ops.archive_retention() where slug like 'arch-%' order by slug$$,
  $$values ('arch-a', 30, 30), ('arch-b', 90, 14)$$,
  'retention: the plan''s, lowered by an override in force');
select results_eq(
  $$select slug, retention_days from ops.archive_retention(20) where slug like 'arch-%' order by slug$$,
  $$values ('arch-a', 20), ('arch-b', 14)$$,
  'the environment''s setting caps it');

-- A day 100 days ago with 3 rows of A and 2 of B.
create temp table d as select current_date - 100 as day, 'telemetry_p' || to_char(current_date - 100, 'YYYYMMDD') as part;
select ops.ensure_telemetry_partitions((select day from d), 1);
insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
select t, gen_random_uuid(), (select day from d)::timestamp at time zone 'UTC' + g * interval '1 hour', 'k' || g, '{}'
from unnest(array['00000000-0000-0000-0000-0000000a0001', '00000000-0000-0000-0000-0000000a0001',
                  '00000000-0000-0000-0000-0000000a0001', '00000000-0000-0000-0000-0000000a0002',
                  '00000000-0000-0000-0000-0000000a0002']::uuid[]) with ordinality as x(t, g);

create function pg_temp.attached() returns boolean language sql as $$
  select exists (select from pg_inherits i join pg_class c on c.oid = i.inhrelid
                  where i.inhparent = 'public.telemetry'::regclass and c.relname = (select part from d)) $$;
create function pg_temp.verified(p_tenant uuid, p_rows bigint, p_name text) returns void language sql as $$
  insert into ops.archive_objects (tenant_id, day, tenant_slug, blob_name, state, rows, bytes, sha256, content_sha256,
                                   schema_version, format, uploaded_at, verified_at)
  values (p_tenant, (select day from d), 'x', p_name, 'verified', p_rows, 100, repeat('a', 64), repeat('b', 64),
          '20261201000002', 'telemetry-ndjson-gz/1', now(), now()) $$;

select throws_like(
  format('select ops.archive_drop_day(%L)', (select day from d)),
  '%tenant 00000000-0000-0000-0000-0000000a0001: 3 rows and no verified object%',
  'a day with rows of no verified object is not dropped');
select ok(pg_temp.attached(), '... and its partition is attached again');

select pg_temp.verified('00000000-0000-0000-0000-0000000a0001', 3, 'arch-a/day.ndjson.gz');
select throws_like(
  format('select ops.archive_drop_day(%L)', (select day from d)),
  '%tenant 00000000-0000-0000-0000-0000000a0002: 2 rows and no verified object%',
  'every tenant of the day needs its verified object');

select throws_like(
  format('select ops.archive_delete_tenant_day(%L, %L)', '00000000-0000-0000-0000-0000000a0002', (select day from d)),
  '%rows of tenant 00000000-0000-0000-0000-0000000a0002%not deleted%no verified object%',
  'a tenant''s rows are not deleted without their verified object');

insert into ops.archive_holds (tenant_id, day, until) values ('00000000-0000-0000-0000-0000000a0001', (select day from d), now() + interval '1 day');
select throws_like(
  format('select ops.archive_delete_tenant_day(%L, %L)', '00000000-0000-0000-0000-0000000a0001', (select day from d)),
  '%restored rows held until%', 'rows held by a restore are not deleted');
delete from ops.archive_holds where tenant_id = '00000000-0000-0000-0000-0000000a0001';

select is(
  ops.archive_delete_tenant_day('00000000-0000-0000-0000-0000000a0001', (select day from d)), 3::bigint,
  'the verified tenant''s rows are deleted: 3');
select is((select count(*) from public.telemetry where (ts at time zone 'UTC')::date = (select day from d)), 2::bigint,
  '... the other tenant''s 2 rows stay');
select is((select state from ops.archive_objects where blob_name = 'arch-a/day.ndjson.gz'), 'dropped',
  '... and the object is marked dropped');

-- A verified object that does not hold what the partition holds.
select pg_temp.verified('00000000-0000-0000-0000-0000000a0002', 1, 'arch-b/day.ndjson.gz');
select throws_like(
  format('select ops.archive_drop_day(%L)', (select day from d)),
  '%arch-b/day.ndjson.gz holds 1 rows, the database 2%',
  'a count that differs refuses the drop, naming the object');
update ops.archive_objects set rows = 2 where blob_name = 'arch-b/day.ndjson.gz';
select is(
  (ops.archive_drop_day((select day from d)) ->> 'rows')::int, 2,
  'rows exactly those of the verified objects: the partition is dropped');
select ok(not pg_temp.attached() and to_regclass('public.' || (select part from d)) is null, '... detached and gone');
select is((select state from ops.archive_objects where blob_name = 'arch-b/day.ndjson.gz'), 'dropped', '... object dropped');
select is(ops.archive_drop_day((select day from d)), null, 'dropping it again does nothing');
select is(
  (select array_agg(action order by id) from ops.audit_log where actor = 'archive'),
  array['telemetry.delete_archived_tenant_day', 'telemetry.drop_archived_day'],
  'each removal is in the audit log');

-- Purging: no object needed; reported in the audit log.
select ops.ensure_telemetry_partitions(current_date - 101, 1);
insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
values ('00000000-0000-0000-0000-0000000a0001', gen_random_uuid(), (current_date - 101)::timestamp at time zone 'UTC', 'p', '{}');
select is((ops.archive_drop_day(current_date - 101, true) ->> 'rows')::int, 1, 'purging drops without an object');
select ok(exists (select from ops.audit_log where action = 'telemetry.purge_day'), '... and says so in the audit log');

select ok(
  not has_function_privilege('authenticated', 'ops.archive_drop_day(date, boolean, text)', 'execute')
  and not has_function_privilege('anon', 'ops.archive_delete_tenant_day(uuid, date, boolean, text)', 'execute')
  and not has_table_privilege('authenticated', 'ops.archive_objects', 'select'),
  'tenants reach none of it');
select ok(
  not has_function_privilege('authenticated', 'ops.archive_counted_removal_problems(date, jsonb, uuid)', 'execute'),
  'tenants cannot call the removal check');
select ok(has_function_privilege('service_role', 'ops.archive_drop_day(date, boolean, text)', 'execute'),
  'service_role (the Functions app) may call the removals');

select * from finish();
rollback;
