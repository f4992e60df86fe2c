import { WORKED_PLATFORM, WORKED_PRICES } from '../../test/support/cost-fixture.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import {
  azureGroupOf,
  azureMonthlyByGroup,
  expectedMonthlyCost,
  forDays,
  loadOf,
  modelInputs,
} from './environment.js';
import { monthlyCost } from './model.js';

const prod = loadEnvironmentConfig('prod');
/** prod with the worked price list, so that re-reading prod's prices does not change these. */
const env = (over: Partial<EnvironmentConfig> = {}): EnvironmentConfig => ({
  ...prod,
  prices: WORKED_PRICES,
  infra: {
    ...prod.infra!,
    vm: { ...prod.infra!.vm, size: WORKED_PLATFORM.vmSize, osDiskGb: WORKED_PLATFORM.osDiskGb },
    functions: { ...prod.infra!.functions, instanceMemoryMb: WORKED_PLATFORM.flexInstanceMemoryMb },
  },
  ...over,
});
// 100 devices x 1 msg/10 s: 864,000 messages a day.
const measured = { devices: 100, messagesPerDay: 864_000, payloadBytes: 100, ageDays: 365 };

test('a measured load becomes the model load with the environment plan, archive and retention', () => {
  const config = env({
    deploy: { ...prod.deploy, functions: { plan: 'linux-consumption' } },
    archive: { mode: 'enabled', container: 'c', connectionStringEnv: 'X', retentionDays: 14 },
  });
  const { load, basis } = loadOf(config, measured);
  expect(load).toEqual({
    devices: 100,
    messagesPerDevicePerMinute: 6,
    payloadBytes: 100,
    retentionDays: 14,
    ageDays: 365,
    archive: true,
    functionsPlan: 'linux-consumption',
    // 10 msg/s with the 1,000 ms linger: 1 + 10 = 11.
    batching: { messagesPerExecution: 11, executionMs: 50 },
  });
  expect(basis.join('\n')).toMatch(/linux-consumption.*\n.*11 messages per execution \(1,000 ms linger\)/);
});

test('disabled archive keeps everything; unset plan is Flex; no messages keeps the default payload', () => {
  const { load } = loadOf(env({ deploy: undefined, archive: { mode: 'disabled', reason: 'r' } }), {
    devices: 0,
    messagesPerDay: 0,
    payloadBytes: 0,
    ageDays: null,
  });
  expect(load).toMatchObject({
    archive: false,
    functionsPlan: 'flex-consumption',
    messagesPerDevicePerMinute: 0,
    payloadBytes: 100,
    retentionDays: 30,
    ageDays: 30,
    batching: { messagesPerExecution: 1 },
  });
});

test('the expectation is monthlyCost of that load on the environment platform', () => {
  const config = env({ deploy: { ...prod.deploy, functions: { plan: 'flex-consumption' } } });
  const { estimate } = expectedMonthlyCost(config, measured);
  const inputs = modelInputs(config);
  if (typeof inputs === 'string') throw new Error(inputs);
  expect(inputs.platform.supabasePlan).toBe(prod.database?.plan);
  expect(estimate.total).toBe(
    monthlyCost(loadOf(config, measured).load, inputs.platform, WORKED_PRICES).total,
  );
  // Flex at 11 messages per execution, one 1 s activity period each, 2 GB: docs/cost.md's 124.80.
  expect(estimate.components.find((c) => c.id === 'functions')!.monthly).toBeCloseTo(124.8, 2);
});

test('an environment without prices or infra says so', () => {
  expect(modelInputs(env({ prices: undefined }))).toMatch(/no prices section/);
  expect(modelInputs(env({ infra: undefined }))).toMatch(/no infra section/);
  expect(() => expectedMonthlyCost(env({ prices: undefined }), measured)).toThrow(/no prices section/);
});

test('forDays prorates by the 730-hour month', () => {
  expect(forDays(73, 7)).toBeCloseTo(16.8, 10);
});

test('Azure services fall in the model groups, by meter category or consumed service', () => {
  expect(azureGroupOf('Virtual Machines')?.id).toBe('vm-storage');
  expect(azureGroupOf('Microsoft.Compute')?.id).toBe('vm-storage');
  expect(azureGroupOf('Storage')?.id).toBe('vm-storage');
  expect(azureGroupOf('Bandwidth')?.id).toBe('network');
  expect(azureGroupOf('Microsoft.Network')?.id).toBe('network');
  expect(azureGroupOf('Functions')?.id).toBe('functions');
  expect(azureGroupOf('Microsoft.Web')?.id).toBe('functions');
  expect(azureGroupOf('Log Analytics')?.id).toBe('monitoring');
  expect(azureGroupOf('Azure Cosmos DB')).toBeUndefined();
  const { estimate } = expectedMonthlyCost(env(), measured);
  const groups = azureMonthlyByGroup(estimate);
  const sum = (ids: string[]) =>
    estimate.components.filter((c) => ids.includes(c.id)).reduce((a, c) => a + c.monthly, 0);
  expect(groups.get('vm-storage')).toBeCloseTo(sum(['vm', 'os-disk', 'blob-archive']), 10);
  expect(groups.get('network')).toBeCloseTo(sum(['public-ip', 'egress']), 10);
  // Supabase and Pages are not Azure's.
  expect([...groups.values()].reduce((a, b) => a + b, 0)).toBeCloseTo(
    estimate.total - sum(['supabase', 'pages']),
    10,
  );
});
