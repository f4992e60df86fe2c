/**
 * Rules on the accepted batch: called by ingest right after it committed a batch.
 *
 * Cheap path: the rules of the batch's tenants come from the RuleCache; a batch none of whose
 * readings a rule applies to returns without touching the database. Otherwise one transaction:
 *   1. lock (creating if needed) the alert_rule_state rows of the (rule, device) pairs, in key
 *      order, and read them: concurrent evaluators of the same pair run one after the other;
 *   2. read the pairs' open alerts;
 *   3. run the readings of each pair in time order through the state machine (conditions.ts);
 *      a fire is `insert ... on conflict do nothing` on the one-open-alert index, a resolve an
 *      update guarded by status = 'firing';
 *   4. resolve open no_data alerts of the devices that sent data;
 *   5. write the state back and one outbox row per channel per change.
 */
import type pg from 'pg';
import { metricValue, stepThreshold, type PairState } from './conditions.js';
import { deviceKeys, withTransaction } from './db.js';
import { enqueueNotifications, type AlertChange } from './outbox.js';
import { RuleCache } from './rules.js';
import type { AcceptedReading, AlertEvaluationSummary, AlertRule, ThresholdRule } from './types.js';

export type { AcceptedReading, AlertEvaluationSummary } from './types.js';

const defaultCaches = new WeakMap<pg.Pool, RuleCache>();

/** The cache used when the caller passes none: one per pool, 5 s TTL. */
export function defaultRuleCache(pool: pg.Pool): RuleCache {
  let cache = defaultCaches.get(pool);
  if (!cache) {
    cache = new RuleCache();
    defaultCaches.set(pool, cache);
  }
  return cache;
}

interface ThresholdPair {
  rule: ThresholdRule;
  deviceId: string;
  values: Array<{ ts: Date; value: number }>;
}

interface NoDataResolution {
  ruleIds: string[];
  deviceIds: string[];
  rules: Map<string, AlertRule>;
}

function emptySummary(readings: number): AlertEvaluationSummary {
  return { readings, pairs: 0, fired: 0, resolved: 0, suppressed: 0, stale: 0, enqueued: 0 };
}

export async function evaluateAcceptedBatch(
  pool: pg.Pool,
  readings: AcceptedReading[],
  now: Date,
  cache?: RuleCache,
): Promise<AlertEvaluationSummary> {
  const summary = emptySummary(readings.length);
  if (readings.length === 0) return summary;

  const tenantIds = [...new Set(readings.map((r) => r.tenantId))];
  const rulesByTenant = await (cache ?? defaultRuleCache(pool)).get(pool, tenantIds);

  // Readings per device, in time order (stable: equal timestamps keep their batch order).
  const byDevice = new Map<string, { tenantId: string; readings: AcceptedReading[] }>();
  for (const reading of readings) {
    const rules = rulesByTenant.get(reading.tenantId);
    if (!rules || (rules.threshold.length === 0 && rules.noData.length === 0)) continue;
    let group = byDevice.get(reading.deviceId);
    if (!group) byDevice.set(reading.deviceId, (group = { tenantId: reading.tenantId, readings: [] }));
    group.readings.push(reading);
  }
  if (byDevice.size === 0) return summary;

  const pairs: ThresholdPair[] = [];
  const noData: NoDataResolution = { ruleIds: [], deviceIds: [], rules: new Map() };
  for (const [deviceId, group] of byDevice) {
    const rules = rulesByTenant.get(group.tenantId);
    if (!rules) continue;
    group.readings.sort((a, b) => a.ts.getTime() - b.ts.getTime());
    for (const rule of rules.threshold) {
      if (rule.deviceId !== null && rule.deviceId !== deviceId) continue;
      const values: ThresholdPair['values'] = [];
      for (const reading of group.readings) {
        const value = metricValue(reading.metrics, rule.metric);
        if (value !== undefined) values.push({ ts: reading.ts, value });
      }
      if (values.length > 0) pairs.push({ rule, deviceId, values });
    }
    let deviceHasNoDataRule = false;
    for (const rule of rules.noData) {
      if (rule.deviceId !== null && rule.deviceId !== deviceId) continue;
      deviceHasNoDataRule = true;
      if (!noData.rules.has(rule.id)) {
        noData.rules.set(rule.id, rule);
        noData.ruleIds.push(rule.id);
      }
    }
    if (deviceHasNoDataRule) noData.deviceIds.push(deviceId);
  }
  if (pairs.length === 0 && noData.deviceIds.length === 0) return summary;

  // Lock order: by (rule, device), the same in every evaluator, so they cannot deadlock.
  pairs.sort((a, b) => cmp(a.rule.id, b.rule.id) || cmp(a.deviceId, b.deviceId));
  const counts = await withTransaction(pool, (client) => evaluateInTransaction(client, pairs, noData, now));
  return { ...summary, pairs: pairs.length + noData.deviceIds.length, ...counts };
}

