/**
 * The load at which each free grant or limit is reached, worked by hand for one message per 10 s
 * per device (262,800 messages a device a month, 8,640 a day), one message per execution, 50 ms,
 * 30 days kept of a year, on prod's platform (B1s, 2,048 MB Flex instances); and checked against
 * the forward model: at the point the quantity equals the limit, past it the next charge starts.
 */
import { WORKED_PLATFORM as PLATFORM, WORKED_PRICES as PRICES } from '../../test/support/cost-fixture.js';
import { DEFAULT_ASSUMPTIONS } from './assumptions.js';
import { due, type LimitId, limits, type LoadShape } from './limits.js';
import { monthlyCost } from './model.js';

const SHAPE: LoadShape = {
  messagesPerDevicePerMinute: 6,
  payloadBytes: 100,
  retentionDays: 30,
  ageDays: 365,
  archive: true,
  functionsPlan: 'flex-consumption',
  batching: { messagesPerExecution: 1, executionMs: 50 },
};

const at = (shape: LoadShape, id: LimitId, platform = PLATFORM) =>
  limits(shape, platform, PRICES).find((p) => p.id === id)!;

test('Functions free grants, both plans', () => {
  // Flex executions: (250,000 - 87,600 timer runs) / 262,800 = 0.61796 devices, 5,339 messages a day.
  const flexRuns = at(SHAPE, 'flex.free-executions');
  expect(flexRuns.fixed).toBe(87_600);
  expect(flexRuns.perDevice).toBe(262_800);
  expect(flexRuns.devices).toBeCloseTo(162_400 / 262_800, 9);
  expect(flexRuns.messagesPerDay).toBeCloseTo((162_400 / 262_800) * 8640, 6);
  expect(flexRuns.working).toBe('(250,000 - 87,600) / 262,800 executions per device = 0.62 devices');
  // Flex GB-s: timers 43,800 x 1 s x 2 GB = 87,600; a device 262,800 x 1 s x 2 GB = 525,600:
  // (100,000 - 87,600) / 525,600 = 0.023592 devices.
  const flexGbs = at(SHAPE, 'flex.free-gb-seconds');
  expect([flexGbs.fixed, flexGbs.perDevice]).toEqual([87_600, 525_600]);
  expect(flexGbs.devices).toBeCloseTo(12_400 / 525_600, 9);
  // Linux executions: (1,000,000 - 87,600) / 262,800 = 3.4718 devices.
  expect(at(SHAPE, 'linux.free-executions').devices).toBeCloseTo(912_400 / 262_800, 9);
  // Linux GB-s: timers 87,600 x 1 s x 0.25 GB = 21,900; a device 262,800 x 0.1 s x 0.25 = 6,570:
  // (400,000 - 21,900) / 6,570 = 57.55 devices.
  const linuxGbs = at(SHAPE, 'linux.free-gb-seconds');
  expect(linuxGbs.fixed).toBeCloseTo(21_900, 9);
  expect(linuxGbs.perDevice).toBeCloseTo(6570, 9);
  expect(linuxGbs.devices).toBeCloseTo(378_100 / 6570, 9);
  // 50 messages per execution: a device is 5,256 executions: (1,000,000 - 87,600) / 5,256 = 173.59.
  const batched = { ...SHAPE, batching: { messagesPerExecution: 50, executionMs: 50 } };
  expect(at(batched, 'linux.free-executions').devices).toBeCloseTo(912_400 / 5256, 9);
});

test('Supabase: Free database and egress, Pro included database', () => {
  // A device keeps 8,640 x 30 = 259,200 readings x 360 B = 93.312 MB, and 24 x 365 = 8,760
  // device-hours x 809 B = 7.08684 MB of rollups: 100.39884 MB. (500 - 25) / 100.39884 = 4.7311.
  const free = at(SHAPE, 'supabase.free-database');
  expect(free.perDevice).toBeCloseTo(100.39884, 9);
  expect(free.devices).toBeCloseTo(475 / 100.39884, 9);
  // Pro's 8 GB: (8,000 - 25) / 100.39884 = 79.43 devices.
  expect(at(SHAPE, 'supabase.pro-included-database').devices).toBeCloseTo(7975 / 100.39884, 9);
  // Without the archive a device keeps the year: 8,640 x 365 x 360 B = 1,135.296 MB + 7.08684:
  // (500 - 25) / 1,142.38284 = 0.4158 devices.
  expect(at({ ...SHAPE, archive: false }, 'supabase.free-database').devices).toBeCloseTo(475 / 1142.38284, 9);
  // Egress: timers 87,600 x 1,000 B + the dashboard's 1 GB = 1.0876 GB; a device 262,800 x 1,000 B
  // = 0.2628 GB: (5 - 1.0876) / 0.2628 = 14.887 devices.
  const egress = at(SHAPE, 'supabase.free-egress');
  expect(egress.fixed).toBeCloseTo(1.0876, 9);
  expect(egress.devices).toBeCloseTo(3.9124 / 0.2628, 9);
});

