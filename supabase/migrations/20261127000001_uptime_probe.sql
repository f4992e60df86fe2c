-- The minute-level uptime probe (an Azure Functions timer, functions/src/probe/): each run's
-- results, and per check the current state with the time it began. The state's newest last_at is
-- the probe's heartbeat, which the GitHub watchdog checks from outside (golive.probe-heartbeat).

create table ops.probe_runs (
  id bigint generated always as identity primary key,
  at timestamptz not null default now(),
  check_id text not null,
  status text not null check (status in ('ok', 'warn', 'fail', 'error', 'skipped')),
  latency_ms integer check (latency_ms >= 0),
  summary text not null default ''
);
-- Pruning by age and "the last runs of a check" both read by time.
create index probe_runs_at_idx on ops.probe_runs (at);
create index probe_runs_check_at_idx on ops.probe_runs (check_id, at desc);

create table ops.probe_state (
  check_id text primary key,
  -- up: ok or warn; down: fail or error. A change between them is what GitHub hears about.
  state text not null check (state in ('up', 'down')),
  status text not null check (status in ('ok', 'warn', 'fail', 'error', 'skipped')),
  since timestamptz not null,
  last_at timestamptz not null,
  summary text not null default '',
  -- A change not yet delivered to GitHub (repository_dispatch failed): the next run sends it again.
  dispatch_pending boolean not null default false
);
create index probe_state_last_at_idx on ops.probe_state (last_at);

-- Defence in depth like the other ops tables: RLS on, no policy, so only roles that bypass RLS.
alter table ops.probe_runs enable row level security;
alter table ops.probe_state enable row level security;
revoke all on ops.probe_runs, ops.probe_state from public, anon, authenticated;
grant all on ops.probe_runs, ops.probe_state to service_role;
