-- The telemetry archive (docs/archive.md, functions/src/archive): each tenant's rows of a day older
-- than its retention are exported to one Blob object, read back and verified, and only then removed
-- from the database: the day's partition dropped when every tenant of the day is archived, or the
-- tenant's rows deleted when tenants of one day have different retention.
--
--   ops.archive_objects            one row per object: its manifest and where it is in its life
--   ops.archive_holds              tenant-days `ops archive restore` brought back, kept until a date
--   ops.archive_retention()        each tenant's retention: plan, override in force, environment cap
--   ops.archive_drop_day()         detach + drop a day's partition, only if it holds exactly the
--                                  rows of verified objects (or, purging, without a copy)
--   ops.archive_delete_tenant_day() the same for one tenant's rows of a day
--
-- The two removals are security definer (dropping a partition needs its owner; the archive connects
-- as service_role) and check, in their own transaction, under a lock that stops writes to the
-- partition, that what they remove is exactly what the verified objects hold. The caller's
-- verification can be stale (a restore may have run since); this check cannot.


-- Objects ---------------------------------------------------------------------------------------
-- No foreign key to tenants, like public.telemetry: rows of a deleted tenant are still archived,
-- and the record of where they went must outlive the tenant.

create table ops.archive_objects (
  tenant_id uuid not null,
  day date not null,
  -- 1 for <dd>.ndjson.gz; a later export of the same tenant-day (rows restored and changed) never
  -- overwrites an object whose rows were removed: it is generation 2, <dd>.2.ndjson.gz, and so on.
  generation integer not null default 1 check (generation between 1 and 999),
  tenant_slug text not null,
  blob_name text not null unique,
  --   exporting  the upload started (a blob of that name may be missing or stale)
  --   uploaded   the blob is committed with this manifest, not yet read back
  --   verified   read back: its bytes, rows and content match this row and the database's count
  --   dropped    its rows were removed from the database (partition dropped or rows deleted)
  --   failed     the export or the verification failed (error); the next run exports again
  state text not null check (state in ('exporting', 'uploaded', 'verified', 'dropped', 'failed')),
  rows bigint check (rows >= 0),
  bytes bigint check (bytes >= 0),
  sha256 text check (sha256 ~ '^[0-9a-f]{64}$'),
  content_sha256 text check (content_sha256 ~ '^[0-9a-f]{64}$'),
  min_ts timestamptz,
  max_ts timestamptz,
  schema_version text,
  format text not null,
  error text,
  created_at timestamptz not null default now(),
  uploaded_at timestamptz,
  verified_at timestamptz,
  dropped_at timestamptz,
  updated_at timestamptz not null default now(),
  primary key (tenant_id, day, generation),
  constraint archive_objects_manifest_once_uploaded check (
    state in ('exporting', 'failed')
    or (rows is not null and bytes is not null and sha256 is not null and content_sha256 is not null
        and schema_version is not null and uploaded_at is not null)),
  constraint archive_objects_verified_has_time check (state not in ('verified', 'dropped') or verified_at is not null),
  constraint archive_objects_dropped_has_time check ((state = 'dropped') = (dropped_at is not null))
);
-- The daily run reads a day's objects; the ops checks the newest verification.
create index archive_objects_day_idx on ops.archive_objects (day, tenant_id);
create index archive_objects_state_idx on ops.archive_objects (state, updated_at);


-- Holds: restored tenant-days the archive leaves alone until `until` ---------------------------

create table ops.archive_holds (
  tenant_id uuid not null,
  day date not null,
  until timestamptz not null,
  reason text not null default '',
  created_by text not null default '',
  created_at timestamptz not null default now(),
  primary key (tenant_id, day)
);


-- Retention per tenant ----------------------------------------------------------------------------
-- The plan's retention_days, lowered by an override in force (ops.effective_retention_days, the
-- one place that combines those two) and by the environment's cap when it has one (archive
-- retentionDays in runbook/environments/<env>.yaml, ARCHIVE_RETENTION_DAYS in the Function App).

create or replace function ops.archive_retention(p_environment_days integer default null, p_at timestamptz default now())
returns table (tenant_id uuid, slug text, plan_days integer, retention_days integer)
language sql
stable
set search_path = ''
as $$
  select t.id, t.slug, p.retention_days,
         least(ops.effective_retention_days(t.id, p_at), p_environment_days)
    from public.tenants t
    join public.plans p on p.id = t.plan_id
