-- What each bridge last said about its backlog. Every request from a bridge to mqtt_ingest carries
-- a report (header x-bridge-report: pending messages, age of the oldest, the bridge's send time),
-- an idle bridge sends one as a heartbeat, and mqtt_ingest stores it here before and independently
-- of the batch: a batch that fails forever still shows its backlog growing. Read by the check
-- daily.bridge-backlog (ops cadences and the minute-level uptime probe): too old a backlog, or no
-- report for too long (the bridge is down or cannot reach ingest), is a stuck pipeline.

create table ops.bridge_status (
  bridge_id text primary key check (bridge_id ~ '^[A-Za-z0-9._-]{1,64}$'),
  pending bigint not null check (pending >= 0),
  oldest_pending_age_ms bigint not null check (oldest_pending_age_ms >= 0),
  -- Nothing pending has no age.
  check (pending > 0 or oldest_pending_age_ms = 0),
  -- On the bridge's clock: orders concurrent reports.
  sent_at timestamptz not null,
  -- On ingest's clock: how fresh the report is, whatever the bridge's clock says.
  received_at timestamptz not null
);

-- Defence in depth like the other ops tables: RLS on, no policy, so only roles that bypass RLS.
alter table ops.bridge_status enable row level security;
revoke all on ops.bridge_status from public, anon, authenticated;
grant all on ops.bridge_status to service_role;