type Counts = Pick<AlertEvaluationSummary, 'fired' | 'resolved' | 'suppressed' | 'stale' | 'enqueued'>;

interface StateRow {
  rule_id: string;
  device_id: string;
  pending_since: Date | null;
  last_value: number | null;
  last_fired_at: Date | null;
  last_resolved_at: Date | null;
  last_reading_at: Date | null;
}

async function evaluateInTransaction(
  client: pg.PoolClient,
  pairs: ThresholdPair[],
  noData: NoDataResolution,
  now: Date,
): Promise<Counts> {
  const counts: Counts = { fired: 0, resolved: 0, suppressed: 0, stale: 0, enqueued: 0 };
  const changes: Array<Omit<AlertChange, 'deviceKey'>> = [];

  if (pairs.length > 0) {
    const ruleIds = pairs.map((p) => p.rule.id);
    const deviceIds = pairs.map((p) => p.deviceId);
    const tenantIds = pairs.map((p) => p.rule.tenantId);
    const stateRes = await client.query<StateRow>(
      `insert into public.alert_rule_state as s (rule_id, device_id, tenant_id, updated_at)
       select r, d, t, $4 from unnest($1::uuid[], $2::uuid[], $3::uuid[]) as x(r, d, t) order by r, d
       on conflict (rule_id, device_id) do update set updated_at = excluded.updated_at
       returning s.rule_id, s.device_id, s.pending_since, s.last_value, s.last_fired_at, s.last_resolved_at,
                 s.last_reading_at`,
      [ruleIds, deviceIds, tenantIds, now],
    );
    const openRes = await client.query<{ id: string; rule_id: string; device_id: string; fired_at: Date }>(
      `select a.id, a.rule_id, a.device_id, a.fired_at
         from public.alerts a join unnest($1::uuid[], $2::uuid[]) as x(r, d) on a.rule_id = x.r and a.device_id = x.d
        where a.status = 'firing'`,
      [ruleIds, deviceIds],
    );
    const states = new Map<string, PairState>();
    for (const row of stateRes.rows) {
      states.set(pairKey(row.rule_id, row.device_id), {
        pendingSince: row.pending_since,
        lastValue: row.last_value,
        lastFiredAt: row.last_fired_at,
        lastResolvedAt: row.last_resolved_at,
        lastReadingAt: row.last_reading_at,
        open: null,
      });
    }
    for (const row of openRes.rows) {
      const state = states.get(pairKey(row.rule_id, row.device_id));
      if (state) state.open = { id: row.id, firedAt: row.fired_at };
    }

    const written: Array<Record<string, unknown>> = [];
    for (const pair of pairs) {
      const state = states.get(pairKey(pair.rule.id, pair.deviceId));
      if (!state) throw new Error(`alert state of rule ${pair.rule.id} device ${pair.deviceId} missing`);
      for (const { ts, value } of pair.values) {
        const firedBefore = state.open;
        const outcome = stepThreshold(pair.rule, state, ts, value);
        if (outcome.kind === 'stale') counts.stale++;
        else if (outcome.kind === 'suppressed') counts.suppressed++;
        else if (outcome.kind === 'fire') {
          const alertId = await insertAlert(
            client,
            pair.rule,
            pair.deviceId,
            value,
            ts,
            thresholdMessage(pair.rule, value),
          );
          if (alertId) {
            state.open = { id: alertId, firedAt: ts };
            counts.fired++;
            changes.push(change('fired', alertId, pair.rule, pair.deviceId, value, ts, null));
          } else {
            // Another evaluator holds an open alert for this pair: adopt it, notify nothing.
            state.open = await openAlert(client, pair.rule.id, pair.deviceId);
          }
        } else if (outcome.kind === 'resolve' && firedBefore) {
          const resolvedAt = maxDate(ts, firedBefore.firedAt);
          if (await resolveAlert(client, firedBefore.id, resolvedAt)) {
            counts.resolved++;
            changes.push(
              change(
                'resolved',
                firedBefore.id,
                pair.rule,
                pair.deviceId,
                value,
                firedBefore.firedAt,
                resolvedAt,
              ),
            );
          }
        }
      }
      written.push({
        r: pair.rule.id,
        d: pair.deviceId,
        p: state.pendingSince,
        v: state.lastValue,
        f: state.lastFiredAt,
        rs: state.lastResolvedAt,
        lr: state.lastReadingAt,
      });
    }
    await client.query(
      `update public.alert_rule_state s
          set pending_since = x.p, last_value = x.v, last_fired_at = x.f, last_resolved_at = x.rs,
              last_reading_at = x.lr, updated_at = $2
         from json_to_recordset($1::json)
           as x(r uuid, d uuid, p timestamptz, v double precision, f timestamptz, rs timestamptz, lr timestamptz)
        where s.rule_id = x.r and s.device_id = x.d`,
      [JSON.stringify(written), now],
    );
  }

  if (noData.deviceIds.length > 0) {
    // Data arrived: the device's open no_data alerts resolve (now, never before they fired).
    const res = await client.query<{
      id: string;
      rule_id: string;
      device_id: string;
      fired_at: Date;
      resolved_at: Date;
    }>(
      `update public.alerts a set status = 'resolved', resolved_at = greatest($3::timestamptz, a.fired_at)
        where a.status = 'firing' and a.rule_id = any($1::uuid[]) and a.device_id = any($2::uuid[])
       returning a.id, a.rule_id, a.device_id, a.fired_at, a.resolved_at`,
      [noData.ruleIds, noData.deviceIds, now],
    );
    if (res.rows.length > 0) {
      await recordResolutions(client, res.rows, noData.rules, now);
      for (const row of res.rows) {
        const rule = noData.rules.get(row.rule_id);
        if (!rule) continue;
        counts.resolved++;
        changes.push(change('resolved', row.id, rule, row.device_id, null, row.fired_at, row.resolved_at));
      }
    }
  }

  if (changes.length > 0) {
    const keys = await deviceKeys(
      client,
      changes.map((c) => c.deviceId),
    );
    counts.enqueued = await enqueueNotifications(
      client,
      changes.map((c) => ({ ...c, deviceKey: keys.get(c.deviceId) ?? '' })),
      now,
    );
  }
  return counts;
}

