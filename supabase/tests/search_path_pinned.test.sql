-- Every routine of the platform's schemas pins its search_path (the Security Advisor's lint 0011),
-- and private.jsonb_merge_array, the pinned replacement of the jsonb_merge aggregate, merges as the
-- aggregate does, with an empty search_path too.
begin;
set local search_path = public, extensions;
select plan(11);

-- The merge, called with nothing on the search_path but pg_catalog -------------------------------

set local search_path = '';
create temporary table merged_without_search_path as
select private.jsonb_merge_array(array['{"t": 1, "h": 5}', '{"t": 2}', '{"b": 9}']::jsonb[]) as later_wins,
       private.jsonb_merge_array(array['{"t": 1}', null, '{"u": 3}']::jsonb[]) as null_skipped,
       private.jsonb_merge_array(array[]::jsonb[]) as no_readings,
       private.jsonb_merge_array(null) as null_array;
set local search_path = public, extensions;

select is((select later_wins from merged_without_search_path), '{"t": 2, "h": 5, "b": 9}'::jsonb,
  'empty search_path: later readings win per key; keys only in older readings are kept');
select is((select null_skipped from merged_without_search_path), '{"t": 1, "u": 3}'::jsonb,
  'empty search_path: a null reading is skipped');
select is((select no_readings from merged_without_search_path), '{}'::jsonb, 'no readings: the empty object');
select is((select null_array from merged_without_search_path), '{}'::jsonb, 'a null array: the empty object');

-- The same result as the aggregate it replaces, per group and in order ---------------------------

select is(
  (select jsonb_object_agg(d, a) from (
     select d, private.jsonb_merge(m order by ts) as a
       from (values (1, '{"t": 1, "h": 5}'::jsonb, 1), (1, '{"t": 2}', 2), (2, '{"x": 1}', 1),
                    (2, null, 2), (2, '{"x": 3, "y": 4}', 3), (1, '{"b": 9}', 3)) v(d, m, ts)
      group by d) s),
  (select jsonb_object_agg(d, a) from (
     select d, private.jsonb_merge_array(array_agg(m order by ts)) as a
       from (values (1, '{"t": 1, "h": 5}'::jsonb, 1), (1, '{"t": 2}', 2), (2, '{"x": 1}', 1),
                    (2, null, 2), (2, '{"x": 3, "y": 4}', 3), (1, '{"b": 9}', 3)) v(d, m, ts)
      group by d) s),
  'jsonb_merge_array(array_agg(m order by ts)) = jsonb_merge(m order by ts), nulls included');

select ok(
  (select p.proconfig @> array['search_path=""'] from pg_proc p
    where p.oid = 'private.jsonb_merge_array(jsonb[])'::regprocedure),
  'jsonb_merge_array runs with an empty search_path');
select ok(not has_function_privilege('anon', 'private.jsonb_merge_array(jsonb[])', 'execute'), 'anon cannot execute it');
select ok(not has_function_privilege('authenticated', 'private.jsonb_merge_array(jsonb[])', 'execute'),
  'authenticated cannot execute it');

-- Every routine ---------------------------------------------------------------------------------

select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by 1), '{}')
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private', 'ops')
      and p.prokind <> 'a'
      and not exists (select from unnest(p.proconfig) c where c like 'search\_path=%')),
  '{}'::text[],
  'every function and procedure in public, private and ops sets its search_path');

-- An aggregate cannot set one (CREATE AGGREGATE has no SET clause, ALTER FUNCTION refuses it):
-- what it runs must then be built in or pinned.
select is(
  (select coalesce(array_agg(format('%s uses %s', a.aggfnoid::regprocedure, f.oid::regprocedure) order by 1), '{}')
     from pg_aggregate a
     join pg_proc p on p.oid = a.aggfnoid
     join pg_namespace n on n.oid = p.pronamespace
     join pg_proc f on f.oid in (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn, a.aggdeserialfn,
                                 a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)
    where n.nspname in ('public', 'private', 'ops')
      and f.pronamespace <> 'pg_catalog'::regnamespace
      and not exists (select from unnest(f.proconfig) c where c like 'search\_path=%')),
  '{}'::text[],
  'every aggregate runs only built-in or pinned functions');
select is(
  (select coalesce(array_agg(p.oid::regprocedure::text order by 1), '{}')
     from pg_proc p join pg_namespace n on n.oid = p.pronamespace
    where n.nspname in ('public', 'private', 'ops') and p.prokind = 'a'),
  array['private.jsonb_merge(jsonb)'],
  'the only aggregate is private.jsonb_merge (accepted in supabase/lint/accepted.yaml until it is dropped)');

select * from finish();
rollback;
