-- Tenant isolation, generated from the catalog.
--
-- Every table, partitioned table, partition and view of schemas public and ops that has a
-- tenant_id column (and public.tenants) is checked, so a table added later with no policy, a wrong
-- policy or no fixture rows fails here without anyone having to list it. For each, as the OWNER
-- of tenant A (the strongest tenant role), with the JWT context set as PostgREST sets it:
--   no row of another tenant is visible; inserting a copy of a row of B is refused (42501);
--   an UPDATE and a DELETE with no WHERE clause touch none of B's rows (or are refused, 42501);
--   B's rows are unchanged afterwards (checked as the superuser).
-- As anon: nothing visible (0 rows or 42501) in any table of public and ops.
-- All of it runs twice: with the migrations' explicit grants, and again after granting anon and
-- authenticated everything in public and ops (what a Supabase project does by default), which
-- proves the rows are protected by RLS and not only by grants.
begin;
set local search_path = public, extensions;
\ir support/helpers.psql

-- A partition made after the migrations (as the daily partition job does) must be locked down too.
create temp table new_partition as
select 'public.telemetry_p' || to_char((now() at time zone 'utc')::date + 20, 'YYYYMMDD') as name,
       ops.ensure_telemetry_partitions((now() at time zone 'utc')::date + 20, 1) as created;

\ir support/two_tenants.psql

select no_plan();

-- Per relation: isolation of the owner of A from every other tenant ------------------------------

create function tests.check_isolation(variant text) returns setof text
language plpgsql
as $$
declare
  r record;
  a uuid := tests.id('tenant_a');
  b uuid := tests.id('tenant_b');
  owner_a uuid := tests.id('owner_a');
  label text;
  n bigint;
  got text;
  before_b text;
  after_b text;
  row_b jsonb;
  cols text;
  upd_col name;
  probe text;
  versions_b text;
begin
  for r in select * from tests.tenant_relations() loop
    label := format('[%s] %s', variant, r.rel);

    execute format('select count(*) from %s where %I = %L', r.rel, r.keycol, b) into n;
    return next tests.ok_got(n > 0, n::text, label || ': the fixture has rows of tenant B');
    execute format(
      $q$select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '')
         from %s t where %I = %L$q$, r.rel, r.keycol, b) into before_b;

    got := tests.value_as('authenticated', owner_a,
      format('select count(*) from %s where %I is distinct from %L', r.rel, r.keycol, a));
    return next tests.none_or_denied(got, '0', label || ': the owner of A sees no row of another tenant');

    -- Members read their own tenant's rows in every tenant table of public (not partitions:
    -- those are read through their parent).
    if r.rel::text not like 'ops.%' and not r.is_partition then
      got := tests.value_as('authenticated', owner_a,
        format('select count(*) from %s where %I = %L', r.rel, r.keycol, a));
      return next tests.ok_got(got ~ '^[0-9]+$' and got::bigint > 0, got,
        label || ': the owner of A sees the rows of A');
    end if;

    if r.relkind in ('r', 'p') then
      -- A copy of one of B's rows, every column that can be written.
      execute format('select to_jsonb(t) from %s t where %I = %L limit 1', r.rel, r.keycol, b) into row_b;
      select string_agg(quote_ident(attname), ', ' order by attnum) into cols
      from pg_attribute
      where attrelid = r.rel and attnum > 0 and not attisdropped
        and attgenerated = '' and attidentity <> 'a';
      got := tests.exec_as('authenticated', owner_a,
        format('insert into %s (%s) select %s from jsonb_populate_record(null::%s, %L)',
               r.rel, cols, cols, r.rel, row_b));
      return next tests.ok_got(got like 'SQLSTATE 42501:%', got,
        label || ': the owner of A cannot insert a copy of a row of B (42501)');

      -- UPDATE and DELETE without a WHERE clause and without reading any column: then only the
      -- UPDATE/DELETE policy filters rows (a WHERE clause would bring in the SELECT policy too
      -- and hide a permissive UPDATE/DELETE policy). Each runs in a rolled-back sub-transaction;
      -- what it touched is seen by B's row versions, (tableoid, ctid), which any update changes.
      probe := format(
        $q$select count(*) || ':' || coalesce(string_agg(tableoid::text || ctid::text, ',' order by tableoid, ctid), '')
           from %s where %I = %L$q$, r.rel, r.keycol, b);
      execute probe into versions_b;
      -- The column to set: one the owner may update if any (so RLS, not a missing column grant,
      -- is what refuses), never the tenant key or a unique column; to the value B's row has.
      select a2.attname into upd_col
      from pg_attribute a2
      where a2.attrelid = r.rel and a2.attnum > 0 and not a2.attisdropped
        and a2.attgenerated = '' and a2.attidentity <> 'a' and a2.attname <> r.keycol
        and not exists (
          select from pg_index i where i.indrelid = r.rel and i.indisunique and a2.attnum = any (i.indkey))
      order by has_column_privilege('authenticated', r.rel, a2.attname::text, 'UPDATE') desc, a2.attnum
      limit 1;
      upd_col := coalesce(upd_col, r.keycol);
      got := tests.probe_as('authenticated', owner_a,
        format('update %s set %I = (select (jsonb_populate_record(null::%s, %L)).%I)',
               r.rel, upd_col, r.rel, row_b, upd_col),
        probe);
      return next tests.ok_got(got = versions_b or got like 'SQLSTATE 42501:%', got,
        label || format(': an unfiltered update (set %I) by the owner of A touches no row of B', upd_col));

      got := tests.probe_as('authenticated', owner_a, format('delete from %s', r.rel), probe);
      return next tests.ok_got(got = versions_b or got like 'SQLSTATE 42501:%', got,
        label || ': an unfiltered delete by the owner of A touches no row of B');
    end if;

    execute format(
      $q$select count(*) || ':' || coalesce(md5(string_agg(t::text, '|' order by t::text)), '')
         from %s t where %I = %L$q$, r.rel, r.keycol, b) into after_b;
    return next is(after_b, before_b, label || ': the rows of B are unchanged');
  end loop;
