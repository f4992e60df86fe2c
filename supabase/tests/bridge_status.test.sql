-- The bridges' backlog reports: present, constrained, and out of tenants' reach.
begin;
set local search_path = public, extensions;
select plan(11);

select has_table('ops', 'bridge_status', 'ops.bridge_status exists');
select col_is_pk('ops', 'bridge_status', 'bridge_id', 'one row per bridge');

select lives_ok(
  $$insert into ops.bridge_status (bridge_id, pending, oldest_pending_age_ms, sent_at, received_at)
    values ('bridge-vm1', 12, 3400, now(), now())$$,
  'a report is stored');
select throws_ok(
  $$insert into ops.bridge_status (bridge_id, pending, oldest_pending_age_ms, sent_at, received_at)
    values ('bridge vm1; drop', 0, 0, now(), now())$$,
  '23514', null, 'a bridge id outside the bridge''s alphabet is refused');
select throws_ok(
  $$insert into ops.bridge_status (bridge_id, pending, oldest_pending_age_ms, sent_at, received_at)
    values ('b2', -1, 0, now(), now())$$,
  '23514', null, 'a negative pending count is refused');
select throws_ok(
  $$insert into ops.bridge_status (bridge_id, pending, oldest_pending_age_ms, sent_at, received_at)
    values ('b3', 0, 5000, now(), now())$$,
  '23514', null, 'an age without anything pending is refused');

select ok((select relrowsecurity from pg_class where oid = 'ops.bridge_status'::regclass), 'row level security is on');
select is((select count(*)::int from pg_policies where schemaname = 'ops' and tablename = 'bridge_status'), 0,
  'no policy: only roles that bypass RLS see it');
select ok(not has_table_privilege('authenticated', 'ops.bridge_status', 'select'), 'authenticated cannot read it');
select ok(not has_table_privilege('anon', 'ops.bridge_status', 'select, insert, update, delete'), 'anon has no privilege');
select ok(has_table_privilege('service_role', 'ops.bridge_status', 'select, insert, update'), 'service_role reads and writes it');

select * from finish();
rollback;
