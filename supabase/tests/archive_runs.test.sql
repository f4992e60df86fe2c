-- The archive's run history (20261201000004_archive_runs.sql): a run starts with its mode and ends
-- with its results, never results without an end; the history keeps 400 days; only service_role
-- reaches it.
begin;
set local search_path = public, extensions;
\ir support/helpers.psql

select plan(16);

select has_table('ops', 'archive_runs', 'ops.archive_runs exists');
select col_default_is('ops', 'archive_runs', 'dry_run', 'false', 'a run is not a dry run unless it says so');

select is(
  tests.exec_as('service_role', null,
    $$insert into ops.archive_runs (actor, mode, retention_days) values ('archive_timer', 'enabled', 30)$$),
  '1', 'service_role starts a run (the Functions app connects as it)');
select is(
  tests.exec_as('service_role', null,
    $$update ops.archive_runs
         set finished_at = now(), unfinished = false, objects_exported = 2, objects_verified = 2,
             rows_verified = 10, rows_removed = 10, database_bytes = pg_database_size(current_database()),
             default_partition_rows = 0, summary = '{"days": 1}'
       where actor = 'archive_timer'$$),
  '1', '... and records its end');
select ok(
  (select database_bytes > 0 and not dry_run from ops.archive_runs where actor = 'archive_timer'),
  'the database size at its end is stored');

select throws_ok(
  $$insert into ops.archive_runs (actor, mode) values ('x', 'sometimes')$$,
  '23514', null, 'a mode the archive does not have is refused');
select throws_ok(
  $$insert into ops.archive_runs (actor, mode, errors) values ('x', 'enabled', '{boom}')$$,
  '23514', null, 'results (errors) without an end are refused');
select throws_ok(
  $$insert into ops.archive_runs (actor, mode, database_bytes) values ('x', 'enabled', 1)$$,
  '23514', null, 'results (a size) without an end are refused');
select throws_ok(
  $$insert into ops.archive_runs (actor, mode, started_at, finished_at)
    values ('x', 'enabled', now(), now() - interval '1 minute')$$,
  '23514', null, 'an end before the start is refused');
select throws_ok(
  $$insert into ops.archive_runs (actor, mode, retention_days) values ('x', 'enabled', 0)$$,
  '23514', null, 'a retention of 0 days is refused');

-- Bounded history: the next insert takes out runs that started more than 400 days ago.
insert into ops.archive_runs (actor, mode, started_at, finished_at)
values ('old', 'disabled', now() - interval '401 days', now() - interval '401 days'),
       ('kept', 'disabled', now() - interval '399 days', now() - interval '399 days');
select is((select count(*)::int from ops.archive_runs where actor = 'old'), 0,
  'a run older than 400 days is pruned by the insert that follows it');
select is((select count(*)::int from ops.archive_runs where actor = 'kept'), 1, '... one younger is kept');

select ok((select relrowsecurity from pg_class where oid = 'ops.archive_runs'::regclass), 'row level security is on');
select is((select count(*)::int from pg_policies where schemaname = 'ops' and tablename = 'archive_runs'), 0,
  'no policy: only roles that bypass RLS see it');
select ok(not has_table_privilege('authenticated', 'ops.archive_runs', 'select'), 'authenticated cannot read it');
select ok(not has_table_privilege('anon', 'ops.archive_runs', 'select, insert, update, delete'), 'anon has no privilege');

select * from finish();
rollback;
