/**
 * The cost model the other way round: for a load's shape (everything but the number of devices),
 * the number of devices, and messages a day, at which each free grant or plan limit is reached.
 * Every quantity the model prices is a fixed part (the timers, the empty database, the idle VM)
 * plus a part per device, so each point is (limit - fixed) / per device, shown as such.
 */
import { type Assumptions, checkAssumptions, DEFAULT_ASSUMPTIONS } from './assumptions.js';
import {
  type Load,
  MINUTES_PER_MONTH,
  type Platform,
  SECONDS_PER_MONTH,
  checkLoad,
  checkPlatform,
} from './load.js';
import {
  consumptionBilledSeconds,
  consumptionMemoryGb,
  databaseSize,
  flexBilledSeconds,
  num,
  type Prices,
  vmUse,
} from './model.js';

export type LoadShape = Omit<Load, 'devices'>;

export type LimitId =
  | 'flex.free-executions'
  | 'flex.free-gb-seconds'
  | 'linux.free-executions'
  | 'linux.free-gb-seconds'
  | 'supabase.free-database'
  | 'supabase.free-egress'
  | 'supabase.pro-included-database'
  | 'azure.free-egress'
  | 'log-analytics.free-ingestion'
  | 'vm.cpu-baseline'
  | 'vm.memory';

export interface LimitPoint {
  id: LimitId;
  title: string;
  limit: number;
  unit: string;
  /** The quantity without devices, and what each device adds (in `unit`). */
  fixed: number;
  perDevice: number;
  /** Devices at which the limit is reached: 0 when the fixed part alone reaches it, null: never. */
  devices: number | null;
  /** Messages a day at that point. */
  messagesPerDay: number | null;
  /** (limit - fixed) / per device = devices */
  working: string;
}

const GB = 1e9;

