/**
 * Monthly: the broker VM's capacity over the last `days` (Azure Monitor at 1 h grain, disk over
 * SSH, broker load from `$SYS`) and a recommendation: `stay`, or `upgrade to <upgradeTo>` with the
 * reasons. Thresholds (defaults sized for the Standard_B1s the platform runs on: 1 vCPU, 1 GiB,
 * 10 % baseline CPU, at most 144 banked credits):
 * - cpuAvgPercent 10: an average above the baseline drains credits month over month;
 * - cpuP95Percent 70: the busy hours are CPU-bound;
 * - creditsLow 30: fewer credits left than ~5 h of full burst;
 * - creditsExhaustDays 14: the credit trend reaches zero within two weeks;
 * - memoryMinAvailableMiB 100: the broker and bridge are close to the OOM killer;
 * - brokerClientsMax 2000, brokerMessagesPerMinMax 30000: load the B1s was not sized for.
 * Findings that a bigger VM does not fix warn without asking for an upgrade: disk use over
 * diskWarnPercent 80 (fail at diskFailPercent 95: grow the disk), network out over
 * networkOutWarnGiB 100 per period (egress cost). Credits at zero now (CPU throttled) fail.
 * An upgrade names the command that does it: the resize-vm playbook (ops/playbooks/resize-vm.ts).
 * With the cost model (`model`), the advice also states the device count at which the model says a
 * bigger VM is due (ops/cost/limits.ts due(), at the measured messages per device) and the monthly
 * price difference to `upgradeTo` (prices.vmMonthly); the model's point reached is itself a reason.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import { type ExpectationOptions, loadOf, modelInputs } from '../cost/environment.js';
import { due, limits } from '../cost/limits.js';
import type { Chart, Check } from '../engine/check.js';
import type { MetricPoint, VmInfo, VmMetrics } from '../sources/azure-metrics.js';
import type { MeasuredLoadSource } from '../sources/measured-load.js';
import { mean, percentile, round, slope } from './series-stats.js';

/** Its title in a report where it cannot be built (skipped, a secret missing): registry.ts. */
export const VM_CAPACITY_TITLE = 'Broker VM capacity and size recommendation';

export interface DiskUsage {
  mount: string;
  sizeBytes: number;
  usedBytes: number;
}

export interface BrokerStats {
  clientsConnected: number;
  messagesReceivedPerMin: number;
  messagesSentPerMin: number;
}

export interface VmCapacitySources {
  metrics: {
    metrics(from: Date, to: Date, signal?: AbortSignal): Promise<VmMetrics>;
    vm?(signal?: AbortSignal): Promise<VmInfo>;
  };
  /** Disk use over SSH; absent when not configured. */
  disk?: { disk(signal: AbortSignal): Promise<DiskUsage[]> };
  /** Broker load from `$SYS`; absent when not configured. */
  broker?: { broker(signal: AbortSignal): Promise<BrokerStats> };
}

/** What the cost model says about the VM at the load measured over [from, to). */
export interface VmModelAdvice {
  size: string;
  /** Devices that sent in the period. */
  devices: number;
  messagesPerDevicePerMinute: number;
  /** Devices at which a bigger VM than `size` is due (null: never), and the limit reached first. */
  dueDevices: number | null;
  dueLimit: string | null;
  currency: string;
  /** prices.vmMonthly of `size` and of the upgrade (null: not in the price list). */
  monthlyNow: number | null;
  monthlyUpgrade: number | null;
}

export interface VmCapacityModel {
  advice(from: Date, to: Date, size: string | null, upgradeTo: string): Promise<VmModelAdvice | string>;
}

