/**
 * Each formula of the cost model pinned to a worked example computed by hand in the comments, with
 * the frozen price list of test/support/cost-fixture.ts (USD, East US) and the default assumptions.
 * A month is 730 h: 43,800 minutes, 2,628,000 s, 30.4167 days.
 */
import { WORKED_PLATFORM as PLATFORM, WORKED_PRICES as PRICES } from '../../test/support/cost-fixture.js';
import { DEFAULT_ASSUMPTIONS } from './assumptions.js';
import type { Load } from './load.js';
import {
  type ComponentId,
  consumptionMemoryGb,
  flexBilledSeconds,
  consumptionBilledSeconds,
  monthlyCost,
} from './model.js';

/** 100 devices at one message per 10 s (6 a minute), the simulator's 100-byte payload. */
function load(over: Partial<Load> = {}): Load {
  return {
    devices: 100,
    messagesPerDevicePerMinute: 6,
    payloadBytes: 100,
    retentionDays: 30,
    ageDays: 365,
    archive: true,
    functionsPlan: 'flex-consumption',
    batching: { messagesPerExecution: 1, executionMs: 50 },
    ...over,
  };
}

const part = (l: Load, id: ComponentId, platform = PLATFORM) =>
  monthlyCost(l, platform, PRICES).components.find((c) => c.id === id)!;

describe('traffic: 100 devices x 1 message / 10 s', () => {
  test('is 26,280,000 messages a month; executions follow the batch size, plus the timers', () => {
    // 100 x 6/min x 43,800 min = 26,280,000 (864,000 a day x 30.4167 days).
    // Timers: 2 a minute x 43,800 = 87,600 executions.
    const one = part(load(), 'functions').quantities;
    expect(one.messages).toBe(26_280_000);
    expect(one.ingestExecutions).toBe(26_280_000);
    expect(one.timerExecutions).toBe(87_600);
    expect(one.executions).toBe(26_367_600);
    // 50 per execution: 26,280,000 / 50 = 525,600, + 87,600 = 613,200.
    const fifty = part(
      load({ batching: { messagesPerExecution: 50, executionMs: 50 } }),
      'functions',
    ).quantities;
    expect(fifty.ingestExecutions).toBe(525_600);
    expect(fifty.executions).toBe(613_200);
  });
});

describe('Functions, Flex Consumption (2,048 MB instances)', () => {
  test('1 message per execution: the instance is billed the whole month', () => {
    // Each execution is billed max(1 s, 50 ms) = 1 s. 26,280,000 x 1 s + timers 43,800 min x 1 s =
    // 26,323,800 s, more than the month: one instance active 2,628,000 s.
    // GB-s 2,628,000 x 2 = 5,256,000; (5,256,000 - 100,000) x 0.000026 = 134.056.
    // Executions (26,367,600 - 250,000) / 1 M x 0.40 = 10.44704. Total 144.50304.
    const f = part(load(), 'functions');
    expect(f.quantities.billedSecondsPerExecution).toBe(1);
    expect(f.quantities.activeSeconds).toBe(2_628_000);
    expect(f.quantities.gbSeconds).toBe(5_256_000);
    expect(f.quantities.timeCost).toBeCloseTo(134.056, 6);
    expect(f.quantities.executionCost).toBeCloseTo(10.44704, 6);
    expect(f.monthly).toBeCloseTo(144.50304, 6);
    expect(f.title).toBe('Functions (Flex Consumption)');
    expect(f.working).toContain('ingest executions: 26,280,000 / 1 per execution = 26,280,000');
  });

  test('50 messages per execution', () => {
    // 525,600 x 1 s + 43,800 s = 569,400 s; x 2 GB = 1,138,800 GB-s;
    // (1,138,800 - 100,000) x 0.000026 = 27.0088. (613,200 - 250,000) / 1 M x 0.40 = 0.14528.
    const f = part(load({ batching: { messagesPerExecution: 50, executionMs: 50 } }), 'functions');
    expect(f.quantities.activeSeconds).toBe(569_400);
    expect(f.quantities.gbSeconds).toBe(1_138_800);
    expect(f.monthly).toBeCloseTo(27.0088 + 0.14528, 6);
  });

  test('an activity period is billed at least 1 s, then by 100 ms', () => {
    expect(flexBilledSeconds(0.05, PRICES)).toBe(1);
    expect(flexBilledSeconds(1, PRICES)).toBe(1);
    expect(flexBilledSeconds(1.234, PRICES)).toBeCloseTo(1.3, 9);
    expect(flexBilledSeconds(2.2, PRICES)).toBeCloseTo(2.2, 9); // float 2.2 / 0.1 is 22.000000000000004
  });

  test('512 MB instances bill a quarter of the GB-s', () => {
    // 2,628,000 s x 0.5 GB = 1,314,000 GB-s; (1,314,000 - 100,000) x 0.000026 = 31.564.
    const f = part(load(), 'functions', { ...PLATFORM, flexInstanceMemoryMb: 512 });
    expect(f.quantities.gbSeconds).toBe(1_314_000);
    expect(f.quantities.timeCost).toBeCloseTo(31.564, 6);
  });
});

