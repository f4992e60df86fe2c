import { loadEnvironmentConfig } from '../config/environment-config.js';
import {
  checkLoad,
  checkPlatform,
  DAYS_PER_MONTH,
  type Load,
  messagesPerDevicePerDay,
  messagesPerDevicePerMonth,
  MINUTES_PER_MONTH,
  platformOf,
  SECONDS_PER_MONTH,
} from './load.js';

const LOAD: Load = {
  devices: 10,
  messagesPerDevicePerMinute: 6,
  payloadBytes: 100,
  retentionDays: 30,
  ageDays: 365,
  archive: false,
  functionsPlan: 'linux-consumption',
  batching: { messagesPerExecution: 1, executionMs: 50 },
};

test("a month is Azure's 730 hours", () => {
  expect(MINUTES_PER_MONTH).toBe(43_800);
  expect(SECONDS_PER_MONTH).toBe(2_628_000);
  expect(DAYS_PER_MONTH).toBeCloseTo(30.416667, 6);
  // One message per 10 s: 8,640 a day, 262,800 a month.
  expect(messagesPerDevicePerDay(LOAD)).toBe(8640);
  expect(messagesPerDevicePerMonth(LOAD)).toBe(262_800);
});

test("prod's platform comes from its infra section", () => {
  expect(platformOf(loadEnvironmentConfig('prod'))).toEqual({
    vmSize: 'Standard_B1s',
    osDiskGb: 30,
    osDiskType: 'standard-ssd',
    flexInstanceMemoryMb: 2048,
  });
  expect(() => platformOf(loadEnvironmentConfig('local'))).toThrow(
    'environment local has no infra section: the cost model needs its VM and Functions',
  );
});

test('a valid load and platform pass; zero is a valid load', () => {
  expect(() => checkLoad(LOAD)).not.toThrow();
  expect(() => checkLoad({ ...LOAD, devices: 0, messagesPerDevicePerMinute: 0, ageDays: 0 })).not.toThrow();
  expect(() =>
    checkPlatform({
      vmSize: 'Standard_B1s',
      osDiskGb: 30,
      osDiskType: 'standard-ssd',
      flexInstanceMemoryMb: 512,
    }),
  ).not.toThrow();
});

test('refuses what it cannot price, naming the field', () => {
  expect(() => checkLoad({ ...LOAD, ageDays: -1 })).toThrow(
    'cost model: load.ageDays must be a non-negative number (got -1)',
  );
  expect(() => checkLoad({ ...LOAD, devices: '10' as unknown as number })).toThrow(
    'cost model: load.devices must be a non-negative number (got 10)',
  );
  expect(() => checkLoad({ ...LOAD, archive: 'yes' as unknown as boolean })).toThrow(
    'cost model: load.archive must be true or false',
  );
  expect(() =>
    checkPlatform({
      vmSize: 'Standard_B1s',
      osDiskGb: 30,
      osDiskType: 'standard-ssd',
      flexInstanceMemoryMb: Number.NaN,
    }),
  ).toThrow('cost model: platform.flexInstanceMemoryMb must be a positive number (got NaN)');
});
