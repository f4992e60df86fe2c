/**
 * bench:cost's Functions accounting pinned to worked examples computed by hand in the comments,
 * with the frozen price list of test/support/cost-fixture.ts (Flex: 1 s minimum, by 100 ms,
 * $0.000026/GB-s, $0.40/M, 100,000 GB-s and 250,000 executions free; Linux: 100 ms minimum, by
 * the ms, $0.000016/GB-s, $0.20/M, 400,000 GB-s and 1 M executions free) and a 2,048 MB instance.
 */
import { WORKED_PLATFORM as PLATFORM, WORKED_PRICES as PRICES } from '../../test/support/cost-fixture.js';
import { DEFAULT_ASSUMPTIONS } from '../../ops/cost/assumptions.js';
import {
  activityPeriods,
  type Execution,
  functionsUsage,
  monthlyFunctionsCost,
  perMillion,
  range,
  sliceExecutions,
} from './functions-cost.js';

const exec = (at: number, ms: number, messages = 1): Execution => ({ at, ms, messages });
const MEMORY = { flexInstanceMemoryMb: 2048 };

describe('activity periods', () => {
  test('overlapping executions are one period; touching ones too; a gap starts a new one', () => {
    // [0, 30) and [10, 50) overlap -> [0, 50); [50, 60) starts where it ends -> [0, 60);
    // [2000, 2020) is alone. Given out of order.
    expect(activityPeriods([exec(2000, 20), exec(10, 40), exec(0, 30), exec(50, 10)])).toEqual([
      { start: 0, end: 60 },
      { start: 2000, end: 2020 },
    ]);
  });

  test('an execution inside a longer one adds nothing', () => {
    expect(activityPeriods([exec(0, 1000), exec(100, 50)])).toEqual([{ start: 0, end: 1000 }]);
  });
});

describe('functionsUsage', () => {
  test('short executions far apart: each period billed 1 s on Flex, 100 ms on Linux', () => {
    // Three 40 ms executions 5 s apart, 10 messages each, in a 15 s window.
    // Execution seconds: 3 x 0.040 = 0.12 s; mean 40 ms.
    // Flex: 3 periods x max(1 s, 0.04 s) = 3 s (under the 15 s wall) x 2 GB = 6 GB-s.
    // Linux: 3 x max(0.1 s, 0.04 s) = 0.3 s x 256 MB (0.25 GB) = 0.075 GB-s.
    const u = functionsUsage([exec(0, 40, 10), exec(5000, 40, 10), exec(10_000, 40, 10)], 15, PRICES, MEMORY);
    expect(u.executions).toBe(3);
    expect(u.messages).toBe(30);
    expect(u.executionSeconds).toBeCloseTo(0.12, 9);
    expect(u.meanExecutionMs).toBeCloseTo(40, 9);
    expect(u.activityPeriods).toBe(3);
    expect(u.flexPeriodSeconds).toBeCloseTo(3, 9);
    expect(u.flexBilledSeconds).toBeCloseTo(3, 9);
    expect(u.flexGbSeconds).toBeCloseTo(6, 9);
    expect(u.linuxBilledSeconds).toBeCloseTo(0.3, 9);
    expect(u.linuxGbSeconds).toBeCloseTo(0.075, 9);
  });

  test('long and overlapping executions: Flex rounds the merged period up to 100 ms, Linux each to 1 ms', () => {
    // [0, 1230.4) and [1000, 1150.2) overlap: one period of 1.2304 s -> 1.3 s x 2 GB = 2.6 GB-s.
    // Linux bills both: 1.231 s + 0.151 s = 1.382 s x 0.25 GB = 0.3455 GB-s.
    const u = functionsUsage([exec(0, 1230.4, 500), exec(1000, 150.2, 20)], 60, PRICES, MEMORY);
    expect(u.activityPeriods).toBe(1);
    expect(u.flexBilledSeconds).toBeCloseTo(1.3, 9);
    expect(u.flexGbSeconds).toBeCloseTo(2.6, 9);
    expect(u.linuxBilledSeconds).toBeCloseTo(1.382, 9);
    expect(u.linuxGbSeconds).toBeCloseTo(0.3455, 9);
    expect(u.executionSeconds).toBeCloseTo(1.3806, 9);
  });

  test('Flex never bills one instance more than the wall time', () => {
    // Ten 20 ms executions 200 ms apart: 10 periods x 1 s = 10 s, but the window lasted 2 s:
    // billed 2 s x 2 GB = 4 GB-s (the model's min(month, executions x billed) in small).
    const many = Array.from({ length: 10 }, (_, i) => exec(i * 200, 20));
    const u = functionsUsage(many, 2, PRICES, MEMORY);
    expect(u.flexPeriodSeconds).toBeCloseTo(10, 9);
    expect(u.flexBilledSeconds).toBe(2);
    expect(u.flexGbSeconds).toBe(4);
    // Linux: 10 x 0.1 s x 0.25 GB = 0.25 GB-s.
    expect(u.linuxGbSeconds).toBeCloseTo(0.25, 9);
  });

  test("Linux's billed memory follows the model's assumption, rounded up to 128 MB", () => {
    // 300 MB is billed as 384 MB = 0.375 GB: 2 x 0.1 s x 0.375 = 0.075 GB-s.
    const assumptions = { ...DEFAULT_ASSUMPTIONS, consumptionMemoryMb: 300 };
    const u = functionsUsage([exec(0, 10), exec(500, 10)], 10, PRICES, { ...MEMORY, assumptions });
    expect(u.linuxGbSeconds).toBeCloseTo(0.075, 9);
  });

  test('no executions cost nothing', () => {
    const u = functionsUsage([], 30, PRICES, MEMORY);
    expect([u.executions, u.flexGbSeconds, u.linuxGbSeconds, u.meanExecutionMs]).toEqual([0, 0, 0, 0]);
  });
});

