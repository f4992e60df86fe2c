-- private.jsonb_merge: the aggregate mqtt_ingest folds a batch's readings with.
begin;
set local search_path = public, extensions;
select plan(5);

select is(
  (select private.jsonb_merge(m order by ts)
     from (values ('{"t": 1, "h": 5}'::jsonb, 1), ('{"t": 2}'::jsonb, 2), ('{"b": 9}'::jsonb, 3)) v(m, ts)),
  '{"t": 2, "h": 5, "b": 9}'::jsonb,
  'later readings win per key; keys only in older readings are kept');
select is(
  (select private.jsonb_merge(m order by ts desc)
     from (values ('{"t": 1}'::jsonb, 1), ('{"t": 2}'::jsonb, 2)) v(m, ts)),
  '{"t": 1}'::jsonb,
  'the order by decides which value wins');
select is(
  (select private.jsonb_merge(m) from (select '{}'::jsonb as m where false) v),
  '{}'::jsonb,
  'no rows: the empty object');
select ok(not has_function_privilege('anon', 'private.jsonb_merge(jsonb)', 'execute'), 'anon cannot execute it');
select ok(not has_function_privilege('authenticated', 'private.jsonb_merge(jsonb)', 'execute'), 'authenticated cannot execute it');

select * from finish();
rollback;
