-- What Supabase provides and plain PostgreSQL lacks, for NON-Supabase databases only (the local
-- sandbox, tests, CI). Never apply this to a Supabase project: there these objects already exist
-- and belong to Supabase. Applied before the migrations by supabase/migrate.ts.
--
-- Mirrors Supabase: the roles anon / authenticated / service_role (service_role bypasses RLS),
-- the auth schema with auth.users, and auth.uid() / auth.jwt() / auth.role() reading the JWT claims
-- PostgREST puts in `request.jwt.claims` (and the older per-claim settings).

-- Roles belong to the cluster, not the database: two test databases created at once on a fresh
-- server both find a role missing, and the second create fails (23505 on pg_authid), so a role
-- created meanwhile by someone else counts as created.
do $$
declare
  spec text[];
begin
  foreach spec slice 1 in array array[
    ['anon', 'nologin noinherit'],
    ['authenticated', 'nologin noinherit'],
    ['service_role', 'nologin noinherit bypassrls']
  ] loop
    if not exists (select from pg_roles where rolname = spec[1]) then
      begin
        execute format('create role %I %s', spec[1], spec[2]);
      exception when duplicate_object or unique_violation then
        null;
      end;
    end if;
  end loop;
end
$$;

create schema if not exists extensions;
create schema if not exists auth;
grant usage on schema auth to anon, authenticated, service_role;

create table if not exists auth.users (
  id uuid primary key,
  email text unique,
  raw_app_meta_data jsonb not null default '{}'::jsonb,
  raw_user_meta_data jsonb not null default '{}'::jsonb,
  created_at timestamptz not null default now()
);

create or replace function auth.jwt() returns jsonb
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claims', true), ''),
    nullif(current_setting('request.jwt.claim', true), ''),
    '{}'
  )::jsonb
$$;

create or replace function auth.uid() returns uuid
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.sub', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
  )::uuid
$$;

create or replace function auth.role() returns text
language sql stable
as $$
  select coalesce(
    nullif(current_setting('request.jwt.claim.role', true), ''),
    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
  )::text
$$;

grant execute on function auth.jwt(), auth.uid(), auth.role() to anon, authenticated, service_role;
grant usage on schema public to anon, authenticated, service_role;
grant usage on schema extensions to anon, authenticated, service_role;

-- A hosted project's default privileges in public: whatever postgres creates there is granted to
-- anon, authenticated and service_role. Mirrored so that migrations meet the same defaults here
-- (20261126000002_tenant_isolation.sql revokes those of anon/authenticated). Only on a database
-- no migration has touched yet: re-running the shim must not undo a migration's revoke.
do $$
begin
  if to_regclass('supabase_migrations.schema_migrations') is null then
    alter default privileges in schema public grant all on tables to anon, authenticated, service_role;
    alter default privileges in schema public grant all on sequences to anon, authenticated, service_role;
    alter default privileges in schema public grant all on functions to anon, authenticated, service_role;
  end if;
end
$$;

-- For the local Supabase stand-in's Auth endpoints (scripts/sandbox/supabase-standin.ts):
-- passwords (hashed; the stand-in uses scrypt where GoTrue uses bcrypt), sessions and rotating
-- refresh tokens, in the tables and columns Supabase Auth has. Nothing here is granted to the API
-- roles: only the stand-in's own connection reads them, as only GoTrue does on Supabase.
alter table auth.users add column if not exists encrypted_password text;
alter table auth.users add column if not exists last_sign_in_at timestamptz;
alter table auth.users add column if not exists updated_at timestamptz;

create table if not exists auth.sessions (
  id uuid primary key,
  user_id uuid not null references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists sessions_user_id_idx on auth.sessions (user_id);

-- `token` holds the SHA-256 (hex) of the refresh token, not the token itself as GoTrue stores it.
create table if not exists auth.refresh_tokens (
  id bigserial primary key,
  token text not null unique,
  user_id uuid not null references auth.users (id) on delete cascade,
  session_id uuid not null references auth.sessions (id) on delete cascade,
  revoked boolean not null default false,
  parent text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
create index if not exists refresh_tokens_session_id_idx on auth.refresh_tokens (session_id);