describe('per million and spread', () => {
  test('perMillion scales by the messages; NaN without any', () => {
    // 317 executions for 323 messages: 981,424 per million.
    expect(Math.round(perMillion(317, 323))).toBe(981_424);
    expect(perMillion(5, 0)).toBeNaN();
  });

  test('executions fall in the slice of their start; late ones in the last slice', () => {
    // A 30 s window from t = 1000 in 3 slices of 10 s; 45,000 is after the window.
    const e = [
      exec(1000, 5),
      exec(10_999, 5),
      exec(11_000, 5),
      exec(30_999, 5),
      exec(45_000, 5),
      exec(500, 5),
    ];
    expect(sliceExecutions(e, 1000, 30_000, 3).map((s) => s.map((x) => x.at))).toEqual([
      [1000, 10_999, 500],
      [11_000],
      [30_999, 45_000],
    ]);
  });

  test('range ignores NaN', () => {
    expect(range([3, NaN, 1, 2])).toEqual([1, 3]);
    expect(range([NaN])).toEqual([NaN, NaN]);
  });
});

describe('monthly Functions cost at 100 devices x 1 message / 10 s', () => {
  // 100 x 6/min x 43,800 min = 26,280,000 messages; timers 2/min x 43,800 = 87,600 executions.
  test('one message per 50 ms execution (the old linger at MVP rates)', () => {
    const c = monthlyFunctionsCost({ messagesPerExecution: 1, executionMs: 50 }, PRICES, PLATFORM);
    // Flex: 26,280,000 x 1 s + 43,800 timer periods x 1 s > 2,628,000 s: the whole month active.
    // 2,628,000 s x 2 GB = 5,256,000 GB-s; (5,256,000 - 100,000) x 0.000026 = 134.056;
    // (26,367,600 - 250,000) / 1 M x 0.40 = 10.44704; total 144.50304.
    expect(c['flex-consumption'].executions).toBe(26_367_600);
    expect(c['flex-consumption'].gbSeconds).toBeCloseTo(5_256_000, 6);
    expect(c['flex-consumption'].monthly).toBeCloseTo(144.50304, 6);
    // Linux: (26,280,000 x 0.1 s + 87,600 x 1 s) x 0.25 GB = 678,900 GB-s;
    // (678,900 - 400,000) x 0.000016 = 4.4624; (26,367,600 - 1 M) / 1 M x 0.20 = 5.07352; 9.53592.
    expect(c['linux-consumption'].gbSeconds).toBeCloseTo(678_900, 6);
    expect(c['linux-consumption'].monthly).toBeCloseTo(9.53592, 6);
  });

  test('ten messages per 60 ms execution (a one-second latency budget at 10 msg/s)', () => {
    const c = monthlyFunctionsCost({ messagesPerExecution: 10, executionMs: 60 }, PRICES, PLATFORM);
    // 2,628,000 ingest executions + 87,600 timers = 2,715,600.
    // Flex: 2,628,000 x 1 s + 43,800 x 1 s = 2,671,800 s > 2,628,000 s: still the whole month,
    // 134.056 for time; (2,715,600 - 250,000) / 1 M x 0.40 = 0.98624; total 135.04224.
    expect(c['flex-consumption'].executions).toBe(2_715_600);
    expect(c['flex-consumption'].monthly).toBeCloseTo(135.04224, 6);
    // Linux: (2,628,000 x 0.1 s + 87,600 x 1 s) x 0.25 GB = 87,600 GB-s, under the free 400,000;
    // (2,715,600 - 1 M) / 1 M x 0.20 = 0.34312.
    expect(c['linux-consumption'].gbSeconds).toBeCloseTo(87_600, 6);
    expect(c['linux-consumption'].monthly).toBeCloseTo(0.34312, 6);
  });
});
