/**
 * What the measured mqtt_ingest executions of a bench:cost window cost in Functions terms: pure
 * accounting over (start, duration, messages) records, with the billing rules of ops/cost/model.ts
 * (its functions, not a copy: flexBilledSeconds, consumptionBilledSeconds, consumptionMemoryGb,
 * monthlyCost).
 *
 * - Flex Consumption bills the instance's memory while it executes anything: overlapping
 *   executions form one activity period, each period is billed flexBilledSeconds (at least the
 *   plan's minimum, 1 s, then by 100 ms), and one instance is never billed more than the wall time
 *   (the model's own cap: min(month, executions x billed seconds)).
 * - Linux Consumption bills each execution consumptionBilledSeconds (at least 100 ms, by the ms)
 *   times consumptionMemoryGb (the model's memory assumption rounded up to 128 MB).
 */
import { DEFAULT_ASSUMPTIONS, type Assumptions } from '../../ops/cost/assumptions.js';
import type { FunctionsPlan, Load, Platform } from '../../ops/cost/load.js';
import {
  consumptionBilledSeconds,
  consumptionMemoryGb,
  flexBilledSeconds,
  monthlyCost,
  type Prices,
} from '../../ops/cost/model.js';
import { DOC_SHAPE } from '../../ops/cost/table.js';

/** One mqtt_ingest execution as the instrumented host saw it. */
export interface Execution {
  /** Start (epoch ms). */
  at: number;
  /** The handler's duration (ms): request received to response finished. */
  ms: number;
  /** Messages in its batch (0 for the bridge's heartbeat). */
  messages: number;
}

export interface Period {
  start: number;
  end: number;
}

/** The executions' union as activity periods (epoch ms), in time order: overlapping ones merge. */
export function activityPeriods(executions: readonly Execution[]): Period[] {
  const sorted = [...executions].sort((a, b) => a.at - b.at);
  const periods: Period[] = [];
  for (const e of sorted) {
    const last = periods[periods.length - 1];
    const end = e.at + e.ms;
    if (last && e.at <= last.end) last.end = Math.max(last.end, end);
    else periods.push({ start: e.at, end });
  }
  return periods;
}

export interface FunctionsUsage {
  executions: number;
  messages: number;
  /** The measured durations summed (s). */
  executionSeconds: number;
  meanExecutionMs: number;
  activityPeriods: number;
  /** Flex: the periods' billed seconds summed, before the wall-time cap. */
  flexPeriodSeconds: number;
  /** Flex: min(flexPeriodSeconds, wallSeconds). */
  flexBilledSeconds: number;
  flexGbSeconds: number;
  linuxBilledSeconds: number;
  linuxGbSeconds: number;
}

export interface MemorySettings {
  /** infra.functions.instanceMemoryMb: what Flex bills per active second. */
  flexInstanceMemoryMb: number;
  /** The model's assumptions: Linux Consumption's billed memory comes from consumptionMemoryMb. */
  assumptions?: Assumptions;
}

/**
 * The Functions usage of a window: `wallSeconds` is how long the window lasted (the most one
 * instance can be billed on Flex).
 */
export function functionsUsage(
  executions: readonly Execution[],
  wallSeconds: number,
  prices: Prices,
  memory: MemorySettings,
): FunctionsUsage {
  const executionSeconds = executions.reduce((a, e) => a + e.ms, 0) / 1000;
  const periods = activityPeriods(executions);
  const flexPeriodSeconds = periods.reduce(
    (a, p) => a + flexBilledSeconds((p.end - p.start) / 1000, prices),
    0,
  );
  const flexSeconds = Math.min(flexPeriodSeconds, wallSeconds);
  const linuxBilledSeconds = executions.reduce(
    (a, e) => a + consumptionBilledSeconds(e.ms / 1000, prices),
    0,
  );
  return {
    executions: executions.length,
    messages: executions.reduce((a, e) => a + e.messages, 0),
    executionSeconds,
    meanExecutionMs: executions.length ? (executionSeconds * 1000) / executions.length : 0,
    activityPeriods: periods.length,
    flexPeriodSeconds,
    flexBilledSeconds: flexSeconds,
    flexGbSeconds: flexSeconds * (memory.flexInstanceMemoryMb / 1024),
    linuxBilledSeconds,
    linuxGbSeconds: linuxBilledSeconds * consumptionMemoryGb(memory.assumptions ?? DEFAULT_ASSUMPTIONS),
  };
}

/** `value` per million messages (NaN without messages). */
export function perMillion(value: number, messages: number): number {
  return messages > 0 ? (value * 1e6) / messages : NaN;
}

/**
 * The window [start, start + ms) cut into `count` equal slices; each execution falls in the slice
 * of its start, and executions after the window (its last batches) in the last slice.
 */
export function sliceExecutions(
  executions: readonly Execution[],
  start: number,
  ms: number,
  count: number,
): Execution[][] {
  const slices: Execution[][] = Array.from({ length: count }, () => []);
  for (const e of executions) {
    const i = Math.min(count - 1, Math.max(0, Math.floor(((e.at - start) * count) / ms)));
    slices[i]!.push(e);
  }
  return slices;
}

/** Smallest and largest of some numbers, NaN ignored ([NaN, NaN] when none is left). */
export function range(values: readonly number[]): [number, number] {
  const finite = values.filter((v) => Number.isFinite(v));
  return finite.length ? [Math.min(...finite), Math.max(...finite)] : [NaN, NaN];
}

/** The load the closing note of issue 13 prices: 100 devices, one message per 10 s each. */
export const REFERENCE_DEVICES = 100;

/**
 * The model's monthly Functions cost (prices.currency) on each plan for the reference load
 * (docs/cost.md's shape: 100 devices at one message per 10 s) with the measured batching.
 */
export function monthlyFunctionsCost(
  batching: Load['batching'],
  prices: Prices,
  platform: Platform,
  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
  devices = REFERENCE_DEVICES,
): Record<FunctionsPlan, { monthly: number; executions: number; gbSeconds: number }> {
  const one = (functionsPlan: FunctionsPlan) => {
    const load: Load = { ...DOC_SHAPE, devices, archive: true, functionsPlan, batching };
    const c = monthlyCost(load, platform, prices, assumptions).components.find((x) => x.id === 'functions')!;
    return { monthly: c.monthly, executions: c.quantities.executions!, gbSeconds: c.quantities.gbSeconds! };
  };
  return { 'flex-consumption': one('flex-consumption'), 'linux-consumption': one('linux-consumption') };
}
