/**
 * What the cost model prices: a load (devices and their messages, payload, retention, archive,
 * Functions plan, batching) on a platform (VM size, OS disk, Flex instance memory). A month is
 * Azure's 730 hours, the month its VM prices are quoted for. Sizes are decimal: 1 GB = 10^9 bytes.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';

export const HOURS_PER_MONTH = 730;
export const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
export const SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600;
export const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;

export type FunctionsPlan = 'flex-consumption' | 'linux-consumption';

export interface Load {
  devices: number;
  messagesPerDevicePerMinute: number;
  /** Bytes of one MQTT payload (the simulator's are about 100). */
  payloadBytes: number;
  /** Days of readings the database keeps when the archive drops older partitions: the plan's retention. */
  retentionDays: number;
  /**
   * Days the platform has collected. Without the archive nothing is dropped (no purge job exists):
   * the database holds all of them. The hourly rollups have no retention at all.
   */
  ageDays: number;
  /** Partitions older than retentionDays are exported to Blob, then dropped. */
  archive: boolean;
  functionsPlan: FunctionsPlan;
  /** How the bridge's batches become mqtt_ingest executions. */
  batching: {
    /** Average messages per execution (1 at MVP rates today: 323 messages were 317 batches). */
    messagesPerExecution: number;
    /** How long one execution runs (ms). */
    executionMs: number;
  };
}

export interface Platform {
  /** infra.vm.size */
  vmSize: string;
  /** infra.vm.osDiskGb */
  osDiskGb: number;
  /** infra/resources.json provisions StandardSSD_LRS. */
  osDiskType: 'standard-ssd' | 'premium-ssd';
  /** infra.functions.instanceMemoryMb: what Flex bills per active second. */
  flexInstanceMemoryMb: number;
  /** The Supabase plan; absent: the cheaper one that holds the load. */
  supabasePlan?: 'free' | 'pro';
}

/** The platform an environment provisions (its infra section). */
export function platformOf(config: EnvironmentConfig): Platform {
  if (!config.infra)
    throw new Error(
      `environment ${config.name} has no infra section: the cost model needs its VM and Functions`,
    );
  return {
    vmSize: config.infra.vm.size,
    osDiskGb: config.infra.vm.osDiskGb,
    osDiskType: 'standard-ssd',
    flexInstanceMemoryMb: config.infra.functions.instanceMemoryMb,
  };
}

/** Refuses a load the model cannot price, naming the field: negative, NaN, no messages per execution. */
export function checkLoad(load: Load): void {
  const numbers: [string, number][] = [
    ['devices', load.devices],
    ['messagesPerDevicePerMinute', load.messagesPerDevicePerMinute],
    ['payloadBytes', load.payloadBytes],
    ['retentionDays', load.retentionDays],
    ['ageDays', load.ageDays],
    ['batching.messagesPerExecution', load.batching.messagesPerExecution],
    ['batching.executionMs', load.batching.executionMs],
  ];
  for (const [name, v] of numbers)
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new Error(`cost model: load.${name} must be a non-negative number (got ${String(v)})`);
  if (load.batching.messagesPerExecution < 1)
    throw new Error(
      `cost model: load.batching.messagesPerExecution must be at least 1 (got ${load.batching.messagesPerExecution})`,
    );
  if (load.functionsPlan !== 'flex-consumption' && load.functionsPlan !== 'linux-consumption')
    throw new Error(
      `cost model: load.functionsPlan must be flex-consumption or linux-consumption (got ${String(load.functionsPlan)})`,
    );
  if (typeof load.archive !== 'boolean') throw new Error('cost model: load.archive must be true or false');
}

export function checkPlatform(p: Platform): void {
  for (const [name, v] of [
    ['osDiskGb', p.osDiskGb],
    ['flexInstanceMemoryMb', p.flexInstanceMemoryMb],
  ] as const)
    if (!Number.isFinite(v) || v <= 0)
      throw new Error(`cost model: platform.${name} must be a positive number (got ${String(v)})`);
}

/** Messages of one device in a month. */
export function messagesPerDevicePerMonth(load: Pick<Load, 'messagesPerDevicePerMinute'>): number {
  return load.messagesPerDevicePerMinute * MINUTES_PER_MONTH;
}

/** Messages of one device in a day. */
export function messagesPerDevicePerDay(load: Pick<Load, 'messagesPerDevicePerMinute'>): number {
  return load.messagesPerDevicePerMinute * 1440;
}
