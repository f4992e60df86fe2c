import {
  metricsBody,
  standinCredential,
  startAzureStandin,
  type AzureStandin,
  type MetricDatum,
} from '../../test/support/azure-standin.js';
import { WORKED_PRICES } from '../../test/support/cost-fixture.js';
import { loadEnvironmentConfig } from '../config/environment-config.js';
import { runChecks } from '../engine/run-checks.js';
import { summarizeLoad } from '../sources/measured-load.js';
import { createAzureClients } from '../sources/azure-clients.js';
import {
  createVmMetricsSource,
  vmResourceId,
  type MetricPoint,
  type VmMetrics,
} from '../sources/azure-metrics.js';
import {
  environmentVmModel,
  vmCapacityCheck,
  type VmCapacityModel,
  type VmCapacityOptions,
  type VmCapacitySources,
  type VmModelAdvice,
} from './vm-capacity.js';

const HOUR = 3_600_000;
const NOW = Date.parse('2026-11-30T00:00:00Z');
const START = NOW - 30 * 24 * HOUR;
const MIB = 1024 ** 2;

/** 720 hourly points: f(hour index) for each. */
const hourly = (f: (h: number) => number, key: 'average' | 'total' = 'average'): MetricPoint[] =>
  Array.from({ length: 720 }, (_, h) => {
    const v = f(h);
    return key === 'total'
      ? { at: new Date(START + h * HOUR), total: v }
      : { at: new Date(START + h * HOUR), average: v, minimum: v, maximum: v };
  });

/** A quiet B1s: CPU 3 % with a daily 30 % hour, credits full, 400 MiB free, 10 MiB/h out. */
function quiet(over: Partial<VmMetrics['series']> = {}): VmMetrics {
  return {
    interval: 'PT1H',
    series: {
      'Percentage CPU': hourly((h) => (h % 24 === 12 ? 30 : 3)),
      'CPU Credits Remaining': hourly(() => 144),
      'Available Memory Bytes': hourly(() => 400 * MIB),
      'Network Out Total': hourly(() => 10 * MIB, 'total'),
      ...over,
    },
  };
}

async function run(
  metrics: VmMetrics,
  extra: Partial<VmCapacitySources> = {},
  options: VmCapacityOptions = {},
) {
  const asked: [Date, Date][] = [];
  const sources: VmCapacitySources = {
    metrics: {
      async metrics(from, to) {
        asked.push([from, to]);
        return metrics;
      },
      vm: async () => ({ name: 'vm-broker', size: 'Standard_B1s', location: 'westeurope' }),
    },
    ...extra,
  };
  const [r] = await runChecks([vmCapacityCheck(sources, { env: 'prod', ...options })], { now: () => NOW });
  return { r: r!, asked };
}

test('a quiet month: stay, with CPU avg and p95, credits flat, and what was not measured', async () => {
  const { r, asked } = await run(quiet());
  expect(asked).toEqual([[new Date(START), new Date(NOW)]]);
  expect(r.status).toBe('ok');
  expect(r.summary).toMatch(/^stay on Standard_B1s/);
  // 30 busy hours of 720: the mean is 3 + 27 * 30/720; p95 of hourly averages is still 3.
  expect(r.metrics.cpu_avg_percent).toBeCloseTo(4.13, 2);
  expect(r.metrics.cpu_p95_percent).toBe(3);
  expect(r.metrics).toMatchObject({
    cpu_max_percent: 30,
    credits_remaining: 144,
    credits_slope_per_day: 0,
    memory_available_min_mib: 400,
    network_out_gib: round3((720 * 10) / 1024),
    recommend_upgrade: 0,
  });
  expect(r.evidence[0]).toBe('Recommendation: stay (no threshold crossed)');
  expect(r.evidence.join('\n')).not.toContain('resize-vm');
  expect(r.evidence).toContain('Disk: not measured (no SSH source configured)');
  expect(r.evidence).toContain('Broker: not measured (no $SYS source configured)');
  expect(r.charts[0]!.xLabels).toHaveLength(30);
  expect(r.charts[0]!.series[0]!.values.every((v) => v === 144)).toBe(true);
});

test('credits draining 4 a day: the trend, the days until exhausted, and upgrade to Standard_B2s', async () => {
  const { r } = await run(quiet({ 'CPU Credits Remaining': hourly((h) => 144 - (4 * h) / 24) }));
  expect(r.metrics.credits_slope_per_day).toBeCloseTo(-4, 3);
  // Last value 144 - 4 * 719/24 = 24.17 credits: six days left at 4 a day.
  expect(r.metrics).toMatchObject({ credits_remaining: 24.17, credits_days_to_exhaust: 6 });
  expect(r.status).toBe('warn');
  expect(r.summary).toBe(
    'upgrade to Standard_B2s: 24.2 CPU credits left, under 30; CPU credits run out in 6 days at the current trend ' +
      '(`npm run ops -- playbook resize-vm --env prod --size Standard_B2s`)',
  );
  expect(r.metrics.recommend_upgrade).toBe(1);
  // The command that does it: the resize-vm playbook, the incident's playbook too.
  expect(r.evidence[1]).toBe(
    'Resize: `npm run ops -- playbook resize-vm --env prod --size Standard_B2s` (a dry run first; --apply to act)',
  );
  expect(r.playbook).toBe('resize-vm');
});