export function limits(
  shape: LoadShape,
  platform: Platform,
  prices: Prices,
  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
): LimitPoint[] {
  const a = assumptions;
  checkLoad({ ...shape, devices: 0 });
  checkPlatform(platform);
  checkAssumptions(a);
  const perMinute = shape.messagesPerDevicePerMinute;
  const messagesPerDevice = perMinute * MINUTES_PER_MONTH;
  const executionsPerDevice = messagesPerDevice / shape.batching.messagesPerExecution;
  const timerExecutions = a.timerRunsPerMinute * MINUTES_PER_MONTH;
  const executionSeconds = shape.batching.executionMs / 1000;
  const flex = prices.functions.flexConsumption;
  const linux = prices.functions.linuxConsumption;
  const flexGb = platform.flexInstanceMemoryMb / 1024;
  const linuxGb = consumptionMemoryGb(a);
  const flexTimerSeconds =
    a.timerRunsPerMinute > 0 ? MINUTES_PER_MONTH * flexBilledSeconds(a.timerSeconds, prices) : 0;
  const oneDevice = databaseSize({ ...shape, devices: 1 }, a);
  const dbPerDevice = oneDevice.databaseMb - a.baseDatabaseMb;
  const { free, pro } = prices.supabase;

  const point = (
    id: LimitId,
    title: string,
    limit: number,
    unit: string,
    fixed: number,
    perDevice: number,
  ): LimitPoint => {
    const devices = fixed >= limit ? 0 : perDevice > 0 ? (limit - fixed) / perDevice : null;
    return {
      id,
      title,
      limit,
      unit,
      fixed,
      perDevice,
      devices,
      messagesPerDay: devices === null ? null : devices * perMinute * 1440,
      working:
        fixed >= limit
          ? `${fmt(fixed)} ${unit} without devices already reaches ${fmt(limit)}`
          : perDevice > 0
            ? `(${fmt(limit)} - ${fmt(fixed)}) / ${fmt(perDevice)} ${unit} per device = ${num(devices!, 2)} devices`
            : `${fmt(fixed)} ${unit} without devices, none added per device: never`,
    };
  };

  const points = [
    point(
      'flex.free-executions',
      `Flex Consumption's free executions (${num(flex.freeExecutions)} a month)`,
      flex.freeExecutions,
      'executions',
      timerExecutions,
      executionsPerDevice,
    ),
    point(
      'flex.free-gb-seconds',
      `Flex Consumption's free GB-s (${num(flex.freeGbSeconds)} a month, ${num(platform.flexInstanceMemoryMb)} MB instances)`,
      flex.freeGbSeconds,
      'GB-s',
      Math.min(SECONDS_PER_MONTH, flexTimerSeconds) * flexGb,
      executionsPerDevice * flexBilledSeconds(executionSeconds, prices) * flexGb,
    ),
    point(
      'linux.free-executions',
      `Linux Consumption's free executions (${num(linux.freeExecutions)} a month)`,
      linux.freeExecutions,
      'executions',
      timerExecutions,
      executionsPerDevice,
    ),
    point(
      'linux.free-gb-seconds',
      `Linux Consumption's free GB-s (${num(linux.freeGbSeconds)} a month)`,
      linux.freeGbSeconds,
      'GB-s',
      timerExecutions * consumptionBilledSeconds(a.timerSeconds, prices) * linuxGb,
      executionsPerDevice * consumptionBilledSeconds(executionSeconds, prices) * linuxGb,
    ),
    point(
      'supabase.free-database',
      `Supabase Free's database (${num(free.databaseMb)} MB)`,
      free.databaseMb,
      'MB',
      a.baseDatabaseMb,
      dbPerDevice,
    ),
    point(
      'supabase.free-egress',
      `Supabase Free's egress (${num(free.egressGb)} GB a month)`,
      free.egressGb,
      'GB',
      (timerExecutions * a.supabaseEgressBytesPerExecution) / GB + a.dashboardEgressGbPerMonth,
      (executionsPerDevice * a.supabaseEgressBytesPerExecution) / GB,
    ),
    point(
      'supabase.pro-included-database',
      `Supabase Pro's included database (${num(pro.databaseGbIncluded)} GB)`,
      pro.databaseGbIncluded * 1000,
      'MB',
      a.baseDatabaseMb,
      dbPerDevice,
    ),
    point(
      'azure.free-egress',
      `Azure's free egress (${num(prices.bandwidth.freeGbPerMonth)} GB a month)`,
      prices.bandwidth.freeGbPerMonth,
      'GB',
      (timerExecutions * a.egressBytesPerExecution) / GB,
      (messagesPerDevice * (a.egressOverheadBytesPerMessage + shape.payloadBytes) +
        executionsPerDevice * a.egressBytesPerExecution) /
        GB,
    ),
    point(
      'log-analytics.free-ingestion',
      `Log Analytics' free ingestion (${num(prices.logAnalytics.freeGbPerMonth)} GB a month)`,
      prices.logAnalytics.freeGbPerMonth,
      'GB',
      (timerExecutions * a.logBytesPerExecution) / GB,
      (executionsPerDevice * a.logBytesPerExecution) / GB,
    ),
  ];
  const idle = vmUse({ devices: 0, messagesPerDevicePerMinute: perMinute }, platform.vmSize, a);
  const one = vmUse({ devices: 1, messagesPerDevicePerMinute: perMinute }, platform.vmSize, a);
  if (idle.spec) {
    points.push(
      point(
        'vm.cpu-baseline',
        `${platform.vmSize}'s CPU baseline (${idle.spec.baselinePercent}% of a vCPU)`,
        idle.spec.baselinePercent,
        '% CPU',
        idle.cpuPercent,
        one.cpuPercent - idle.cpuPercent,
      ),
      point(
        'vm.memory',
        `${platform.vmSize}'s memory (${num(idle.spec.memoryGiB * 1024)} MiB, ${num(a.vmMemoryMinAvailableMiB)} kept available)`,
        idle.spec.memoryGiB * 1024,
        'MiB',
        idle.memoryUsedMiB + a.vmMemoryMinAvailableMiB,
        one.memoryUsedMiB - idle.memoryUsedMiB,
      ),
    );
  }
  return points;
}

/** Where the next size or plan is due: the lowest device count among its limits (null: never). */
export function due(points: readonly LimitPoint[]): { biggerVm: number | null; supabasePro: number | null } {
  const lowest = (ids: LimitId[]) => {
    const at = points.filter((p) => ids.includes(p.id) && p.devices !== null).map((p) => p.devices!);
    return at.length ? Math.min(...at) : null;
  };
  return {
    biggerVm: lowest(['vm.cpu-baseline', 'vm.memory']),
    supabasePro: lowest(['supabase.free-database', 'supabase.free-egress']),
  };
}

function fmt(n: number): string {
  return num(n, n !== 0 && Math.abs(n) < 1 ? 6 : 2);
}