/** The environment's cost model at the load measured in the platform database. */
export function environmentVmModel(
  config: EnvironmentConfig,
  measured: MeasuredLoadSource,
  o: ExpectationOptions = {},
): VmCapacityModel {
  return {
    async advice(from, to, size, upgradeTo) {
      const inputs = modelInputs(config);
      if (typeof inputs === 'string') return inputs;
      const facts = await measured.measuredLoad(from, to);
      const { load } = loadOf(config, facts, o);
      const vmSize = size ?? inputs.platform.vmSize;
      const platform = { ...inputs.platform, vmSize };
      const { devices: _devices, ...shape } = load;
      const points = limits(shape, platform, inputs.prices, o.assumptions);
      const dueDevices = due(points).biggerVm;
      const first = points
        .filter((p) => (p.id === 'vm.cpu-baseline' || p.id === 'vm.memory') && p.devices === dueDevices)
        .at(0);
      const price = (s: string) =>
        Object.entries(inputs.prices.vmMonthly).find(([k]) => k.toLowerCase() === s.toLowerCase())?.[1] ??
        null;
      return {
        size: vmSize,
        devices: facts.devices,
        messagesPerDevicePerMinute: load.messagesPerDevicePerMinute,
        dueDevices,
        dueLimit: first?.title ?? null,
        currency: inputs.prices.currency,
        monthlyNow: price(vmSize),
        monthlyUpgrade: price(upgradeTo),
      };
    },
  };
}

/** The numeric options, as runbook.yaml names its thresholds. */
export const VM_CAPACITY_THRESHOLDS = [
  'days',
  'cpuAvgPercent',
  'cpuP95Percent',
  'creditsLow',
  'creditsExhaustDays',
  'memoryMinAvailableMiB',
  'diskWarnPercent',
  'diskFailPercent',
  'networkOutWarnGiB',
  'brokerClientsMax',
  'brokerMessagesPerMinMax',
] as const;

export interface VmCapacityOptions {
  days?: number;
  upgradeTo?: string;
  /** The environment, for the resize command the recommendation names. */
  env?: string;
  cpuAvgPercent?: number;
  cpuP95Percent?: number;
  creditsLow?: number;
  creditsExhaustDays?: number;
  memoryMinAvailableMiB?: number;
  diskWarnPercent?: number;
  diskFailPercent?: number;
  networkOutWarnGiB?: number;
  brokerClientsMax?: number;
  brokerMessagesPerMinMax?: number;
  /** The cost model's advice; absent: not stated. */
  model?: VmCapacityModel;
}

const DAY = 86_400_000;
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** The command that resizes the environment's VM (a dry run unless --apply is added). */
export function resizeCommand(env: string, size: string): string {
  return `npm run ops -- playbook resize-vm --env ${env} --size ${size}`;
}