describe('Functions, Linux Consumption (256 MB observed)', () => {
  test('1 message per execution', () => {
    // Billed max(100 ms, 50 ms) = 0.1 s at 0.25 GB; timers 1 s each.
    // GB-s (26,280,000 x 0.1 + 87,600 x 1) x 0.25 = 678,900; (678,900 - 400,000) x 0.000016 = 4.4624.
    // Executions (26,367,600 - 1,000,000) / 1 M x 0.20 = 5.07352. Total 9.53592.
    const f = part(load({ functionsPlan: 'linux-consumption' }), 'functions');
    expect(f.quantities.gbSeconds).toBeCloseTo(678_900, 6);
    expect(f.quantities.timeCost).toBeCloseTo(4.4624, 6);
    expect(f.quantities.executionCost).toBeCloseTo(5.07352, 6);
    expect(f.monthly).toBeCloseTo(9.53592, 6);
  });

  test('50 messages per execution stays within both free grants', () => {
    // (525,600 x 0.1 + 87,600) x 0.25 = 35,040 GB-s < 400,000; 613,200 executions < 1,000,000.
    const f = part(
      load({ functionsPlan: 'linux-consumption', batching: { messagesPerExecution: 50, executionMs: 50 } }),
      'functions',
    );
    expect(f.quantities.gbSeconds).toBeCloseTo(35_040, 6);
    expect(f.quantities.billableGbSeconds).toBe(0);
    expect(f.quantities.billableExecutions).toBe(0);
    expect(f.monthly).toBe(0);
  });

  test('memory is rounded up to 128 MB, at most 1,536 MB; time to the millisecond, at least 100 ms', () => {
    expect(consumptionMemoryGb(DEFAULT_ASSUMPTIONS)).toBe(0.25);
    expect(consumptionMemoryGb({ ...DEFAULT_ASSUMPTIONS, consumptionMemoryMb: 200 })).toBe(0.25);
    expect(consumptionMemoryGb({ ...DEFAULT_ASSUMPTIONS, consumptionMemoryMb: 1600 })).toBe(1.5);
    expect(consumptionBilledSeconds(0.05, PRICES)).toBe(0.1);
    expect(consumptionBilledSeconds(1.2341, PRICES)).toBeCloseTo(1.235, 9);
  });
});

