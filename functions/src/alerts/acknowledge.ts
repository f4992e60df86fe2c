/**
 * Acknowledging an alert: "someone is on it". Only an owner or admin of the alert's tenant may
 * acknowledge (a viewer reads only), the rule the data API's acknowledge_alert and the alerts'
 * row-level security apply to the dashboard's users;
 * acknowledging twice keeps the first acknowledgement. Firing and resolved alerts can both be
 * acknowledged; acknowledgement does not change the lifecycle (firing -> resolved) and sends no
 * notification.
 */
import type pg from 'pg';

export type AcknowledgeStatus = 'acknowledged' | 'already_acknowledged' | 'not_found' | 'forbidden';

export interface AcknowledgeResult {
  status: AcknowledgeStatus;
  alert?: {
    id: string;
    tenantId: string;
    status: 'firing' | 'resolved';
    acknowledgedAt: Date;
    acknowledgedBy: string | null;
  };
}

export async function acknowledgeAlert(
  pool: pg.Pool,
  alertId: string,
  userId: string,
  now: Date = new Date(),
): Promise<AcknowledgeResult> {
  const res = await pool.query<{
    id: string;
    tenant_id: string;
    status: 'firing' | 'resolved';
    acknowledged_at: Date | null;
    acknowledged_by: string | null;
    member: boolean;
    updated: boolean;
  }>(
    `with target as (
       select a.id, a.tenant_id,
              exists (select 1 from public.tenant_members m
                       where m.tenant_id = a.tenant_id and m.user_id = $2 and m.role in ('owner', 'admin')) as member
         from public.alerts a where a.id = $1
     ),
     ack as (
       update public.alerts a set acknowledged_at = $3, acknowledged_by = $2
         from target
        where a.id = target.id and target.member and a.acknowledged_at is null
       returning a.id, a.tenant_id, a.status, a.acknowledged_at, a.acknowledged_by
     )
     select t.id, t.tenant_id, t.member, coalesce(k.status, a.status) as status,
            coalesce(k.acknowledged_at, a.acknowledged_at) as acknowledged_at,
            coalesce(k.acknowledged_by, a.acknowledged_by) as acknowledged_by,
            k.id is not null as updated
       from target t join public.alerts a on a.id = t.id left join ack k on k.id = t.id`,
    [alertId, userId, now],
  );
  const row = res.rows[0];
  if (!row) return { status: 'not_found' };
  if (!row.member) return { status: 'forbidden' };
  const alert = {
    id: row.id,
    tenantId: row.tenant_id,
    status: row.status,
    acknowledgedAt: row.acknowledged_at ?? now,
    acknowledgedBy: row.acknowledged_by,
  };
  return { status: row.updated ? 'acknowledged' : 'already_acknowledged', alert };
}
