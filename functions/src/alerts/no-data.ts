/**
 * no_data rules, run by the timer. A device's last reading is the newer of device_latest.ts (the
 * device's clock) and devices.last_seen (the platform's receipt time, kept by ingest). A device
 * whose last reading is older than no_data_seconds fires; devices that never sent anything, disabled
 * devices and suspended tenants are left alone. Open no_data alerts whose device is fresh again
 * resolve here too (ingest resolves them as data arrives; this is the safety net for a race with it).
 */
import type pg from 'pg';
import { deviceKeys, withTransaction } from './db.js';
import { recordResolutions } from './evaluate.js';
import { enqueueNotifications, type AlertChange } from './outbox.js';
import { RULE_COLUMNS, ruleFromRow } from './rules.js';
import type { AlertRule } from './types.js';

export interface NoDataSummary {
  fired: number;
  resolved: number;
  enqueued: number;
}

interface ChangedRow {
  id: string;
  rule_id: string;
  device_id: string;
  fired_at: Date;
  resolved_at: Date | null;
  value: number | null;
}

const LAST_READING = 'greatest(dl.ts, d.last_seen)';

const RESOLVE_SQL = `
with fresh as (
  select a.id
    from public.alerts a
    join public.alert_rules r on r.id = a.rule_id and r.kind = 'no_data'
    join public.devices d on d.id = a.device_id
    left join public.device_latest dl on dl.device_id = d.id
   where a.status = 'firing'
     and ${LAST_READING} >= $1::timestamptz - make_interval(secs => r.no_data_seconds)
)
update public.alerts a set status = 'resolved', resolved_at = greatest($1::timestamptz, a.fired_at)
  from fresh
 where a.id = fresh.id and a.status = 'firing'
returning a.id, a.rule_id, a.device_id, a.fired_at, a.resolved_at, null::double precision as value`;

const FIRE_SQL = `
with due as (
  select r.id as rule_id, r.tenant_id, r.severity, r.no_data_seconds, d.id as device_id,
         extract(epoch from ($1::timestamptz - ${LAST_READING}))::double precision as silent
    from public.alert_rules r
    join public.tenants t on t.id = r.tenant_id and t.status = 'active'
    join public.devices d on d.tenant_id = r.tenant_id and d.status = 'active'
                         and (r.device_id is null or d.id = r.device_id)
    left join public.device_latest dl on dl.device_id = d.id
    left join public.alert_rule_state s on s.rule_id = r.id and s.device_id = d.id
   where r.kind = 'no_data' and r.enabled
     and ${LAST_READING} < $1::timestamptz - make_interval(secs => r.no_data_seconds)
     and (s.last_resolved_at is null
          or s.last_resolved_at <= $1::timestamptz - make_interval(secs => r.cooldown_seconds))
     and not exists (select 1 from public.alerts a
                      where a.rule_id = r.id and a.device_id = d.id and a.status = 'firing')
   order by r.id, d.id
)
insert into public.alerts (tenant_id, rule_id, device_id, status, severity, value, message, fired_at)
select tenant_id, rule_id, device_id, 'firing', severity, round(silent),
       format('no data for %s s (limit %s s)', round(silent), no_data_seconds), $1
  from due
on conflict (rule_id, device_id) where status = 'firing' do nothing
returning id, rule_id, device_id, fired_at, resolved_at, value`;

export async function evaluateNoData(pool: pg.Pool, now: Date): Promise<NoDataSummary> {
  return withTransaction(pool, async (client) => {
    const resolved = (await client.query<ChangedRow>(RESOLVE_SQL, [now])).rows;
    const fired = (await client.query<ChangedRow>(FIRE_SQL, [now])).rows;
    if (resolved.length === 0 && fired.length === 0) return { fired: 0, resolved: 0, enqueued: 0 };

    const ruleIds = [...new Set([...resolved, ...fired].map((r) => r.rule_id))];
    const ruleRes = await client.query<Parameters<typeof ruleFromRow>[0]>(
      `select ${RULE_COLUMNS} from public.alert_rules r join public.tenants t on t.id = r.tenant_id
        where r.id = any($1::uuid[])`,
      [ruleIds],
    );
    const rules = new Map<string, AlertRule>(ruleRes.rows.map((row) => [row.id, ruleFromRow(row)]));

    await recordResolutions(
      client,
      resolved.map((r) => ({
        rule_id: r.rule_id,
        device_id: r.device_id,
        resolved_at: r.resolved_at ?? now,
      })),
      rules,
      now,
    );
    if (fired.length > 0) {
      const items = fired
        .map((r) => ({ r: r.rule_id, d: r.device_id, t: rules.get(r.rule_id)?.tenantId }))
        .sort((a, b) => (a.r + a.d < b.r + b.d ? -1 : 1));
      await client.query(
        `insert into public.alert_rule_state as s (rule_id, device_id, tenant_id, last_fired_at, updated_at)
         select r, d, t, $2, $2 from json_to_recordset($1::json) as x(r uuid, d uuid, t uuid)
         on conflict (rule_id, device_id) do update
           set last_fired_at = excluded.last_fired_at, pending_since = null, updated_at = excluded.updated_at`,
        [JSON.stringify(items), now],
      );
    }

    const keys = await deviceKeys(
      client,
      [...resolved, ...fired].map((r) => r.device_id),
    );
    const changes: AlertChange[] = [];
    for (const [event, rows] of [
      ['resolved', resolved],
      ['fired', fired],
    ] as const) {
      for (const row of rows) {
        const rule = rules.get(row.rule_id);
        if (!rule) continue;
        changes.push({
          event,
          alertId: row.id,
          rule,
          deviceId: row.device_id,
          deviceKey: keys.get(row.device_id) ?? '',
          value: row.value,
          firedAt: row.fired_at,
          resolvedAt: row.resolved_at,
        });
      }
    }
    const enqueued = await enqueueNotifications(client, changes, now);
    return { fired: fired.length, resolved: resolved.length, enqueued };
  });
}