test('already on the target size: upgrade beyond it, the command with the size left to choose', async () => {
  const { r } = await run(quiet({ 'CPU Credits Remaining': hourly((h) => 144 - (4 * h) / 24) }), {
    metrics: {
      metrics: async () => quiet({ 'CPU Credits Remaining': hourly((h) => 144 - (4 * h) / 24) }),
      vm: async () => ({ name: 'vm-broker', size: 'Standard_B2s', location: 'westeurope' }),
    },
  });
  expect(r.summary).toMatch(
    /^upgrade beyond Standard_B2s: .* \(`npm run ops -- playbook resize-vm --env prod --size <larger size>`\)$/,
  );
});

test('credits at zero now fail (throttled); busy CPU and low memory are reasons', async () => {
  const { r } = await run(
    quiet({
      'Percentage CPU': hourly((h) => (h % 10 === 0 ? 90 : 20)),
      'CPU Credits Remaining': hourly((h) => Math.max(0, 100 - h)),
      'Available Memory Bytes': hourly((h) => (h === 500 ? 50 * MIB : 300 * MIB)),
    }),
  );
  expect(r.status).toBe('fail');
  expect(r.summary).toMatch(/CPU average 27% is above the 10% baseline/);
  expect(r.summary).toMatch(/CPU p95 90% is above 70%/);
  expect(r.summary).toMatch(/available memory fell to 50 MiB, under 100 MiB/);
  expect(r.summary).toMatch(/CPU credits exhausted/);
});

test('disk and broker come from the injected sources; a full disk warns without asking for a bigger VM', async () => {
  const { r } = await run(quiet(), {
    disk: { disk: async () => [{ mount: '/', sizeBytes: 30 * 1024 ** 3, usedBytes: 25.5 * 1024 ** 3 }] },
    broker: {
      broker: async () => ({ clientsConnected: 120, messagesReceivedPerMin: 600, messagesSentPerMin: 580 }),
    },
  });
  expect(r.status).toBe('warn');
  expect(r.summary).toMatch(
    /^stay on Standard_B1s; disk \/ 85% full \(a bigger VM size does not grow the disk\)/,
  );
  expect(r.metrics).toMatchObject({
    disk_used_percent_max: 85,
    broker_clients: 120,
    broker_messages_received_per_min: 600,
  });
  expect(r.evidence).toContain('Broker: 120 clients, 600 msg/min in, 580 msg/min out');
});

test('a broker over its thresholds is a reason to upgrade; an unreachable source is said, not fatal', async () => {
  const { r } = await run(
    quiet(),
    {
      disk: { disk: async () => Promise.reject(new Error('ssh: connect timeout')) },
      broker: {
        broker: async () => ({
          clientsConnected: 50,
          messagesReceivedPerMin: 45_000,
          messagesSentPerMin: 10,
        }),
      },
    },
    { brokerMessagesPerMinMax: 40_000 },
  );
  expect(r.summary).toMatch(/upgrade to Standard_B2s: 45000 broker messages\/min, over 40000/);
  expect(r.evidence).toContain('Disk: unavailable (ssh: connect timeout)');
});

test('options are validated', () => {
  const sources = { metrics: { metrics: async () => quiet() } };
  expect(() => vmCapacityCheck(sources, { days: 0 })).toThrow(/days/);
  expect(() => vmCapacityCheck(sources, { diskWarnPercent: 99 })).toThrow(/diskWarnPercent/);
});

describe('through @azure/arm-monitor and @azure/arm-compute against the stand-in', () => {
  const SUB = '11111111-2222-3333-4444-555555555555';
  const VM = { subscriptionId: SUB, resourceGroup: 'rg-mqtt', vmName: 'vm-broker' };
  let standin: AzureStandin;
  beforeAll(async () => {
    standin = await startAzureStandin();
  });
  afterAll(() => standin.close());

  test('credits draining: upgrade recommended, from what the SDK read', async () => {
    const datum = (h: number, v: number, total?: number): MetricDatum => ({
      timeStamp: new Date(START + h * HOUR).toISOString(),
      average: v,
      minimum: v,
      maximum: v,
      ...(total !== undefined ? { total } : {}),
    });
    const hours = Array.from({ length: 720 }, (_, h) => h);
    standin.on('metrics', (req, t) =>
      metricsBody(t, vmResourceId(VM), req.query.timespan!, [
        { name: 'Percentage CPU', unit: 'Percent', data: hours.map((h) => datum(h, 12)) },
        { name: 'CPU Credits Remaining', unit: 'Count', data: hours.map((h) => datum(h, 144 - h / 10)) },
        { name: 'Available Memory Bytes', unit: 'Bytes', data: hours.map((h) => datum(h, 500 * MIB)) },
        { name: 'Network Out Total', unit: 'Bytes', data: hours.map((h) => datum(h, MIB, MIB)) },
      ]),
    );
    const clients = createAzureClients({
      credential: standinCredential(standin.token),
      subscriptionId: SUB,
      armEndpoint: standin.url,
      ca: standin.ca,
      maxRetries: 0,
    });
    const [r] = await runChecks([vmCapacityCheck({ metrics: createVmMetricsSource(clients, VM) })], {
      now: () => NOW,
    });
    expect(r!.status).toBe('warn');
    // The published VM example is a Standard_DS3_v2: the recommendation still names the target.
    expect(r!.summary).toMatch(/^upgrade to Standard_B2s: CPU average 12% is above the 10% baseline/);
    // Built without an environment name: the command says where it goes.
    expect(r!.summary).toContain('`npm run ops -- playbook resize-vm --env <env> --size Standard_B2s`');
    expect(r!.metrics.credits_slope_per_day).toBeCloseTo(-2.4, 3);
    expect(r!.evidence.join('\n')).toMatch(/VM size Standard_DS3_v2/);
    const metricsRequest = standin.requests.find((q) => q.route === 'metrics')!;
    expect(metricsRequest.apiVersion).toBe('2024-02-01');
    expect(metricsRequest.query.timespan).toBe(
      `${new Date(START).toISOString()}/${new Date(NOW).toISOString()}`,
    );
  });
});

