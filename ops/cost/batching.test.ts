import {
  batchingFor,
  BRIDGE_LINGER_BEFORE_MS,
  BRIDGE_LINGER_MS,
  BRIDGE_MAX_BATCH,
  messagesPerExecution,
} from './batching.js';

test('a batch holds its first message plus what arrives during the linger', () => {
  // 100 devices x 1 msg/10 s = 10 msg/s: 1 + 10 x 1 s = 11 (measured 10.5).
  expect(messagesPerExecution(10, 1000)).toBe(11);
  // The 20 ms linger before: 1 + 10 x 0.02 = 1.2 (measured 1.0).
  expect(messagesPerExecution(10, 20)).toBeCloseTo(1.2, 10);
  expect(messagesPerExecution(0, 1000)).toBe(1);
});

test('heavy traffic fills batches by size: capped at maxBatch', () => {
  expect(messagesPerExecution(1000, 1000)).toBe(500);
  expect(messagesPerExecution(1000, 1000, 100)).toBe(100);
  expect(messagesPerExecution(400, 1000)).toBe(401);
});

test('defaults are the bridge defaults', () => {
  expect([BRIDGE_LINGER_MS, BRIDGE_LINGER_BEFORE_MS, BRIDGE_MAX_BATCH]).toEqual([1000, 20, 500]);
  expect(messagesPerExecution(10)).toBe(11);
});

test('batchingFor takes the aggregate rate of the devices', () => {
  expect(batchingFor({ devices: 100, messagesPerDevicePerMinute: 6 }, 50)).toEqual({
    messagesPerExecution: 11,
    executionMs: 50,
  });
  expect(
    batchingFor({ devices: 10, messagesPerDevicePerMinute: 6 }, 50, 20).messagesPerExecution,
  ).toBeCloseTo(1.02, 10);
});

test('refuses inputs it cannot use, naming them', () => {
  expect(() => messagesPerExecution(-1, 1000)).toThrow(/messagesPerSecond/);
  expect(() => messagesPerExecution(1, Number.NaN)).toThrow(/lingerMs/);
  expect(() => messagesPerExecution(1, 1000, 0)).toThrow(/maxBatch/);
});
