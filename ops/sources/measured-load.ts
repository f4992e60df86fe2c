/**
 * The load the platform carried, as the cost model takes it: over the last `days` whole UTC days
 * (or any [from, to)), the devices that sent, their messages and bytes per tenant, from the hourly
 * rollup (public.usage_hourly, by its hour index: never a scan of raw telemetry), and the
 * platform's age from the rollup's first hour (rollups are never trimmed).
 */
import type pg from 'pg';
import { PLATFORM_DB_QUERIES, type TenantUsage } from './platform-db.js';

export interface MeasuredLoad {
  from: Date;
  to: Date;
  /** The window's length in days (fractional when it is). */
  days: number;
  /** Devices that sent at least one accepted message in the window. */
  devices: number;
  messages: number;
  /** Accepted payload bytes. */
  bytes: number;
  messagesPerDay: number;
  /** Average payload bytes per message; 0 without messages. */
  payloadBytes: number;
  /** Days from the rollup's first hour to `to`: how long the platform has collected; null when empty. */
  ageDays: number | null;
  /** Per tenant, busiest first (messages, bytes, devices). */
  tenants: TenantUsage[];
}

export interface MeasuredLoadSource {
  /** The load in [from, to). */
  measuredLoad(from: Date, to: Date): Promise<MeasuredLoad>;
}

const DAY_MS = 86_400_000;

export const MEASURED_LOAD_QUERIES = {
  tenants: PLATFORM_DB_QUERIES.tenantUsage,
  // min() over the hour index: one index probe.
  firstHour: 'select min(hour) as first from public.usage_hourly',
} as const;

/** The last `days` whole UTC days before `now`'s day: [today - days, today). */
export function lastWholeDays(now: number, days: number): { from: Date; to: Date } {
  if (!Number.isInteger(days) || days < 1)
    throw new Error(`measured load: days must be a whole number >= 1 (got ${days})`);
  const to = Math.floor(now / DAY_MS) * DAY_MS;
  return { from: new Date(to - days * DAY_MS), to: new Date(to) };
}

/** Totals a window's per-tenant usage into the model's measured load (pure: tests and fakes use it). */
export function summarizeLoad(
  from: Date,
  to: Date,
  tenants: TenantUsage[],
  first: Date | null,
): MeasuredLoad {
  const days = (to.getTime() - from.getTime()) / DAY_MS;
  if (!(days > 0)) throw new Error('measured load: the window must end after it starts');
  const messages = tenants.reduce((a, t) => a + t.messages, 0);
  const bytes = tenants.reduce((a, t) => a + t.bytes, 0);
  // A device belongs to one tenant: the tenants' device counts add up.
  const devices = tenants.reduce((a, t) => a + t.devices, 0);
  return {
    from,
    to,
    days,
    devices,
    messages,
    bytes,
    messagesPerDay: messages / days,
    payloadBytes: messages > 0 ? bytes / messages : 0,
    ageDays: first ? Math.max(days, (to.getTime() - first.getTime()) / DAY_MS) : null,
    tenants,
  };
}

export function createMeasuredLoadSource(pool: pg.Pool): MeasuredLoadSource {
  return {
    async measuredLoad(from, to) {
      const [tenants, first] = await Promise.all([
        pool.query<TenantUsage>(MEASURED_LOAD_QUERIES.tenants, [from, to]),
        pool.query<{ first: Date | null }>(MEASURED_LOAD_QUERIES.firstHour),
      ]);
      return summarizeLoad(from, to, tenants.rows, first.rows[0]?.first ?? null);
    },
  };
}