function round3(n: number) {
  return Math.round(n * 1000) / 1000;
}

describe('with the cost model', () => {
  const advice = (over: Partial<VmModelAdvice> = {}): VmCapacityModel & { calls: unknown[][] } => {
    const calls: unknown[][] = [];
    return {
      calls,
      advice: async (...args) => {
        calls.push(args);
        return {
          size: 'Standard_B1s',
          devices: 120,
          messagesPerDevicePerMinute: 6,
          dueDevices: 7584,
          dueLimit: "Standard_B1s's memory (1,024 MiB, 100 kept available)",
          currency: 'USD',
          monthlyNow: 7.59,
          monthlyUpgrade: 30.37,
          ...over,
        };
      },
    };
  };

  test('the upgrade advice states where the model says a bigger VM is due and the price difference', async () => {
    const model = advice();
    const { r } = await run(quiet({ 'Percentage CPU': hourly(() => 12) }), {}, { model });
    // The model is asked for the check's period, at the size Azure reports.
    expect(model.calls).toEqual([[new Date(START), new Date(NOW), 'Standard_B1s', 'Standard_B2s']]);
    expect(r.status).toBe('warn');
    expect(r.summary).toMatch(/^upgrade to Standard_B2s: CPU average 12% is above the 10% baseline/);
    expect(r.summary).toContain(
      "; the model says a bigger VM than Standard_B1s is due at 7,584 devices (Standard_B1s's memory (1,024 MiB, 100 kept available)), 120 now; " +
        "Standard_B2s costs 30.37 USD a month, 22.78 USD more than Standard_B1s's 7.59 USD",
    );
    expect(r.metrics).toMatchObject({ model_due_devices: 7584, upgrade_monthly_difference: 22.78 });
  });

  test('a quiet month states the model in the evidence only; the model point reached is itself a reason', async () => {
    const { r } = await run(quiet(), {}, { model: advice() });
    expect(r.status).toBe('ok');
    expect(r.evidence.join('\n')).toMatch(
      /Model: the model says a bigger VM than Standard_B1s is due at 7,584 devices/,
    );
    const { r: full } = await run(quiet(), {}, { model: advice({ devices: 8000 }) });
    expect(full.status).toBe('warn');
    expect(full.summary).toMatch(
      /^upgrade to Standard_B2s: 8,000 devices reach the model's limit for Standard_B1s \(7,584\)/,
    );
  });

  test('no model inputs: said so, the rest stands', async () => {
    const { r } = await run(
      quiet(),
      {},
      { model: { advice: async () => 'environment prod has no prices section' } },
    );
    expect(r.status).toBe('ok');
    expect(r.evidence).toContain('Model: not stated (environment prod has no prices section)');
  });

  test('the environment model: due() at the measured messages per device, prices.vmMonthly', async () => {
    const prod = loadEnvironmentConfig('prod');
    const config = { ...prod, prices: WORKED_PRICES };
    const from = new Date(START);
    const to = new Date(NOW);
    // 120 devices at one message per 10 s over 30 days.
    const tenants = [
      { tenant: 'acme', messages: 120 * 8640 * 30, bytes: 120 * 8640 * 30 * 100, devices: 120 },
    ];
    const a = await environmentVmModel(config, {
      measuredLoad: async (f, t) => summarizeLoad(f, t, tenants, null),
    }).advice(from, to, null, 'Standard_B2s');
    if (typeof a === 'string') throw new Error(a);
    // docs/cost.md: the B1s's memory is reached at 7,584 devices (450 MiB + 64 KiB a device, 100 kept).
    expect(a).toMatchObject({
      size: 'Standard_B1s',
      devices: 120,
      messagesPerDevicePerMinute: 6,
      currency: 'USD',
      monthlyNow: 7.59,
      monthlyUpgrade: 30.37,
    });
    expect(Math.floor(a.dueDevices!)).toBe(7584);
    expect(a.dueLimit).toMatch(/memory/);
  });
});
