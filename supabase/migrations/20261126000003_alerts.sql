-- Alert engine state the core tables lack (see docs/alerts.md).

-- Cooldown is measured from the last resolution of a (rule, device): keep that time with the rest
-- of the evaluation state instead of scanning the alert history on every batch.
alter table public.alert_rule_state add column last_resolved_at timestamptz;
-- Newest reading time evaluated for the (rule, device): a reading older than this (a late or
-- retried batch) is not evaluated again, so it cannot rewind pending_since or re-fire.
alter table public.alert_rule_state add column last_reading_at timestamptz;

-- The deliverer keeps notifications of one alert to one target in order (fired before resolved)
-- by looking up earlier pending rows of the same alert; the index also serves the foreign key's
-- cascade when alerts are deleted.
create index notification_outbox_alert_id_idx on public.notification_outbox (alert_id, id);
