/**
 * Each tenant's share of the modelled monthly cost (monthly.pricing-review). The model prices the
 * platform at the measured load; every component splits into
 *
 *   fixed    = the component at the same platform and plans with no devices (the VM, the IP, the
 *              disk's capacity, Supabase's plan fee, the timers, Pages), and
 *   variable = the rest, which the load drives.
 *
 * The variable part of a component is shared by what drives it in the model: executions, logs, the
 * journal syncs and the archive by messages; the database and Azure egress by the bytes a message
 * costs there (its fixed overhead plus its payload); nothing else varies. The fixed part is split
 * EVENLY among the active tenants: it does not grow with any tenant's traffic, and splitting it by
 * usage (as the bill split by bytes does) would hide that every tenant, however quiet, needs a
 * price of at least its share of the platform that exists for it. Pure.
 */
import type { TenantUsage } from '../sources/platform-db.js';
import { type Assumptions, DEFAULT_ASSUMPTIONS } from './assumptions.js';
import type { Load, Platform } from './load.js';
import { type ComponentId, type CostEstimate, monthlyCost, type Prices } from './model.js';

export type Driver = 'messages' | 'databaseBytes' | 'egressBytes' | 'none';

/** What drives each component's variable part in the model (./model.ts). */
export const DRIVERS: Record<ComponentId, Driver> = {
  vm: 'none',
  'os-disk': 'messages',
  'public-ip': 'none',
  functions: 'messages',
  'log-analytics': 'messages',
  supabase: 'databaseBytes',
  'blob-archive': 'messages',
  egress: 'egressBytes',
  pages: 'none',
};

export interface TenantCost {
  tenant: string;
  /** Its even share of the fixed part (monthly). */
  fixed: number;
  /** Its share of each component's variable part by that component's driver (monthly). */
  variable: number;
  total: number;
  /** Its share of messages in the window (0..1). */
  messageShare: number;
}

export interface Attribution {
  currency: string;
  /** The platform's modelled monthly total, and its fixed part. */
  total: number;
  fixed: number;
  tenants: TenantCost[];
  /** One line per component: fixed + variable and how the variable part is shared. */
  working: string[];
}

/** The model at the same platform and plans without devices: the fixed part of each component. */
export function fixedEstimate(
  estimate: CostEstimate,
  prices: Prices,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): CostEstimate {
  const supabase = estimate.components.find((c) => c.id === 'supabase');
  const platform: Platform = {
    ...estimate.platform,
    supabasePlan: estimate.platform.supabasePlan ?? (supabase?.quantities.pro ? 'pro' : 'free'),
  };
  const load: Load = {
    ...estimate.load,
    devices: 0,
    batching: { ...estimate.load.batching, messagesPerExecution: 1 },
  };
  return monthlyCost(load, platform, prices, a);
}

/**
 * Shares `estimate` (the model at the window's total load) among tenants by their usage in the
 * window. `activeTenants` split the fixed part (every active tenant, sending or not).
 */
export function attributeModelCost(
  estimate: CostEstimate,
  fixed: CostEstimate,
  usage: readonly TenantUsage[],
  activeTenants: readonly string[],
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): Attribution {
  const weight = (u: Pick<TenantUsage, 'messages' | 'bytes'>, d: Driver): number => {
    switch (d) {
      case 'messages':
        return u.messages;
      case 'databaseBytes':
        return u.messages * a.readingOverheadBytes + u.bytes;
      case 'egressBytes':
        return u.messages * a.egressOverheadBytesPerMessage + u.bytes;
      default:
        return 0;
    }
  };
  const names = [...new Set([...activeTenants, ...usage.map((u) => u.tenant)])];
  const byTenant = new Map(usage.map((u) => [u.tenant, u]));
  const zero = { messages: 0, bytes: 0 };
  const totals = (d: Driver) => usage.reduce((s, u) => s + weight(u, d), 0);
  const variableOf = new Map<string, number>(names.map((n) => [n, 0]));
  const working: string[] = [];
  let fixedTotal = 0;
  for (const c of estimate.components) {
    const f = Math.min(c.monthly, fixed.components.find((x) => x.id === c.id)?.monthly ?? 0);
    const v = c.monthly - f;
    fixedTotal += f;
    const d = DRIVERS[c.id];
    const total = totals(d);
    if (v > 0 && d !== 'none' && total > 0)
      for (const n of names)
        variableOf.set(n, variableOf.get(n)! + (v * weight(byTenant.get(n) ?? zero, d)) / total);
    working.push(
      `${c.title}: ${c.monthly.toFixed(2)} = fixed ${f.toFixed(2)} + variable ${v.toFixed(2)}` +
        (v > 0 ? ` shared by ${d === 'none' ? 'nobody' : d}` : ''),
    );
  }
  const evenShare = activeTenants.length > 0 ? fixedTotal / activeTenants.length : 0;
  const messages = usage.reduce((s, u) => s + u.messages, 0);
  const tenants = names.map((n) => {
    const fixedShare = activeTenants.includes(n) ? evenShare : 0;
    const variable = variableOf.get(n)!;
    return {
      tenant: n,
      fixed: fixedShare,
      variable,
      total: fixedShare + variable,
      messageShare: messages > 0 ? (byTenant.get(n)?.messages ?? 0) / messages : 0,
    };
  });
  working.push(
    `fixed ${fixedTotal.toFixed(2)} split evenly over ${activeTenants.length} active tenants: ${evenShare.toFixed(2)} each`,
  );
  return { currency: estimate.currency, total: estimate.total, fixed: fixedTotal, tenants, working };
}