$$;


-- Removing a day, or a tenant's rows of a day -------------------------------------------------------

-- The verified objects of a day (the newest generation per tenant), and per tenant the rows the
-- partition holds: what both removals compare. Rows of a tenant with no verified object, or a count
-- that differs, or a hold in force, refuse the removal with a message naming the object.
create or replace function ops.archive_removal_problems(p_day date, p_partition regclass, p_tenant_id uuid default null)
returns text[]
language plpgsql
set search_path = ''
as $$
declare
  problems text[] := '{}';
  r record;
begin
  for r in execute format(
    $q$select coalesce(c.tenant_id, o.tenant_id) as tenant_id, coalesce(c.n, 0) as n, o.blob_name, o.rows, o.state,
              h.until as held_until
         from (select tenant_id, count(*) as n from %s where ($1::uuid is null or tenant_id = $1) group by tenant_id) c
         full join (select distinct on (x.tenant_id) x.tenant_id, x.blob_name, x.rows, x.state
                      from ops.archive_objects x
                     where x.day = $2 and ($1::uuid is null or x.tenant_id = $1) and x.state <> 'dropped'
                     order by x.tenant_id, x.generation desc) o on o.tenant_id = c.tenant_id
         left join ops.archive_holds h on h.tenant_id = coalesce(c.tenant_id, o.tenant_id) and h.day = $2 and h.until > now()$q$,
    p_partition) using p_tenant_id, p_day
  loop
    if r.held_until is not null and r.n > 0 then
      problems := problems || format('tenant %s: restored rows held until %s', r.tenant_id, r.held_until);
    elsif r.blob_name is null and r.n > 0 then
      problems := problems || format('tenant %s: %s rows and no verified object', r.tenant_id, r.n);
    elsif r.blob_name is not null and r.state <> 'verified' and r.n > 0 then
      problems := problems || format('%s is %s, not verified (%s rows in the database)', r.blob_name, r.state, r.n);
    elsif r.blob_name is not null and r.state = 'verified' and r.rows <> r.n then
      problems := problems || format('%s holds %s rows, the database %s', r.blob_name, r.rows, r.n);
    end if;
  end loop;
  return problems;
end;
$$;

-- The day partition of public.telemetry holding p_day (ops.ensure_telemetry_partitions names
-- them telemetry_pYYYYMMDD), or null when the day has none attached.
create or replace function ops.telemetry_day_partition(p_day date)
returns regclass
language sql
stable
set search_path = ''
as $$
  select c.oid::regclass
    from pg_catalog.pg_class c
    join pg_catalog.pg_inherits i on i.inhrelid = c.oid
   where c.relnamespace = 'public'::regnamespace
     and c.relname = 'telemetry_p' || to_char(p_day, 'YYYYMMDD')
     and i.inhparent = 'public.telemetry'::regclass;
$$;

-- Detaches and drops the day's partition (public.telemetry_pYYYYMMDD) in one transaction. Archiving
-- (p_purge false): only when every tenant's rows of the day are exactly those of its verified
-- object; the objects become 'dropped'. Purging (p_purge true, archive mode purge-without-archive):
-- no object is needed; the rows are gone for good and ops.audit_log says how many of whose.
-- Returns {"partition", "rows", "tenants": {tenant_id: rows}}, or null when there is no such
-- partition. Raises (and changes nothing) when the check fails or a lock is not granted in 5 s.
create or replace function ops.archive_drop_day(p_day date, p_purge boolean default false, p_actor text default 'archive')
returns jsonb
language plpgsql
security definer
set search_path = ''
as $$
declare
  part text := 'telemetry_p' || to_char(p_day, 'YYYYMMDD');
  rel regclass;
  problems text[];
  per_tenant jsonb;
  total bigint;
