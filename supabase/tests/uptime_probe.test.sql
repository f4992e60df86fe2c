-- The uptime probe's tables: present, constrained, and out of tenants' reach.
begin;
set local search_path = public, extensions;
select plan(9);

select has_table('ops', 'probe_runs', 'ops.probe_runs exists');
select has_table('ops', 'probe_state', 'ops.probe_state exists');
select has_index('ops', 'probe_runs', 'probe_runs_check_at_idx', 'last runs of a check are indexed');
select has_index('ops', 'probe_state', 'probe_state_last_at_idx', 'the heartbeat is indexed');

select throws_ok(
  $$insert into ops.probe_state (check_id, state, status, since, last_at) values ('x', 'sideways', 'ok', now(), now())$$,
  '23514', null, 'a state other than up/down is refused');
select throws_ok(
  $$insert into ops.probe_runs (check_id, status) values ('x', 'fine')$$,
  '23514', null, 'an unknown status is refused');

select ok(not has_table_privilege('authenticated', 'ops.probe_state', 'select'), 'authenticated cannot read probe_state');
select ok(not has_table_privilege('anon', 'ops.probe_runs', 'select'), 'anon cannot read probe_runs');
select ok(has_table_privilege('service_role', 'ops.probe_runs', 'insert'), 'service_role writes probe_runs');

select * from finish();
rollback;
