/**
 * The dashboard's only reads and writes: one request per screen to the Data API objects of
 * docs/dashboard.md ("Data API (SQL)"), as the signed-in user, so row-level security decides.
 */
import type { SupabaseClient } from '@supabase/supabase-js';
import type { SeriesPoint } from './lib/csv.js';
import type { SeriesArgs } from './lib/ranges.js';

export interface Tenant {
  id: string;
  slug: string;
  name: string;
  status: string;
  role: 'owner' | 'admin' | 'viewer';
  plan_id: string;
  plan_name: string;
}

export interface DeviceRow {
  tenant_id: string;
  id: string;
  device_key: string;
  name: string;
  status: string;
  last_seen: string | null;
  online: boolean;
  latest_ts: string | null;
  latest_metrics: Record<string, unknown>;
  sparkline_from?: string;
  sparkline?: Record<string, (number | null)[]>;
}

export type AlertState = 'open' | 'acknowledged' | 'resolved';

export interface AlertRow {
  tenant_id: string;
  id: string;
  state: AlertState;
  status: string;
  severity: 'info' | 'warning' | 'critical';
  value: number | null;
  message: string;
  fired_at: string;
  resolved_at: string | null;
  acknowledged_at: string | null;
  acknowledged_by: string | null;
  acknowledged_by_email: string | null;
  rule_name: string;
  device_key: string | null;
  device_name: string | null;
}

export interface UsageRow {
  tenant_id: string;
  plan_id: string;
  plan_name: string;
  devices: number;
  devices_total: number;
  max_devices: number;
  messages_today: number;
  max_messages_per_day: number;
  bytes_today: number;
  storage_bytes_estimate: number;
  retention_days: number;
  day_start: string;
}

export interface PlatformStatus {
  maintenance: boolean;
  message: string;
  retry_after_seconds: number | null;
  updated_at: string | null;
}

/** An error of the Data API: PostgREST's code (SQLSTATE or PGRSTxxx) and message. */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

type Result<T> = { data: T | null; error: { message: string; code?: string } | null };

function unwrap<T>(result: Result<T>): T {
  if (result.error) throw new ApiError(result.error.message, result.error.code ?? '');
  return result.data as T;
}

/** The device list's columns without the sparkline: what most polls read (half the cost). */
export const LIVE_DEVICE_COLUMNS =
  'tenant_id,id,device_key,name,status,last_seen,online,latest_ts,latest_metrics';

export class DashboardApi {
  constructor(private readonly client: SupabaseClient) {}

  async tenants(): Promise<Tenant[]> {
    return unwrap(await this.client.from('my_tenants').select('*').order('name'));
  }

  async devices(tenantId: string, withSparkline: boolean): Promise<DeviceRow[]> {
    return unwrap(
      await this.client
        .from('dashboard_devices')
        .select(withSparkline ? '*' : LIVE_DEVICE_COLUMNS)
        .eq('tenant_id', tenantId)
        .order('name'),
    ) as unknown as DeviceRow[];
  }

  /** One device (deep link to its detail page); null when RLS hides it or it does not exist. */
  async device(tenantId: string, deviceId: string): Promise<DeviceRow | null> {
    const rows = unwrap(
      await this.client
        .from('dashboard_devices')
        .select(LIVE_DEVICE_COLUMNS)
        .eq('tenant_id', tenantId)
        .eq('id', deviceId),
    ) as unknown as DeviceRow[];
    return rows[0] ?? null;
  }

  async series(args: SeriesArgs): Promise<SeriesPoint[]> {
    return unwrap(await this.client.rpc('device_series', args)) ?? [];
  }

  async alerts(tenantId: string, state: AlertState): Promise<AlertRow[]> {
    return unwrap(
      await this.client
        .from('dashboard_alerts')
        .select('*')
        .eq('tenant_id', tenantId)
        .eq('state', state)
        .order('fired_at', { ascending: false })
        .limit(100),
    );
  }

  async acknowledge(alertId: string): Promise<AlertRow> {
    return unwrap(await this.client.rpc('acknowledge_alert', { p_alert_id: alertId }));
  }

  async usage(tenantId: string): Promise<UsageRow | null> {
    const rows: UsageRow[] = unwrap(
      await this.client.from('dashboard_usage').select('*').eq('tenant_id', tenantId),
    );
    return rows[0] ?? null;
  }

  async platformStatus(): Promise<PlatformStatus | null> {
    const rows: PlatformStatus[] = unwrap(await this.client.from('platform_status').select('*'));
    return rows[0] ?? null;
  }
}

/** Supabase-js reports a failed fetch as an error without a SQLSTATE and a fetch-like message. */
export function isNetworkError(error: unknown): boolean {
  const message = error instanceof Error ? error.message : String(error);
  return /failed to fetch|networkerror|load failed|fetch failed/i.test(message);
}

/** The token was refused (expired or revoked session): sign in again. */
export function isAuthError(error: unknown): boolean {
  return error instanceof ApiError && /^PGRST30[0-9]$/.test(error.code);
}