begin
  rel := ops.telemetry_day_partition(p_day);
  if rel is null then
    return null;
  end if;
  -- Waiting behind a long query would queue every insert behind this lock: give up instead, the
  -- next run tries again.
  perform pg_catalog.set_config('lock_timeout', '5s', true);
  -- Detached first: from here on nothing can write to it, so the check below sees the final rows.
  execute format('alter table public.telemetry detach partition %s', rel);
  if not p_purge then
    problems := ops.archive_removal_problems(p_day, rel);
    if cardinality(problems) > 0 then
      raise exception 'archive: % not dropped: %', part, array_to_string(problems, '; ')
        using errcode = 'P0001', hint = 'the partition is attached again; the next run exports or verifies again';
    end if;
  end if;
  execute format('select coalesce(jsonb_object_agg(tenant_id, n), ''{}''::jsonb), coalesce(sum(n), 0)
                    from (select tenant_id, count(*) as n from %s group by tenant_id) c', rel)
    into per_tenant, total;
  execute format('drop table %s', rel);
  update ops.archive_objects
     set state = 'dropped', dropped_at = now(), updated_at = now()
   where day = p_day and state = 'verified';
  insert into ops.audit_log (actor, action, target, detail)
  values (p_actor, case when p_purge then 'telemetry.purge_day' else 'telemetry.drop_archived_day' end, part,
          jsonb_build_object('day', p_day, 'rows', total, 'tenants', per_tenant));
  return jsonb_build_object('partition', part, 'rows', total, 'tenants', per_tenant);
end;
$$;

-- Deletes one tenant's rows of a day (tenants of that day have different retention) under the same
-- rule as ops.archive_drop_day. Returns the rows deleted, or null when the day has no partition.
create or replace function ops.archive_delete_tenant_day(p_tenant_id uuid, p_day date, p_purge boolean default false,
                                                         p_actor text default 'archive')
returns bigint
language plpgsql
security definer
set search_path = ''
as $$
declare
  part text := 'telemetry_p' || to_char(p_day, 'YYYYMMDD');
  rel regclass;
  problems text[];
  deleted bigint;
begin
  rel := ops.telemetry_day_partition(p_day);
  if rel is null then
    return null;
  end if;
  perform pg_catalog.set_config('lock_timeout', '5s', true);
  -- Exclusive: reads go on, writes (a restore) wait until this transaction ends.
  execute format('lock table %s in exclusive mode', rel);
  if not p_purge then
    problems := ops.archive_removal_problems(p_day, rel, p_tenant_id);
    if cardinality(problems) > 0 then
      raise exception 'archive: rows of tenant % on % not deleted: %', p_tenant_id, p_day, array_to_string(problems, '; ')
        using errcode = 'P0001';
    end if;
  end if;
  execute format('delete from %s where tenant_id = $1', rel) using p_tenant_id;
  get diagnostics deleted = row_count;
  update ops.archive_objects
     set state = 'dropped', dropped_at = now(), updated_at = now()
   where tenant_id = p_tenant_id and day = p_day and state = 'verified';
  insert into ops.audit_log (actor, action, target, detail)
  values (p_actor, case when p_purge then 'telemetry.purge_tenant_day' else 'telemetry.delete_archived_tenant_day' end,
          part, jsonb_build_object('day', p_day, 'tenant_id', p_tenant_id, 'rows', deleted));
  return deleted;
end;
$$;


-- Access: the ops schema's rule (RLS on, no policy; service_role only) --------------------------------

alter table ops.archive_objects enable row level security;
alter table ops.archive_holds enable row level security;
revoke all on ops.archive_objects, ops.archive_holds from public, anon, authenticated;
grant all on ops.archive_objects, ops.archive_holds to service_role;

revoke all on function ops.archive_retention(integer, timestamptz) from public, anon, authenticated;
revoke all on function ops.archive_removal_problems(date, regclass, uuid) from public, anon, authenticated;
revoke all on function ops.telemetry_day_partition(date) from public, anon, authenticated;
revoke all on function ops.archive_drop_day(date, boolean, text) from public, anon, authenticated;
revoke all on function ops.archive_delete_tenant_day(uuid, date, boolean, text) from public, anon, authenticated;
grant execute on function ops.archive_retention(integer, timestamptz) to service_role;
grant execute on function ops.archive_removal_problems(date, regclass, uuid) to service_role;
grant execute on function ops.telemetry_day_partition(date) to service_role;
grant execute on function ops.archive_drop_day(date, boolean, text) to service_role;
grant execute on function ops.archive_delete_tenant_day(uuid, date, boolean, text) to service_role;
