-- The database lints of Supabase's Security and Performance Advisors, as one read-only query over
-- the catalogs, for any PostgreSQL 15+ with supabase/local/supabase-shim.sql applied (or a Supabase
-- project). Run by supabase/tests/advisor-lints.test.ts against a fresh database with every
-- migration; see docs/schema.md ("Advisor lints").
--
-- Source: the lints of https://github.com/supabase/splinter (lints/*.sql) as of commit
-- 55db5b1f28e58d816f7d9136eed87eabcd95868d (2026-04-27). splinter carries no licence file
-- (supabase/splinter#137 is open), so nothing of it is copied here: this is an independent
-- implementation of what each lint checks, keeping its number, name, level and cache_key format so
-- that a finding here is the finding the hosted Advisor shows and the same key accepts it.
--
-- Implemented (every ERROR and WARN lint):
--   0002 auth_users_exposed            ERROR   0015 rls_references_user_metadata   ERROR
--   0003 auth_rls_initplan             WARN    0016 materialized_view_in_api        WARN
--   0006 multiple_permissive_policies  WARN    0017 foreign_table_in_api            WARN
--   0007 policy_exists_rls_disabled    ERROR   0018 unsupported_reg_types           WARN
--   0009 duplicate_index               WARN    0019 insecure_queue_exposed_in_api   ERROR
--   0010 security_definer_view         ERROR   0021 fkey_to_auth_unique             ERROR
--   0011 function_search_path_mutable  WARN    0022 extension_versions_outdated     WARN
--   0013 rls_disabled_in_public        ERROR   0023 sensitive_columns_exposed       ERROR
--   0014 extension_in_public           WARN    0024 rls_policy_always_true          WARN
--   0026 pg_graphql_anon_table_exposed WARN    0028 anon_security_definer_function_executable          WARN
--   0027 pg_graphql_authenticated_table_exposed WARN
--   0029 authenticated_security_definer_function_executable WARN
-- Not implemented, and why:
--   0001, 0004, 0005, 0008, 0020 (INFO): performance and housekeeping hints that never fail the
--     check; 0005 (unused index) and 0020 (bloat) read the statistics of a live database, which a
--     freshly migrated one does not have.
--   0012 (anonymous sign-ins): a setting of Supabase Auth, not of the database.
--   0025 (public bucket allows listing): Supabase Storage, which this platform does not use; the
--     shim has no storage schema.
-- 0019 and 0026/0027 run, but find nothing unless pgmq / pg_graphql are installed (they are not
-- in the shim; docs/adopt.md says to disable pg_graphql on the project, which does not use it).
--
-- The Data API's schemas come from the setting PostgREST uses, pgrst.db_schemas (comma separated):
-- the test sets it from supabase/config.toml [api] schemas, as Supabase does on a project.
-- Columns: lint (number), name, level (ERROR | WARN), cache_key, detail.
with
internal_schema(nspname) as (
  -- Owned by Supabase or by extensions: no lint looks inside.
  values ('auth'), ('storage'), ('extensions'), ('graphql'), ('graphql_public'), ('realtime'),
    ('supabase_functions'), ('supabase_migrations'), ('vault'), ('pgsodium'), ('pgsodium_masks'),
    ('pgbouncer'), ('net'), ('cron'), ('pgmq'), ('pgtle'), ('repack'), ('pgroonga'), ('tiger'),
    ('topology'), ('information_schema'), ('pg_catalog'), ('_timescaledb_cache'),
    ('_timescaledb_catalog'), ('_timescaledb_config'), ('_timescaledb_internal')
),
api_schema(nspname) as (
  select pg_catalog.btrim(s)
    from pg_catalog.unnest(pg_catalog.string_to_array(pg_catalog.current_setting('pgrst.db_schemas', true), ',')) s
),
api_role(rolname) as (values ('anon'), ('authenticated')),
extension_member(objid) as (select d.objid from pg_catalog.pg_depend d where d.deptype = 'e'),
rel as (
  -- Every relation, with where it lives and what the API roles may do with it.
  select c.oid, n.nspname, c.relname, c.relkind, c.relrowsecurity,
         n.nspname in (select nspname from internal_schema)
           or n.nspname like 'pg\_toast%' or n.nspname like 'pg\_temp%' as internal,
         n.nspname in (select nspname from api_schema) as in_api,
         c.oid in (select objid from extension_member) as from_extension,
         pg_catalog.has_table_privilege('anon', c.oid, 'SELECT') as anon_select,
         pg_catalog.has_table_privilege('authenticated', c.oid, 'SELECT') as authenticated_select,
         exists (
           select from pg_catalog.unnest(c.reloptions) o
            where pg_catalog.lower(o) in ('security_invoker=true', 'security_invoker=on',
                                          'security_invoker=yes', 'security_invoker=1')
         ) as security_invoker
    from pg_catalog.pg_class c
    join pg_catalog.pg_namespace n on n.oid = c.relnamespace
),
user_rel as (select * from rel where not internal and not from_extension),
policy as (
  select p.oid, r.nspname, r.relname, r.relkind, r.relrowsecurity, p.polname, p.polpermissive,
         p.polroles, p.polcmd,
         coalesce(pg_catalog.pg_get_expr(p.polqual, p.polrelid), '') as using_expr,
         coalesce(pg_catalog.pg_get_expr(p.polwithcheck, p.polrelid), '') as check_expr,
         p.polqual is null as no_using,
         p.polwithcheck is null as no_check
    from pg_catalog.pg_policy p
    join user_rel r on r.oid = p.polrelid
),
func as (
  select p.oid, n.nspname, p.proname, p.prokind, p.prosecdef, p.proconfig, p.prosrc,
         pg_catalog.pg_get_function_identity_arguments(p.oid) as args,
         n.nspname in (select nspname from api_schema) as in_api
    from pg_catalog.pg_proc p
    join pg_catalog.pg_namespace n on n.oid = p.pronamespace
   where n.nspname not in (select nspname from internal_schema)
     and n.nspname not like 'pg\_toast%' and n.nspname not like 'pg\_temp%'
     and p.oid not in (select objid from extension_member)
)

-- 0002: a view or materialized view over auth.users that the API roles can read, where RLS cannot
-- protect the rows (materialized, a definer view, or an invoker view over auth.users without RLS).
select '0002' as lint, 'auth_users_exposed' as name, 'ERROR' as level,
       pg_catalog.format('auth_users_exposed_%s_%s', v.nspname, v.relname) as cache_key,
       pg_catalog.format('%s.%s reads auth.users and is readable by anon or authenticated', v.nspname, v.relname) as detail
  from rel v
 where v.relkind in ('v', 'm') and v.in_api and (v.anon_select or v.authenticated_select)
   and exists (
     select from pg_catalog.pg_rewrite rw
       join pg_catalog.pg_depend d on d.objid = rw.oid and d.deptype = 'n'
      where rw.ev_class = v.oid and d.refobjid = pg_catalog.to_regclass('auth.users')
   )
   and (v.relkind = 'm' or not v.security_invoker
        or not (select c.relrowsecurity from pg_catalog.pg_class c where c.oid = pg_catalog.to_regclass('auth.users')))

union all
-- 0003: a policy that calls auth.<fn>() or current_setting() per row instead of once per statement
-- (the call is not wrapped in a scalar sub-select).
select '0003', 'auth_rls_initplan', 'WARN',
       pg_catalog.format('auth_rls_init_plan_%s_%s_%s', p.nspname, p.relname, p.polname),
       pg_catalog.format('policy %s on %s.%s calls %s for every row; write (select %s) instead',
                         p.polname, p.nspname, p.relname, f.call, f.call)
  from policy p
 cross join (values ('auth.uid()'), ('auth.jwt()'), ('auth.role()'), ('auth.email()'), ('current_setting(')) f(call)
 where p.relrowsecurity
   and exists (
     select from (values (p.using_expr), (p.check_expr)) e(expr)
      where pg_catalog.strpos(e.expr, f.call) > 0
        and pg_catalog.strpos(pg_catalog.lower(e.expr), 'select ' || f.call) = 0
   )

union all
-- 0006: more than one permissive policy for the same role and command: every one runs per row.
select '0006', 'multiple_permissive_policies', 'WARN',
       pg_catalog.format('multiple_permissive_policies_%s_%s_%s_%s', x.nspname, x.relname, x.rolname, x.cmd),
       pg_catalog.format('%s.%s has %s permissive policies for role %s on %s: %s', x.nspname, x.relname,
                         pg_catalog.count(*), x.rolname, x.cmd, pg_catalog.string_agg(x.polname, ', ' order by x.polname))
  from (
    select p.nspname, p.relname, p.polname, r.rolname, c.cmd
      from policy p
      join pg_catalog.pg_roles r on r.oid = any (p.polroles) or p.polroles = array[0::oid]
     cross join lateral pg_catalog.unnest(case p.polcmd when 'r' then array['SELECT'] when 'a' then array['INSERT']
                                                        when 'w' then array['UPDATE'] when 'd' then array['DELETE']
                                                        else array['SELECT', 'INSERT', 'UPDATE', 'DELETE'] end) c(cmd)
     where p.relkind = 'r' and p.polpermissive
       and r.rolname not like 'pg\_%' and r.rolname not like 'supabase%admin' and not r.rolbypassrls
  ) x
 group by x.nspname, x.relname, x.rolname, x.cmd
having pg_catalog.count(*) > 1

union all
-- 0007: policies exist but RLS is off, so none of them applies.
select '0007', 'policy_exists_rls_disabled', 'ERROR',
       pg_catalog.format('policy_exists_rls_disabled_%s_%s', p.nspname, p.relname),
       pg_catalog.format('%s.%s has policies (%s) but row level security is disabled', p.nspname, p.relname,
                         pg_catalog.string_agg(p.polname, ', ' order by p.polname))
  from policy p
 where p.relkind = 'r' and not p.relrowsecurity
 group by p.nspname, p.relname

union all
-- 0009: two or more indexes that are the same index under different names.
select '0009', 'duplicate_index', 'WARN',
       pg_catalog.format('duplicate_index_%s_%s_%s', t.nspname, t.relname, pg_catalog.array_agg(ic.relname order by ic.relname)),
       pg_catalog.format('%s.%s has identical indexes %s', t.nspname, t.relname, pg_catalog.array_agg(ic.relname order by ic.relname))
  from pg_catalog.pg_index i
  join user_rel t on t.oid = i.indrelid and t.relkind in ('r', 'm')
  join pg_catalog.pg_class ic on ic.oid = i.indexrelid
 group by t.nspname, t.relname, ic.relam, i.indisunique, i.indkey::text, i.indclass::text,
          i.indcollation::text, i.indoption::text,
          coalesce(pg_catalog.pg_get_expr(i.indexprs, i.indrelid), ''),
          coalesce(pg_catalog.pg_get_expr(i.indpred, i.indrelid), '')
having pg_catalog.count(*) > 1

union all
-- 0010: a view in the API that runs with its owner's rights (and RLS) instead of the caller's.
select '0010', 'security_definer_view', 'ERROR',
       pg_catalog.format('security_definer_view_%s_%s', v.nspname, v.relname),
       pg_catalog.format('view %s.%s is readable by anon or authenticated and is not security_invoker', v.nspname, v.relname)
  from user_rel v
 where v.relkind = 'v' and v.in_api and (v.anon_select or v.authenticated_select) and not v.security_invoker

union all
-- 0011: a function whose search_path is the caller's (aggregates included, as the Advisor does).
select '0011', 'function_search_path_mutable', 'WARN',
       pg_catalog.format('function_search_path_mutable_%s_%s_%s', f.nspname, f.proname, pg_catalog.md5(f.prosrc)),
       pg_catalog.format('function %s.%s(%s) has a role mutable search_path', f.nspname, f.proname, f.args)
  from func f
 where not exists (select from pg_catalog.unnest(f.proconfig) c where c like 'search\_path=%')

union all
-- 0013: a table in the API that the API roles can read, without row level security.
select '0013', 'rls_disabled_in_public', 'ERROR',
       pg_catalog.format('rls_disabled_in_public_%s_%s', t.nspname, t.relname),
       pg_catalog.format('table %s.%s is readable by anon or authenticated and RLS is disabled', t.nspname, t.relname)
  from rel t
 where t.relkind = 'r' and not t.internal and t.in_api and not t.relrowsecurity
   and (t.anon_select or t.authenticated_select)

union all
-- 0014: an extension installed into public.
select '0014', 'extension_in_public', 'WARN',
       pg_catalog.format('extension_in_public_%s', e.extname),
       pg_catalog.format('extension %s is installed in the public schema', e.extname)
  from pg_catalog.pg_extension e
 where e.extname <> 'plpgsql' and e.extnamespace::regnamespace::text = 'public'

union all
-- 0015: a policy that trusts user_metadata, which every user can edit for themselves.
select '0015', 'rls_references_user_metadata', 'ERROR',
       pg_catalog.format('rls_references_user_metadata_%s_%s_%s', p.nspname, p.relname, p.polname),
       pg_catalog.format('policy %s on %s.%s reads user_metadata from the JWT', p.polname, p.nspname, p.relname)
  from policy p
 where exists (
   select from (values (p.using_expr), (p.check_expr)) e(expr)
    where e.expr ~ 'auth\.jwt\(\).*user_metadata'
       or e.expr ~ 'current_setting\(.*request\.jwt\.claims.*\).*user_metadata'
 )

union all
-- 0016 / 0017: materialized views and foreign tables have no RLS; readable through the API is too much.
select case t.relkind when 'm' then '0016' else '0017' end,
       case t.relkind when 'm' then 'materialized_view_in_api' else 'foreign_table_in_api' end,
       'WARN',
       pg_catalog.format(case t.relkind when 'm' then 'materialized_view_in_api_%s_%s' else 'foreign_table_in_api_%s_%s' end,
                         t.nspname, t.relname),
       pg_catalog.format('%s %s.%s is readable by anon or authenticated',
                         case t.relkind when 'm' then 'materialized view' else 'foreign table' end, t.nspname, t.relname)
  from user_rel t
 where t.relkind in ('m', 'f') and t.in_api and (t.anon_select or t.authenticated_select)

union all
-- 0018: a column of a reg* type that pg_upgrade cannot carry over (its value is an OID).
select '0018', 'unsupported_reg_types', 'WARN',
       pg_catalog.format('unsupported_reg_types_%s_%s_%s', t.nspname, t.relname, a.attname),
       pg_catalog.format('column %s.%s.%s has type %s, which pg_upgrade does not support', t.nspname, t.relname, a.attname, ty.typname)
  from pg_catalog.pg_attribute a
  join rel t on t.oid = a.attrelid
  join pg_catalog.pg_type ty on ty.oid = a.atttypid and ty.typnamespace = 'pg_catalog'::regnamespace
 where ty.typname in ('regcollation', 'regconfig', 'regdictionary', 'regnamespace', 'regoper',
                      'regoperator', 'regproc', 'regprocedure')
   and a.attnum > 0 and not a.attisdropped
   and t.nspname not in ('pg_catalog', 'information_schema', 'pgsodium')

union all
-- 0019: a pgmq queue table without RLS that the API roles can read, with pgmq_public exposed.
select '0019', 'insecure_queue_exposed_in_api', 'ERROR',
       pg_catalog.format('rls_disabled_in_public_%s_%s', t.nspname, t.relname),
       pg_catalog.format('queue table %s.%s is readable through the API and RLS is disabled', t.nspname, t.relname)
  from rel t
 where t.nspname = 'pgmq' and t.relname like 'q\_%' and t.relkind in ('r', 'p') and not t.relrowsecurity
   and (t.anon_select or t.authenticated_select)
   and 'pgmq_public' in (select nspname from api_schema)

union all
-- 0021: a foreign key to a unique (not primary) key of an auth table, which Auth may change.
select '0021', 'fkey_to_auth_unique', 'ERROR',
       pg_catalog.format('fkey_to_auth_unique_%s_%s_%s', t.nspname, t.relname, con.conname),
       pg_catalog.format('foreign key %s of %s.%s references a unique constraint in the auth schema', con.conname, t.nspname, t.relname)
  from pg_catalog.pg_constraint con
  join rel t on t.oid = con.conrelid
  join rel target on target.oid = con.confrelid and target.nspname = 'auth'
  join pg_catalog.pg_index i on i.indexrelid = con.conindid
 where con.contype = 'f' and i.indisunique and not i.indisprimary

union all
-- 0022: an installed extension older than the version the server would install now.
select '0022', 'extension_versions_outdated', 'WARN',
       pg_catalog.format('extension_versions_outdated_%s_%s', x.name, x.installed_version),
       pg_catalog.format('extension %s is at version %s; %s is available', x.name, x.installed_version, x.default_version)
  from pg_catalog.pg_available_extensions x
 where x.installed_version is not null and x.default_version is not null
   and x.installed_version <> x.default_version
   and exists (select from pg_catalog.pg_available_extension_versions v where v.name = x.name and v.installed)

union all
-- 0023: a table that 0013 finds and whose column names say they hold secrets or personal data.
select '0023', 'sensitive_columns_exposed', 'ERROR',
       pg_catalog.format('sensitive_columns_exposed_%s_%s', t.nspname, t.relname),
       pg_catalog.format('table %s.%s is readable through the API without RLS and has sensitive columns: %s',
                         t.nspname, t.relname, pg_catalog.string_agg(a.attname, ', ' order by a.attname))
  from rel t
  join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
 where t.relkind = 'r' and not t.internal and t.in_api and not t.relrowsecurity
   and (t.anon_select or t.authenticated_select)
   and pg_catalog.replace(pg_catalog.lower(a.attname), '-', '_') in (
     'password', 'passwd', 'pwd', 'passphrase', 'secret', 'secret_key', 'private_key', 'api_key',
     'apikey', 'token', 'access_token', 'refresh_token', 'session_token', 'jwt', 'otp',
     'recovery_code', 'ssn', 'social_security_number', 'passport_number', 'national_id', 'tax_id',
     'credit_card', 'card_number', 'cvv', 'cvc', 'iban', 'bank_account', 'account_number',
     'routing_number', 'medical_record', 'health_record', 'ssh_key', 'pgp_key', 'license_key'
   )
 group by t.nspname, t.relname

union all
-- 0024: a permissive policy for anon, authenticated or everyone that lets every row be changed
-- (USING true or none for UPDATE/DELETE/ALL, WITH CHECK true, or no check at all on INSERT).
select '0024', 'rls_policy_always_true', 'WARN',
       pg_catalog.format('rls_policy_always_true_%s_%s_%s', p.nspname, p.relname, p.polname),
       pg_catalog.format('policy %s on %s.%s allows every row for %s', p.polname, p.nspname, p.relname,
                         case p.polcmd when 'a' then 'INSERT' when 'w' then 'UPDATE' when 'd' then 'DELETE' when 'r' then 'SELECT' else 'ALL' end)
  from policy p
 cross join lateral (
   select pg_catalog.regexp_replace(pg_catalog.lower(p.using_expr), '\s', '', 'g') in ('true', '(true)', '1=1', '(1=1)') as using_true,
          pg_catalog.regexp_replace(pg_catalog.lower(p.check_expr), '\s', '', 'g') in ('true', '(true)', '1=1', '(1=1)') as check_true
 ) k
 where p.relkind = 'r' and p.relrowsecurity and p.polpermissive
   and (p.polroles = array[0::oid]
        or exists (select from pg_catalog.pg_roles r where r.oid = any (p.polroles) and r.rolname in (select rolname from api_role)))
   and (
     (p.polcmd in ('w', 'd', '*') and (k.using_true or p.no_using))
     or k.check_true
     or (p.polcmd = 'a' and p.no_check)
     or (p.polcmd in ('w', '*') and p.no_check and k.using_true)
   )

union all
-- 0026 / 0027: with pg_graphql installed, any relation the role can read a column of is visible in
-- the GraphQL schema to that role.
select case g.rolname when 'anon' then '0026' else '0027' end,
       pg_catalog.format('pg_graphql_%s_table_exposed', g.rolname),
       'WARN',
       pg_catalog.format('pg_graphql_%s_table_exposed_%s_%s', g.rolname, t.nspname, t.relname),
       pg_catalog.format('%s.%s is visible in the GraphQL schema to %s', t.nspname, t.relname, g.rolname)
  from rel t
 cross join api_role g
 where exists (select from pg_catalog.pg_extension e where e.extname = 'pg_graphql')
   and t.relkind in ('r', 'v', 'm', 'f') and not t.internal
   and exists (
     select from pg_catalog.pg_attribute a
      where a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
        and pg_catalog.has_column_privilege(g.rolname, t.oid, a.attnum, 'SELECT')
   )

union all
-- 0028 / 0029: a SECURITY DEFINER function in the API that the role may call (/rest/v1/rpc).
select case g.rolname when 'anon' then '0028' else '0029' end,
       pg_catalog.format('%s_security_definer_function_executable', g.rolname),
       'WARN',
       pg_catalog.format('%s_security_definer_function_executable_%s_%s_%s', g.rolname, f.nspname, f.proname, f.args),
       pg_catalog.format('SECURITY DEFINER function %s.%s(%s) can be executed by %s', f.nspname, f.proname, f.args, g.rolname)
  from func f
 cross join api_role g
 where f.prosecdef and f.in_api and pg_catalog.has_function_privilege(g.rolname, f.oid, 'EXECUTE')

order by lint, cache_key