end
$$;

-- Per relation of public and ops: anon sees and deletes nothing ----------------------------------

create function tests.check_anon(variant text) returns setof text
language plpgsql
as $$
declare
  r record;
  got text;
  n bigint;
begin
  for r in
    select c.oid::regclass as rel, c.relkind
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('public', 'ops') and c.relkind in ('r', 'p', 'v', 'm', 'f')
      and not exists (
        select from pg_depend d
        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by n.nspname, c.relname
  loop
    got := tests.value_as('anon', null, format('select count(*) from %s', r.rel));
    return next tests.none_or_denied(got, '0', format('[%s] %s: anon sees no row', variant, r.rel));
    if r.relkind in ('r', 'p') then
      execute format('select count(*) from %s', r.rel) into n;
      got := tests.probe_as('anon', null, format('delete from %s', r.rel), format('select count(*) from %s', r.rel));
      return next tests.none_or_denied(got, n::text, format('[%s] %s: anon deletes no row', variant, r.rel));
    end if;
  end loop;
end
$$;

-- Catalog properties ------------------------------------------------------------------------------

create function tests.check_catalog() returns setof text
language plpgsql
as $$
declare
  r record;
  got text;
begin
  -- RLS on every table of public and ops (partitions included): a table without it is open to
  -- whoever holds a grant on it.
  for r in
    select c.oid::regclass as rel, c.relrowsecurity
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname in ('public', 'ops') and c.relkind in ('r', 'p')
      and not exists (
        select from pg_depend d
        where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')
    order by 1::text
  loop
    return next ok(r.relrowsecurity, format('%s: row level security is enabled', r.rel));
  end loop;

  for r in select * from tests.tenant_relations() where relkind in ('r', 'p') loop
    -- Policy columns are indexed: some index of the table starts with the tenant key.
    return next ok(
      exists (
        select from pg_index i
        join pg_attribute att on att.attrelid = i.indrelid and att.attnum = i.indkey[0]
        where i.indrelid = r.rel and att.attname = r.keycol),
      format('%s: an index starts with %s', r.rel, r.keycol));
    -- Tenant data: anon holds no privilege at all.
    return next ok(
      not has_table_privilege('anon', r.rel, 'select, insert, update, delete, truncate, references, trigger')
      and not has_any_column_privilege('anon', r.rel, 'select, insert, update, references'),
      format('%s: anon has no privilege', r.rel));
  end loop;

  -- Partitions are read through their parent only: no privilege for anon or authenticated.
  for r in
    select i.inhrelid::regclass as rel
    from pg_inherits i
    join pg_class p on p.oid = i.inhparent
    where p.relnamespace in ('public'::regnamespace, 'ops'::regnamespace) and p.relkind = 'p'
    order by 1::text
  loop
    return next ok(
      not has_table_privilege('authenticated', r.rel, 'select, insert, update, delete, truncate, references, trigger')
      and not has_any_column_privilege('authenticated', r.rel, 'select, insert, update, references')
      and not has_table_privilege('anon', r.rel, 'select, insert, update, delete, truncate, references, trigger'),
      format('partition %s: no privilege for anon or authenticated', r.rel));
  end loop;

  return next is(
    array(select format('%s.%s %s: %s', schemaname, tablename, policyname, roles)
          from pg_policies
          where schemaname in ('public', 'ops') and roles <> '{authenticated}'::name[]
          order by 1),
    '{}'::text[],
    'every policy of public and ops targets authenticated only');

  -- auth.uid() in a policy must be wrapped as (select auth.uid()) to be evaluated once per query.
  return next is(
    array(select format('%s.%s %s', schemaname, tablename, policyname)
          from pg_policies
          where schemaname in ('public', 'ops')
            and (
              regexp_count(coalesce(qual, '') || coalesce(with_check, ''), 'auth\.uid\(\)')
              <> regexp_count(coalesce(qual, '') || coalesce(with_check, ''), 'SELECT auth\.uid\(\)')
              or regexp_count(coalesce(qual, '') || coalesce(with_check, ''), 'private\.user_tenant_ids')
              <> regexp_count(coalesce(qual, '') || coalesce(with_check, ''), 'SELECT private\.user_tenant_ids')
            )
          order by 1),
    '{}'::text[],
    'policies call auth.uid() and the membership helpers through a sub-select (once per statement)');

  -- ... and compare the tenant key with `= any (array(select ...))`, which can use its index.
  return next is(
    array(select format('%s.%s %s', schemaname, tablename, policyname)
          from pg_policies
          where schemaname in ('public', 'ops')
            and regexp_count(coalesce(qual, '') || coalesce(with_check, ''), 'private\.user_tenant_ids')
              <> regexp_count(coalesce(qual, '') || coalesce(with_check, ''), '= ANY \(ARRAY\( SELECT private\.user_tenant_ids')
          order by 1),
    '{}'::text[],
    'policies match the tenant key as = any (array(select private.user_tenant_ids...())) (index-friendly)');

  return next ok(
    not has_schema_privilege('anon', 'ops', 'usage') and not has_schema_privilege('authenticated', 'ops', 'usage'),
    'schema ops: no usage for anon or authenticated');

  for r in
    select p.oid::regprocedure as fn, p.prosecdef, p.provolatile, p.proconfig
    from pg_proc p
    where p.pronamespace = 'private'::regnamespace
      and p.proname in ('user_tenant_ids', 'user_tenant_ids_with_role')
  loop
    return next ok(
      r.prosecdef and r.provolatile = 's' and r.proconfig @> array['search_path=""'],
      format('%s: security definer, stable, empty search_path', r.fn));
    return next ok(
      not has_function_privilege('anon', r.fn, 'execute')
      and has_function_privilege('authenticated', r.fn, 'execute'),
      format('%s: executable by authenticated, not by anon', r.fn));
  end loop;

  return next is(
    array(select p.oid::regprocedure::text
          from pg_proc p
          where p.pronamespace = 'private'::regnamespace and has_function_privilege('anon', p.oid, 'execute')
          order by 1),
    '{}'::text[],
    'no function of schema private is executable by anon');

  -- A security definer function the API roles can call runs with its owner's rights, past RLS.
  return next is(
    array(select p.oid::regprocedure::text
          from pg_proc p
          where p.pronamespace in ('public'::regnamespace, 'ops'::regnamespace)
            and p.prosecdef
            and (has_function_privilege('anon', p.oid, 'execute')
                 or has_function_privilege('authenticated', p.oid, 'execute'))
          order by 1),
    '{}'::text[],
    'no security definer function of public or ops is executable by anon or authenticated');

  -- Grants are explicit: a table created in public from now on (as the migrations create them)
  -- gets nothing for anon/authenticated, whatever defaults the platform had; service_role all.
  create table public.tests_new_table (tenant_id uuid);
  return next ok(
    not has_table_privilege('anon', 'public.tests_new_table', 'select, insert, update, delete, truncate, references, trigger')
    and not has_table_privilege('authenticated', 'public.tests_new_table', 'select, insert, update, delete, truncate, references, trigger')
    and has_table_privilege('service_role', 'public.tests_new_table', 'select, insert, update, delete'),
    'a new table in public: no default grants to anon or authenticated, all to service_role');
  drop table public.tests_new_table;

  return next ok(
    not has_column_privilege('authenticated', 'public.devices', 'credential_hash', 'select')
    and not has_column_privilege('authenticated', 'public.devices', 'credential_hash', 'update')
    and not has_column_privilege('authenticated', 'public.devices', 'credential_hash', 'insert'),
    'devices.credential_hash: neither readable nor writable by authenticated');
end
$$;

select * from tests.check_catalog();

select ok((select created from new_partition) = 1, 'ops.ensure_telemetry_partitions created a new partition');
select ok(
  (select relrowsecurity from pg_class where oid = (select name from new_partition)::regclass)
  and not has_table_privilege('authenticated', (select name from new_partition), 'select, insert, update, delete')
  and not has_table_privilege('anon', (select name from new_partition), 'select, insert, update, delete'),
  'a partition made by ops.ensure_telemetry_partitions has RLS and no grants to anon/authenticated');

select * from tests.check_isolation('migration grants');
select * from tests.check_anon('migration grants');

-- Supabase's defaults: everything in public granted to anon and authenticated. Also ops, to
-- show its tables are closed by RLS too, not only by the missing schema usage.
grant usage on schema ops to anon, authenticated;
grant all on all tables in schema public to anon, authenticated;
grant all on all sequences in schema public to anon, authenticated;
grant all on all tables in schema ops to anon, authenticated;
grant all on all sequences in schema ops to anon, authenticated;

select * from tests.check_isolation('broad grants');
select * from tests.check_anon('broad grants');

select * from finish();
rollback;
