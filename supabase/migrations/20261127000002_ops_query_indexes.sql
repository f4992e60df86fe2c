-- Indexes for the ops checks' queries (ops/sources/platform-db.ts), found with
-- EXPLAIN (ANALYZE, BUFFERS) at 10 M telemetry rows by `npm run bench:ops` (docs/benchmark-ops.md).
--
-- ai_usage: the weekly AI spend check reads the month to date across all tenants; the ledger's
-- only index leads with tenant_id, so that was a sequential scan of the whole ledger. The ledger is
-- append-only, so its pages become all-visible and this covering index gives an index-only scan
-- of just the window's rows. (A plain CREATE INDEX: the ledger is small and written rarely; the
-- short write lock is acceptable. Use CONCURRENTLY by hand on a large production ledger.)
create index if not exists ai_usage_occurred_idx
  on public.ai_usage (occurred_at)
  include (tenant_id, model, input_tokens, output_tokens, cost_usd);

-- usage_hourly: the planner multiplies per-column estimates, so it expected ~75,000 (tenant,
-- device) groups and ~84,000 (tenant, UTC day) groups where there are 1,000 and 3,000: it chose
-- sort-based aggregation that spilled to disk (work_mem) instead of a small hash table. Extended
-- statistics give it the real group counts (after the next ANALYZE).
create statistics if not exists public.usage_hourly_tenant_device (ndistinct)
  on tenant_id, device_id from public.usage_hourly;
create statistics if not exists public.usage_hourly_tenant_day (ndistinct)
  on tenant_id, (date_trunc('day', hour at time zone 'utc')) from public.usage_hourly;