describe('the other components at 100 devices', () => {
  test('VM: the price of its size, and its CPU and memory use', () => {
    // CPU 3% + 10 msg/s x 0.035 ms / 10 = 3.035% of a vCPU; memory 450 + 100 x 64 / 1024 = 456.25 MiB.
    const v = part(load(), 'vm');
    expect(v.monthly).toBe(7.59);
    expect(v.quantities.cpuPercent).toBeCloseTo(3.035, 9);
    expect(v.quantities.memoryUsedMiB).toBe(456.25);
    expect(v.quantities.memoryLimitMiB).toBe(924);
  });

  test('VM: a load the size no longer holds is named', () => {
    // 8,000 devices: 450 + 8,000 x 64 / 1024 = 950 MiB > 1,024 - 100.
    const e = monthlyCost(load({ devices: 8000 }), PLATFORM, PRICES);
    expect(e.over).toEqual(['Standard_B1s: 950 MiB in use leaves under 100 MiB available']);
  });

  test('OS disk: the tier that holds it, and Standard SSD transactions from the journal syncs', () => {
    // 30 GB -> E4 (32 GB) 2.40. Syncs min(10 msg/s, 1000 / 50) = 10/s; (1 + 2 x 10) = 21 I/O per s
    // x 2,628,000 s = 55,188,000; / 10,000 x 0.002 = 11.0376. Total 13.4376.
    const d = part(load(), 'os-disk');
    expect(d.quantities.transactions).toBe(55_188_000);
    expect(d.monthly).toBeCloseTo(13.4376, 9);
    // 1,000 devices: 100 msg/s, syncs capped at 20/s: 41 x 2,628,000 = 107,748,000 -> 21.5496 + 2.40.
    expect(part(load({ devices: 1000 }), 'os-disk').monthly).toBeCloseTo(23.9496, 9);
    // Premium SSD: P4, no transactions.
    expect(part(load(), 'os-disk', { ...PLATFORM, osDiskType: 'premium-ssd' }).monthly).toBe(5.28);
  });

  test('public IP: hourly x 730', () => {
    expect(part(load(), 'public-ip').monthly).toBeCloseTo(3.65, 9); // 0.005 x 730
  });

  test('Log Analytics: bytes per execution beyond the free 5 GB', () => {
    // 26,367,600 x 1,500 B = 39.5514 GB; (39.5514 - 5) x 2.30 = 79.46822.
    const l = part(load(), 'log-analytics');
    expect(l.quantities.gb).toBeCloseTo(39.5514, 9);
    expect(l.monthly).toBeCloseTo(79.46822, 6);
  });

  test('Supabase with the archive: 30 days of readings, a year of rollups, on Pro', () => {
    // Readings 100 x 8,640 x 30 = 25,920,000 x (260 + 100) B = 9,331.2 MB.
    // Rollups 100 x 24 x 365 = 876,000 device-hours x (167 + 3 x 214 = 809) B = 708.684 MB.
    // 25 + 9,331.2 + 708.684 = 10,064.884 MB > 500: Pro, 25 + (10.064884 - 8) x 0.125 = 25.2581105.
    // Egress 26,367,600 x 1,000 B + 1 GB = 27.3676 GB, within Pro's 250.
    const s = part(load(), 'supabase');
    expect(s.quantities.telemetryMb).toBeCloseTo(9331.2, 6);
    expect(s.quantities.rollupMb).toBeCloseTo(708.684, 6);
    expect(s.quantities.databaseMb).toBeCloseTo(10_064.884, 6);
    expect(s.quantities.egressGb).toBeCloseTo(27.3676, 9);
    expect(s.title).toBe('Supabase (Pro)');
    expect(s.monthly).toBeCloseTo(25.2581105, 9);
  });

  test('Supabase without the archive keeps every reading of the year', () => {
    // 100 x 8,640 x 365 = 315,360,000 x 360 B = 113,529.6 MB; + 708.684 + 25 = 114,263.284 MB;
    // 25 + (114.263284 - 8) x 0.125 = 38.2829105.
    const s = part(load({ archive: false }), 'supabase');
    expect(s.quantities.databaseMb).toBeCloseTo(114_263.284, 6);
    expect(s.monthly).toBeCloseTo(38.2829105, 9);
  });

  test('Supabase Free while the load fits; a forced Free plan says what it is over', () => {
    // 1 device, 3 days kept: 8,640 x 3 x 360 B = 9.3312 MB; rollups 8,760 x 809 B = 7.08684 MB;
    // 25 + 9.3312 + 7.08684 = 41.41804 MB. Egress (262,800 + 87,600) x 1,000 B + 1 GB = 1.3504 GB.
    const small = part(load({ devices: 1, retentionDays: 3 }), 'supabase');
    expect(small.quantities.databaseMb).toBeCloseTo(41.41804, 9);
    expect(small.quantities.egressGb).toBeCloseTo(1.3504, 9);
    expect(small.title).toBe('Supabase (Free)');
    expect(small.monthly).toBe(0);
    const forced = monthlyCost(load(), { ...PLATFORM, supabasePlan: 'free' }, PRICES);
    expect(forced.components.find((c) => c.id === 'supabase')!.monthly).toBe(0);
    expect(forced.over).toEqual([
      'Supabase Free: the database (10,065 MB) is over its 500 MB',
      'Supabase Free: egress (27.4 GB) is over its 5 GB',
    ]);
  });

  test('Blob archive: what aged out of the database, in the cool tier, one object per tenant-day', () => {
    // 864,000 readings/day x (365 - 30) days x 50 B = 14.472 GB x 0.01 = 0.14472.
    // 30.4167 days x 10 objects = 304.1667 writes (4.32 MB each: one Put Blob) and as many reads:
    // 304.1667 x 0.10 / 10,000 + 304.1667 x 0.01 / 10,000 = 0.00334583.
    const b = part(load(), 'blob-archive');
    expect(b.quantities.storedGb).toBeCloseTo(14.472, 9);
    expect(b.quantities.writes).toBeCloseTo(304.1667, 3);
    expect(b.monthly).toBeCloseTo(0.14472 + 0.00334583, 7);
    expect(part(load({ ageDays: 30 }), 'blob-archive').monthly).toBe(0); // nothing aged out yet
    expect(part(load({ archive: false }), 'blob-archive').monthly).toBe(0);
  });

  test('egress out of Azure: per message and per execution, beyond the free 100 GB', () => {
    // 26,280,000 x (150 + 100) B = 6.57 GB; 26,367,600 x 4,000 B = 105.4704 GB; 112.0404 GB;
    // (112.0404 - 100) x 0.087 = 1.0475148.
    const g = part(load(), 'egress');
    expect(g.quantities.gb).toBeCloseTo(112.0404, 9);
    expect(g.monthly).toBeCloseTo(1.0475148, 9);
  });

  test('Pages: the Free plan', () => {
    expect(part(load(), 'pages').monthly).toBe(0);
  });

  test('the total is the sum, with the price list named and its provenance', () => {
    const e = monthlyCost(load(), PLATFORM, PRICES);
    expect(e.total).toBeCloseTo(
      e.components.reduce((a, c) => a + c.monthly, 0),
      9,
    );
    expect(e.components.map((c) => c.id)).toEqual([
      'vm',
      'os-disk',
      'public-ip',
      'functions',
      'log-analytics',
      'supabase',
      'blob-archive',
      'egress',
      'pages',
    ]);
    expect(e.prices).toEqual({ region: 'eastus', readOn: '2025-05-22', verified: false });
    expect(e.currency).toBe('USD');
  });
});