test('Azure egress and Log Analytics free amounts', () => {
  // Egress: timers 87,600 x 4,000 B = 0.3504 GB; a device 262,800 x (250 + 4,000) B = 1.1169 GB:
  // (100 - 0.3504) / 1.1169 = 89.22 devices.
  expect(at(SHAPE, 'azure.free-egress').devices).toBeCloseTo(99.6496 / 1.1169, 9);
  // Logs: 87,600 x 1,500 B = 0.1314 GB; a device 262,800 x 1,500 B = 0.3942 GB: 4.8686 / 0.3942.
  expect(at(SHAPE, 'log-analytics.free-ingestion').devices).toBeCloseTo(4.8686 / 0.3942, 9);
});

test('the B1s: its CPU baseline and its memory; B2s is due at the first', () => {
  // CPU: 3% idle; a device 0.1 msg/s x 0.035 ms / 10 = 0.00035%: (10 - 3) / 0.00035 = 20,000.
  expect(at(SHAPE, 'vm.cpu-baseline').devices).toBeCloseTo(20_000, 6);
  // Memory: 450 MiB + 100 kept available; 64 KiB a device: (1,024 - 550) / 0.0625 = 7,584.
  const memory = at(SHAPE, 'vm.memory');
  expect(memory.devices).toBe(7584);
  const next = due(limits(SHAPE, PLATFORM, PRICES));
  expect(next.biggerVm).toBe(7584); // the lower of 20,000 and 7,584
  expect(next.supabasePro).toBeCloseTo(475 / 100.39884, 9); // the database, before egress (14.9)
  // A size the model has no capacity for has no VM limits.
  const unknown = limits(SHAPE, { ...PLATFORM, vmSize: 'Standard_D2s_v5' }, PRICES);
  expect(unknown.map((p) => p.id)).not.toContain('vm.memory');
  expect(due(unknown).biggerVm).toBeNull();
});

test('reached without devices: 0; nothing added per device: never', () => {
  // 4,096 MB instances: the timers alone use 43,800 x 1 s x 4 GB = 175,200 GB-s > 100,000.
  const big = at(SHAPE, 'flex.free-gb-seconds', { ...PLATFORM, flexInstanceMemoryMb: 4096 });
  expect(big.devices).toBe(0);
  expect(big.working).toBe('175,200 GB-s without devices already reaches 100,000');
  // Devices that never publish add no executions, readings or rollups.
  const silent = { ...SHAPE, messagesPerDevicePerMinute: 0 };
  expect(at(silent, 'flex.free-executions')).toMatchObject({ devices: null, messagesPerDay: null });
  expect(at(silent, 'supabase.free-database').devices).toBeNull();
  expect(at(silent, 'vm.memory').devices).toBe(7584); // connections still cost memory
});

test('the forward model agrees: at each point the quantity is the limit, just past it a charge starts', () => {
  const a = DEFAULT_ASSUMPTIONS;
  const cost = (devices: number, shape: LoadShape = SHAPE) =>
    monthlyCost({ ...shape, devices }, PLATFORM, PRICES, a);
  const part = (devices: number, id: string, shape: LoadShape = SHAPE) =>
    cost(devices, shape).components.find((c) => c.id === id)!;
  const linux = { ...SHAPE, functionsPlan: 'linux-consumption' as const };

  const runs = at(SHAPE, 'linux.free-executions').devices!;
  expect(part(runs, 'functions', linux).quantities.executions).toBeCloseTo(1_000_000, 6);
  expect(part(runs, 'functions', linux).quantities.executionCost).toBeCloseTo(0, 9);
  expect(part(runs * 1.01, 'functions', linux).quantities.executionCost).toBeGreaterThan(0);

  const gbs = at(SHAPE, 'linux.free-gb-seconds').devices!;
  expect(part(gbs, 'functions', linux).quantities.gbSeconds).toBeCloseTo(400_000, 6);
  expect(part(gbs * 1.01, 'functions', linux).quantities.timeCost).toBeGreaterThan(0);

  const db = at(SHAPE, 'supabase.free-database').devices!;
  expect(part(db, 'supabase').quantities.databaseMb).toBeCloseTo(500, 6);
  expect(part(db * 0.99, 'supabase').title).toBe('Supabase (Free)');
  expect(part(db * 1.01, 'supabase').title).toBe('Supabase (Pro)');

  const memory = at(SHAPE, 'vm.memory').devices!;
  expect(cost(memory).over).toEqual([]);
  expect(cost(memory + 1).over).toEqual(['Standard_B1s: 924 MiB in use leaves under 100 MiB available']);
});

test('refuses a shape it cannot price', () => {
  expect(() => limits({ ...SHAPE, messagesPerDevicePerMinute: -6 }, PLATFORM, PRICES)).toThrow(
    'cost model: load.messagesPerDevicePerMinute must be a non-negative number (got -6)',
  );
  expect(() => limits({ ...SHAPE, ageDays: Number.NaN }, PLATFORM, PRICES)).toThrow(
    'cost model: load.ageDays must be a non-negative number (got NaN)',
  );
});
