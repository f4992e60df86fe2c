/**
 * Fixtures for the alert engine's tests: tenants, devices, users and rules inserted with plain SQL
 * into a database from test/support/database.ts. Not used by production code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type pg from 'pg';

export interface TenantFixture {
  tenantId: string;
  slug: string;
}

export interface DeviceFixture {
  deviceId: string;
  deviceKey: string;
}

function suffix(): string {
  return randomBytes(4).toString('hex');
}

export async function createTenant(
  pool: pg.Pool,
  status: 'active' | 'suspended' = 'active',
): Promise<TenantFixture> {
  await pool.query(
    `insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
     values ('alerts-test', 'Alerts test', 100, 1000000, 30, 0, 0) on conflict (id) do nothing`,
  );
  const slug = `alerts-${suffix()}`;
  const res = await pool.query<{ id: string }>(
    `insert into public.tenants (slug, name, plan_id, status) values ($1, $1, 'alerts-test', $2) returning id`,
    [slug, status],
  );
  return { tenantId: res.rows[0]!.id, slug };
}

export async function createDevice(
  pool: pg.Pool,
  tenantId: string,
  options: { status?: 'active' | 'disabled'; lastSeen?: Date | null; latestTs?: Date | null } = {},
): Promise<DeviceFixture> {
  const deviceKey = `dev-${suffix()}`;
  const res = await pool.query<{ id: string }>(
    `insert into public.devices (tenant_id, device_key, name, credential_hash, status, last_seen)
     values ($1, $2, $2, '$7$101$c2FsdA==$aGFzaA==', $3, $4) returning id`,
    [tenantId, deviceKey, options.status ?? 'active', options.lastSeen ?? null],
  );
  const deviceId = res.rows[0]!.id;
  if (options.latestTs) await setLatest(pool, tenantId, deviceId, options.latestTs);
  return { deviceId, deviceKey };
}

/** What ingest leaves behind for a device's newest reading. */
export async function setLatest(pool: pg.Pool, tenantId: string, deviceId: string, ts: Date): Promise<void> {
  await pool.query(
    `insert into public.device_latest (device_id, tenant_id, ts, metrics) values ($1, $2, $3, '{}')
     on conflict (device_id) do update set ts = excluded.ts`,
    [deviceId, tenantId, ts],
  );
  await pool.query(`update public.devices set last_seen = $2 where id = $1`, [deviceId, ts]);
}

export async function createMember(
  pool: pg.Pool,
  tenantId: string | null,
  role: 'owner' | 'admin' | 'viewer' = 'admin',
): Promise<string> {
  const userId = randomUUID();
  await pool.query(`insert into auth.users (id, email) values ($1, $2)`, [userId, `${userId}@example.test`]);
  if (tenantId) {
    await pool.query(`insert into public.tenant_members (tenant_id, user_id, role) values ($1, $2, $3)`, [
      tenantId,
      userId,
      role,
    ]);
  }
  return userId;
}

export interface RuleFixture {
  name?: string;
  deviceId?: string | null;
  kind?: 'threshold' | 'no_data';
  metric?: string | null;
  operator?: string | null;
  threshold?: number | null;
  clearThreshold?: number | null;
  forSeconds?: number;
  cooldownSeconds?: number;
  noDataSeconds?: number | null;
  severity?: 'info' | 'warning' | 'critical';
  channels?: unknown[];
  enabled?: boolean;
}

export async function createRule(pool: pg.Pool, tenantId: string, rule: RuleFixture): Promise<string> {
  const kind = rule.kind ?? 'threshold';
  const res = await pool.query<{ id: string }>(
    `insert into public.alert_rules (tenant_id, name, device_id, kind, metric, operator, threshold, clear_threshold,
       for_seconds, cooldown_seconds, no_data_seconds, severity, channels, enabled)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) returning id`,
    [
      tenantId,
      rule.name ?? `rule-${suffix()}`,
      rule.deviceId ?? null,
      kind,
      rule.metric ?? (kind === 'threshold' ? 'temp' : null),
      rule.operator ?? (kind === 'threshold' ? '>' : null),
      rule.threshold ?? (kind === 'threshold' ? 80 : null),
      rule.clearThreshold ?? null,
      rule.forSeconds ?? 0,
      rule.cooldownSeconds ?? 0,
      rule.noDataSeconds ?? null,
      rule.severity ?? 'warning',
      JSON.stringify(rule.channels ?? []),
      rule.enabled ?? true,
    ],
  );
  return res.rows[0]!.id;
}

export interface AlertRowFixture {
  id: string;
  device_id: string;
  status: 'firing' | 'resolved';
  value: number | null;
  fired_at: Date;
  resolved_at: Date | null;
  acknowledged_at: Date | null;
  acknowledged_by: string | null;
}

export async function alertsOf(pool: pg.Pool, ruleId: string): Promise<AlertRowFixture[]> {
  const res = await pool.query<AlertRowFixture>(
    `select id, device_id, status, value, fired_at, resolved_at, acknowledged_at, acknowledged_by
       from public.alerts where rule_id = $1 order by fired_at, id`,
    [ruleId],
  );
  return res.rows;
}

export interface OutboxRowFixture {
  id: string;
  alert_id: string;
  event: string;
  channel: string;
  target: string;
  payload: Record<string, unknown>;
  status: string;
  attempts: number;
  next_attempt_at: Date;
  last_error: string | null;
  delivered_at: Date | null;
}

export async function outboxOfTenant(pool: pg.Pool, tenantId: string): Promise<OutboxRowFixture[]> {
  const res = await pool.query<OutboxRowFixture>(
    `select id, alert_id, event, channel, target, payload, status, attempts, next_attempt_at, last_error, delivered_at
       from public.notification_outbox where tenant_id = $1 order by id`,
    [tenantId],
  );
  return res.rows;
}

/** Adds `seconds` to a date. */
export function at(base: Date, seconds: number): Date {
  return new Date(base.getTime() + seconds * 1000);
}