describe('edges', () => {
  test('zero devices: the fixed parts only, every free grant and plan holds it', () => {
    // Flex: timers 43,800 s x 2 GB = 87,600 GB-s < 100,000; 87,600 executions < 250,000: 0.
    // Disk 2.40 + 1 I/O per s x 2,628,000 s = 2,628,000 / 10,000 x 0.002 = 0.5256: 2.9256.
    // Supabase Free (25 MB). Logs 0.1314 GB, egress 0.3504 GB: free. Total 7.59 + 2.9256 + 3.65 = 14.1656.
    const e = monthlyCost(load({ devices: 0 }), PLATFORM, PRICES);
    const by = Object.fromEntries(e.components.map((c) => [c.id, c.monthly]));
    expect(by.functions).toBe(0);
    expect(by['log-analytics']).toBe(0);
    expect(by.supabase).toBe(0);
    expect(by.egress).toBe(0);
    expect(by['blob-archive']).toBe(0);
    expect(by['os-disk']).toBeCloseTo(2.9256, 9);
    expect(e.total).toBeCloseTo(14.1656, 9);
    expect(e.over).toEqual([]);
  });

  test('the Flex free executions exactly used: nothing to pay for them; one more: a charge', () => {
    // Without timers, 250,000 executions are free: 250,000 messages at one per execution, e.g.
    // 1 device at 250,000 / 43,800 messages a minute (a fraction is fine for the model).
    const a = { ...DEFAULT_ASSUMPTIONS, timerRunsPerMinute: 0 };
    const exact = monthlyCost(
      load({ devices: 250_000, messagesPerDevicePerMinute: 1 / 43_800 }),
      PLATFORM,
      PRICES,
      a,
    );
    const f = exact.components.find((c) => c.id === 'functions')!;
    expect(f.quantities.executions).toBeCloseTo(250_000, 6);
    expect(f.quantities.executionCost).toBeCloseTo(0, 9);
    const more = monthlyCost(
      load({ devices: 250_001, messagesPerDevicePerMinute: 1 / 43_800 }),
      PLATFORM,
      PRICES,
      a,
    );
    // One execution over: 1 / 1 M x 0.40 = 0.0000004.
    expect(more.components.find((c) => c.id === 'functions')!.quantities.executionCost).toBeCloseTo(
      0.0000004,
      9,
    );
  });

  test.each([
    [{ devices: -1 }, 'cost model: load.devices must be a non-negative number (got -1)'],
    [{ devices: Number.NaN }, 'cost model: load.devices must be a non-negative number (got NaN)'],
    [
      { messagesPerDevicePerMinute: Number.POSITIVE_INFINITY },
      'cost model: load.messagesPerDevicePerMinute must be a non-negative number (got Infinity)',
    ],
    [{ payloadBytes: -5 }, 'cost model: load.payloadBytes must be a non-negative number (got -5)'],
    [{ retentionDays: Number.NaN }, 'cost model: load.retentionDays must be a non-negative number (got NaN)'],
    [
      { batching: { messagesPerExecution: 0.5, executionMs: 50 } },
      'cost model: load.batching.messagesPerExecution must be at least 1 (got 0.5)',
    ],
    [
      { batching: { messagesPerExecution: 1, executionMs: -1 } },
      'cost model: load.batching.executionMs must be a non-negative number (got -1)',
    ],
    [
      { functionsPlan: 'premium' as Load['functionsPlan'] },
      'cost model: load.functionsPlan must be flex-consumption or linux-consumption (got premium)',
    ],
  ])('refuses %p', (over, message) => {
    expect(() => monthlyCost(load(over), PLATFORM, PRICES)).toThrow(message);
  });

  test('refuses a platform or price list it cannot price, saying what to add', () => {
    expect(() => monthlyCost(load(), { ...PLATFORM, osDiskGb: 0 }, PRICES)).toThrow(
      'cost model: platform.osDiskGb must be a positive number (got 0)',
    );
    expect(() => monthlyCost(load(), { ...PLATFORM, osDiskGb: 200 }, PRICES)).toThrow(
      'cost model: no standard-ssd tier of 200 GB or more in prices.osDisk: add one',
    );
    expect(() => monthlyCost(load(), { ...PLATFORM, vmSize: 'Standard_D2s_v5' }, PRICES)).toThrow(
      'cost model: no price for Standard_D2s_v5 in prices.vmMonthly: add its pay-as-you-go monthly price',
    );
    expect(() =>
      monthlyCost(load(), PLATFORM, PRICES, { ...DEFAULT_ASSUMPTIONS, egressBytesPerExecution: -1 }),
    ).toThrow('cost model: assumption egressBytesPerExecution must be a non-negative number (got -1)');
  });

  test('a VM size the model has no capacity for is priced, its capacity not checked', () => {
    const prices = { ...PRICES, vmMonthly: { ...PRICES.vmMonthly, Standard_D2s_v5: 70.08 } };
    const e = monthlyCost(load(), { ...PLATFORM, vmSize: 'Standard_D2s_v5' }, prices);
    const v = e.components.find((c) => c.id === 'vm')!;
    expect(v.monthly).toBe(70.08);
    expect(v.working).toContain(
      'capacity of Standard_D2s_v5 unknown to the model (assumptions.vmSizes): not checked',
    );
    expect(e.over).toEqual([]);
  });
});
