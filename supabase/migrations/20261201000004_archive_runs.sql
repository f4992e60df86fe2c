-- Each daily archive run (archive_timer, common/archive/archive-run-record.ts): when it started and
-- ended, in which mode, what it did and what went wrong, and two facts measured at its end: the
-- database's size and the rows waiting in telemetry's default partition. The daily check
-- daily.archive and the go-live item golive.archive read them (ops/sources/archive-facts.ts): did
-- the archive run and verify, and how fast the database grows towards the plan's limit.
--
-- Additive: a new table, its index and its trigger; nothing existing changes.

create table ops.archive_runs (
  id bigint generated always as identity primary key,
  started_at timestamptz not null default now(),
  -- Null while it runs, and for ever when it was killed (the next run goes on where it stopped).
  finished_at timestamptz,
  actor text not null check (actor <> ''),
  mode text not null check (mode in ('disabled', 'enabled', 'purge-without-archive')),
  -- A dry run says what would go and removes nothing: not a run of the archive for the checks.
  dry_run boolean not null default false,
  -- The environment's cap on every tenant's retention (ARCHIVE_RETENTION_DAYS), when it has one.
  retention_days integer check (retention_days > 0),
  -- The time budget stopped it before every eligible day was done.
  unfinished boolean,
  objects_exported integer check (objects_exported >= 0),
  objects_verified integer check (objects_verified >= 0),
  rows_verified bigint check (rows_verified >= 0),
  rows_removed bigint check (rows_removed >= 0),
  -- Per failed day or object, and the message of a run that threw.
  errors text[] not null default '{}',
  -- pg_database_size(current_database()) at the end: the daily samples of the size projection.
  database_bytes bigint check (database_bytes >= 0),
  -- Rows in public.telemetry_default at the end, counted up to a bound (the recorder's, 100,001).
  default_partition_rows bigint check (default_partition_rows >= 0),
  -- The rest of the run's result (days and their outcome, partitions dropped, purged rows...).
  summary jsonb,
  constraint archive_runs_ends_after_start check (finished_at is null or finished_at >= started_at),
  constraint archive_runs_results_once_finished check (
    finished_at is not null
    or (unfinished is null and objects_exported is null and objects_verified is null and rows_verified is null
        and rows_removed is null and cardinality(errors) = 0 and database_bytes is null
        and default_partition_rows is null and summary is null))
);
-- The checks read the newest runs; the pruning below reads the oldest.
create index archive_runs_started_at_idx on ops.archive_runs (started_at);

-- A bounded history: a run's insert takes out the runs that started more than 400 days before it
-- (a year of daily samples and some, for the size chart and the days-to-full projection).
create or replace function ops.archive_runs_prune()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  delete from ops.archive_runs where started_at < now() - interval '400 days';
  return null;
end;
$$;
create trigger archive_runs_prune
  after insert on ops.archive_runs
  for each statement execute function ops.archive_runs_prune();


-- Access: the ops schema's rule (RLS on, no policy; service_role only) --------------------------------

alter table ops.archive_runs enable row level security;
revoke all on ops.archive_runs from public, anon, authenticated;
grant all on ops.archive_runs to service_role;
revoke all on function ops.archive_runs_prune() from public, anon, authenticated;