/** Opens an alert unless one is already open for (rule, device); returns its id, or null. */
export async function insertAlert(
  client: pg.ClientBase,
  rule: AlertRule,
  deviceId: string,
  value: number | null,
  firedAt: Date,
  message: string,
): Promise<string | null> {
  const res = await client.query<{ id: string }>(
    `insert into public.alerts (tenant_id, rule_id, device_id, status, severity, value, message, fired_at)
     values ($1, $2, $3, 'firing', $4, $5, $6, $7)
     on conflict (rule_id, device_id) where status = 'firing' do nothing
     returning id`,
    [rule.tenantId, rule.id, deviceId, rule.severity, value, message, firedAt],
  );
  return res.rows[0]?.id ?? null;
}

async function openAlert(
  client: pg.ClientBase,
  ruleId: string,
  deviceId: string,
): Promise<PairState['open']> {
  const res = await client.query<{ id: string; fired_at: Date }>(
    `select id, fired_at from public.alerts where rule_id = $1 and device_id = $2 and status = 'firing'`,
    [ruleId, deviceId],
  );
  const row = res.rows[0];
  return row ? { id: row.id, firedAt: row.fired_at } : null;
}

async function resolveAlert(client: pg.ClientBase, alertId: string, resolvedAt: Date): Promise<boolean> {
  const res = await client.query(
    `update public.alerts set status = 'resolved', resolved_at = $2 where id = $1 and status = 'firing'`,
    [alertId, resolvedAt],
  );
  return (res.rowCount ?? 0) > 0;
}

/** Records resolutions of no_data alerts in alert_rule_state (cooldown starts there). */
export async function recordResolutions(
  client: pg.ClientBase,
  rows: Array<{ rule_id: string; device_id: string; resolved_at: Date }>,
  rules: Map<string, AlertRule>,
  now: Date,
): Promise<void> {
  const items = rows
    .filter((r) => rules.has(r.rule_id))
    .map((r) => ({ r: r.rule_id, d: r.device_id, t: rules.get(r.rule_id)?.tenantId, rs: r.resolved_at }))
    .sort((a, b) => cmp(a.r, b.r) || cmp(a.d, b.d));
  if (items.length === 0) return;
  await client.query(
    `insert into public.alert_rule_state as s (rule_id, device_id, tenant_id, last_resolved_at, updated_at)
     select r, d, t, rs, $2 from json_to_recordset($1::json) as x(r uuid, d uuid, t uuid, rs timestamptz)
     on conflict (rule_id, device_id) do update
       set last_resolved_at = excluded.last_resolved_at, pending_since = null, updated_at = excluded.updated_at`,
    [JSON.stringify(items), now],
  );
}

export function thresholdMessage(rule: ThresholdRule, value: number): string {
  return `${rule.metric} ${rule.operator} ${rule.threshold} (value ${value})`;
}

function change(
  event: 'fired' | 'resolved',
  alertId: string,
  rule: AlertRule,
  deviceId: string,
  value: number | null,
  firedAt: Date,
  resolvedAt: Date | null,
): Omit<AlertChange, 'deviceKey'> {
  return { event, alertId, rule, deviceId, value, firedAt, resolvedAt };
}

function pairKey(ruleId: string, deviceId: string): string {
  return `${ruleId}/${deviceId}`;
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function maxDate(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}