export function vmCapacityCheck(sources: VmCapacitySources, options: VmCapacityOptions = {}): Check {
  const o = {
    days: options.days ?? 30,
    cpuAvgPercent: options.cpuAvgPercent ?? 10,
    cpuP95Percent: options.cpuP95Percent ?? 70,
    creditsLow: options.creditsLow ?? 30,
    creditsExhaustDays: options.creditsExhaustDays ?? 14,
    memoryMinAvailableMiB: options.memoryMinAvailableMiB ?? 100,
    diskWarnPercent: options.diskWarnPercent ?? 80,
    diskFailPercent: options.diskFailPercent ?? 95,
    networkOutWarnGiB: options.networkOutWarnGiB ?? 100,
    brokerClientsMax: options.brokerClientsMax ?? 2000,
    brokerMessagesPerMinMax: options.brokerMessagesPerMinMax ?? 30_000,
  };
  for (const [name, v] of Object.entries(o))
    if (!Number.isFinite(v) || v < 0) throw new Error(`vm-capacity: ${name} must be a non-negative number`);
  if (o.days < 1) throw new Error('vm-capacity: days must be >= 1');
  if (o.diskWarnPercent > o.diskFailPercent)
    throw new Error('vm-capacity: diskWarnPercent must not exceed diskFailPercent');
  const upgradeTo = options.upgradeTo ?? 'Standard_B2s';
  const env = options.env ?? '<env>';

  return {
    id: 'monthly.vm-capacity',
    title: VM_CAPACITY_TITLE,
    severity: 'medium',
    playbook: 'resize-vm',
    async run({ now, signal }) {
      const to = new Date(now());
      const from = new Date(to.getTime() - o.days * DAY);
      const settle = <T>(p: Promise<T> | undefined) =>
        p
          ? p.then(
              (value) => ({ value }),
              (e: unknown) => ({ error: e instanceof Error ? e.message : String(e) }),
            )
          : undefined;
      const [metrics, vm, disk, broker] = await Promise.all([
        sources.metrics.metrics(from, to, signal),
        settle(sources.metrics.vm?.(signal)),
        settle(sources.disk?.disk(signal)),
        settle(sources.broker?.broker(signal)),
      ]);

      const s = metrics.series;
      const cpuAvgs = values(s['Percentage CPU'], 'average');
      const cpuAvg = mean(cpuAvgs);
      const cpuP95 = percentile(cpuAvgs, 95);
      const cpuMax = max(values(s['Percentage CPU'], 'maximum'));
      const credits = s['CPU Credits Remaining'].filter((p) => p.average !== undefined);
      const creditsLast = credits.at(-1)?.average ?? null;
      const creditsMin = min(values(s['CPU Credits Remaining'], 'minimum'));
      const creditsSlope = slope(credits.map((p) => ({ x: p.at.getTime() / DAY, y: p.average! })));
      const daysToExhaust =
        creditsLast === null || creditsSlope === null || creditsSlope >= 0
          ? null
          : Math.max(0, creditsLast) / -creditsSlope;
      const memMin = min(values(s['Available Memory Bytes'], 'minimum'));
      const memAvg = mean(values(s['Available Memory Bytes'], 'average'));
      const netOut = values(s['Network Out Total'], 'total').reduce((a, b) => a + b, 0);
      const size = vm && 'value' in vm ? vm.value.size : null;

      const upgrade: string[] = [];
      const other: string[] = [];
      const failures: string[] = [];
      if (cpuAvg !== null && cpuAvg > o.cpuAvgPercent)
        upgrade.push(`CPU average ${round(cpuAvg, 1)}% is above the ${o.cpuAvgPercent}% baseline`);
      if (cpuP95 !== null && cpuP95 > o.cpuP95Percent)
        upgrade.push(`CPU p95 ${round(cpuP95, 1)}% is above ${o.cpuP95Percent}%`);
      if (creditsLast !== null && creditsLast < o.creditsLow)
        upgrade.push(`${round(creditsLast, 1)} CPU credits left, under ${o.creditsLow}`);
      if (daysToExhaust !== null && daysToExhaust < o.creditsExhaustDays)
        upgrade.push(`CPU credits run out in ${round(daysToExhaust, 1)} days at the current trend`);
      if (creditsLast !== null && creditsLast <= 0)
        failures.push('CPU credits exhausted: the CPU is throttled to its baseline');
      if (memMin !== null && memMin < o.memoryMinAvailableMiB * MIB)
        upgrade.push(
          `available memory fell to ${round(memMin / MIB)} MiB, under ${o.memoryMinAvailableMiB} MiB`,
        );
      if (netOut / GIB > o.networkOutWarnGiB)
        other.push(
          `network out ${round(netOut / GIB)} GiB over ${o.days} days, over ${o.networkOutWarnGiB} GiB (egress cost)`,
        );

      const evidence: string[] = [
        `Period ${from.toISOString()} .. ${to.toISOString()} at ${metrics.interval}; VM size ${
          size ?? (vm && 'error' in vm ? `unknown (${vm.error})` : 'not asked')
        }`,
        cpuAvg !== null
          ? `CPU: average ${round(cpuAvg, 1)}%, p95 of hourly averages ${round(cpuP95!, 1)}%, max ${cpuMax !== null ? round(cpuMax, 1) : '-'}%`
          : 'CPU: no data',
        creditsLast !== null
          ? `CPU credits: ${round(creditsLast, 1)} left, min ${creditsMin !== null ? round(creditsMin, 1) : '-'}, trend ${
              creditsSlope !== null ? `${round(creditsSlope, 2)}/day` : '-'
            }${daysToExhaust !== null ? `, exhausted in ${round(daysToExhaust, 1)} days` : ', not draining'}`
          : `CPU credits: no data${size && !/^Standard_B/i.test(size) ? ` (${size} is not a B-series size)` : ''}`,
        memAvg !== null
          ? `Available memory: min ${round(memMin! / MIB)} MiB, average ${round(memAvg / MIB)} MiB`
          : 'Available memory: no data',
        `Network out: ${round(netOut / GIB, 3)} GiB in ${o.days} days (${round(netOut / GIB / o.days, 3)} GiB/day)`,
      ];

      const metricValues: Record<string, number> = {
        ...(cpuAvg !== null ? { cpu_avg_percent: round(cpuAvg, 2), cpu_p95_percent: round(cpuP95!, 2) } : {}),
        ...(cpuMax !== null ? { cpu_max_percent: round(cpuMax, 2) } : {}),
        ...(creditsLast !== null ? { credits_remaining: round(creditsLast, 2) } : {}),
        ...(creditsMin !== null ? { credits_min: round(creditsMin, 2) } : {}),
        ...(creditsSlope !== null ? { credits_slope_per_day: round(creditsSlope, 3) } : {}),
        ...(daysToExhaust !== null ? { credits_days_to_exhaust: round(daysToExhaust, 1) } : {}),
        ...(memMin !== null ? { memory_available_min_mib: round(memMin / MIB) } : {}),
        ...(memAvg !== null ? { memory_available_avg_mib: round(memAvg / MIB) } : {}),
        network_out_gib: round(netOut / GIB, 3),
      };

      if (!disk) evidence.push('Disk: not measured (no SSH source configured)');
      else if ('error' in disk) evidence.push(`Disk: unavailable (${disk.error})`);
      else {
        let worst = 0;
        for (const d of disk.value) {
          const pct = d.sizeBytes ? (100 * d.usedBytes) / d.sizeBytes : 0;
          worst = Math.max(worst, pct);
          evidence.push(
            `Disk ${d.mount}: ${round(d.usedBytes / GIB)} of ${round(d.sizeBytes / GIB)} GiB used (${round(pct, 1)}%)`,
          );
          if (pct >= o.diskFailPercent)
            failures.push(`disk ${d.mount} ${round(pct, 1)}% full: grow it or clean up`);
          else if (pct >= o.diskWarnPercent)
            other.push(`disk ${d.mount} ${round(pct, 1)}% full (a bigger VM size does not grow the disk)`);
        }
        metricValues.disk_used_percent_max = round(worst, 1);
      }
      if (!broker) evidence.push('Broker: not measured (no $SYS source configured)');
      else if ('error' in broker) evidence.push(`Broker: unavailable (${broker.error})`);
      else {
        const b = broker.value;
        evidence.push(
          `Broker: ${b.clientsConnected} clients, ${round(b.messagesReceivedPerMin)} msg/min in, ${round(b.messagesSentPerMin)} msg/min out`,
        );
        Object.assign(metricValues, {
          broker_clients: b.clientsConnected,
          broker_messages_received_per_min: round(b.messagesReceivedPerMin),
          broker_messages_sent_per_min: round(b.messagesSentPerMin),
        });
        if (b.clientsConnected > o.brokerClientsMax)
          upgrade.push(`${b.clientsConnected} broker clients, over ${o.brokerClientsMax}`);
        const rate = Math.max(b.messagesReceivedPerMin, b.messagesSentPerMin);
        if (rate > o.brokerMessagesPerMinMax)
          upgrade.push(`${round(rate)} broker messages/min, over ${o.brokerMessagesPerMinMax}`);
      }

      // The model, at the size Azure reports (else the environment's): where a bigger VM is due.
      let modelNote: string | null = null;
      if (options.model) {
        const advice = await options.model
          .advice(from, to, size, upgradeTo)
          .catch((e: unknown) => `its load could not be read: ${e instanceof Error ? e.message : String(e)}`);
        if (typeof advice === 'string') evidence.push(`Model: not stated (${advice})`);
        else {
          const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
          const cur = (n: number) => `${n.toFixed(2)} ${advice.currency}`;
          const at =
            advice.dueDevices === null
              ? `the model never needs a bigger VM than ${advice.size} at this load`
              : `the model says a bigger VM than ${advice.size} is due at ${fmt(advice.dueDevices)} devices` +
                `${advice.dueLimit ? ` (${advice.dueLimit})` : ''}, ${fmt(advice.devices)} now`;
          const diff =
            advice.monthlyNow !== null && advice.monthlyUpgrade !== null
              ? `${upgradeTo} costs ${cur(advice.monthlyUpgrade)} a month, ${cur(advice.monthlyUpgrade - advice.monthlyNow)} more than ${advice.size}'s ${cur(advice.monthlyNow)}`
              : `no price for ${advice.monthlyNow === null ? advice.size : upgradeTo} in prices.vmMonthly`;
          modelNote = `${at}; ${diff}`;
          evidence.push(
            `Model: ${modelNote} (at ${advice.messagesPerDevicePerMinute.toLocaleString('en-US', { maximumFractionDigits: 3 })} messages a device a minute)`,
          );
          if (advice.dueDevices !== null) metricValues.model_due_devices = Math.round(advice.dueDevices);
          if (advice.monthlyNow !== null && advice.monthlyUpgrade !== null)
            metricValues.upgrade_monthly_difference = round(advice.monthlyUpgrade - advice.monthlyNow, 2);
          if (advice.dueDevices !== null && advice.devices >= advice.dueDevices)
            upgrade.push(
              `${fmt(advice.devices)} devices reach the model's limit for ${advice.size} (${fmt(advice.dueDevices)})`,
            );
        }
      }

      const already = size !== null && size.toLowerCase() === upgradeTo.toLowerCase();
      const recommendation = upgrade.length
        ? already
          ? `upgrade beyond ${upgradeTo}`
          : `upgrade to ${upgradeTo}`
        : 'stay';
      metricValues.recommend_upgrade = upgrade.length ? 1 : 0;
      // Already on the target size: the next size up is the operator's choice.
      const command = upgrade.length ? resizeCommand(env, already ? '<larger size>' : upgradeTo) : null;
      evidence.unshift(
        `Recommendation: ${recommendation}${upgrade.length ? `, because ${upgrade.join('; ')}` : ' (no threshold crossed)'}`,
        ...(command ? [`Resize: \`${command}\` (a dry run first; --apply to act)`] : []),
      );
      const charts = credits.length ? [creditsChart(credits)] : [];
      const base = { metrics: metricValues, evidence, charts };
      const summary = [
        upgrade.length
          ? `${recommendation}: ${upgrade.join('; ')} (\`${command}\`)${modelNote ? `; ${modelNote}` : ''}`
          : `stay${size ? ` on ${size}` : ''}`,
        ...failures,
        ...other,
      ].join('; ');
      if (failures.length) return { status: 'fail', summary, ...base };
      if (upgrade.length || other.length) return { status: 'warn', summary, ...base };
      return {
        status: 'ok',
        summary: `${summary}: CPU avg ${cpuAvg !== null ? round(cpuAvg, 1) : '-'}%, credits ${
          creditsLast !== null ? round(creditsLast) : '-'
        }`,
        ...base,
      };
    },
  };
}

/** CPU credits remaining per day: the day's lowest hourly average. */
function creditsChart(points: MetricPoint[]): Chart {
  const byDay = new Map<string, number>();
  for (const p of points) {
    const day = p.at.toISOString().slice(5, 10);
    byDay.set(day, Math.min(byDay.get(day) ?? Infinity, p.average!));
  }
  return {
    title: 'CPU credits remaining (daily low)',
    xLabels: [...byDay.keys()],
    yLabel: 'credits',
    series: [
      { kind: 'line', name: 'credits remaining', values: [...byDay.values()].map((v) => round(v, 1)) },
    ],
  };
}

function values(points: MetricPoint[], key: 'average' | 'minimum' | 'maximum' | 'total'): number[] {
  return points.map((p) => p[key]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
}

function min(v: number[]): number | null {
  return v.length ? Math.min(...v) : null;
}

function max(v: number[]): number | null {
  return v.length ? Math.max(...v) : null;
}
