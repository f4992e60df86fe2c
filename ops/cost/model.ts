/**
 * The platform's monthly cost for a load, per component, with the working: every input and
 * intermediate quantity is in the result, so a report can show how each amount was reached.
 * Pure: the prices come from the environment YAML (prices), the rest from ./assumptions.ts.
 * The way back, the load at which a free grant or plan limit is reached, is ./limits.ts.
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import { type Assumptions, checkAssumptions, DEFAULT_ASSUMPTIONS } from './assumptions.js';
import {
  checkLoad,
  checkPlatform,
  DAYS_PER_MONTH,
  HOURS_PER_MONTH,
  type Load,
  MINUTES_PER_MONTH,
  type Platform,
  SECONDS_PER_MONTH,
} from './load.js';

export type Prices = NonNullable<EnvironmentConfig['prices']>;

export type ComponentId =
  | 'vm'
  | 'os-disk'
  | 'public-ip'
  | 'functions'
  | 'log-analytics'
  | 'supabase'
  | 'blob-archive'
  | 'egress'
  | 'pages';

export interface CostComponent {
  id: ComponentId;
  title: string;
  /** In prices.currency a month, unrounded. */
  monthly: number;
  /** The formula's inputs and results by name (executions, gbSeconds, databaseMb, ...). */
  quantities: Record<string, number>;
  /** The working, one step a line. */
  working: string[];
}

export interface CostEstimate {
  currency: string;
  /** The price list's provenance: verified false means not read from its sources. */
  prices: { region: string; readOn: string; verified: boolean };
  load: Load;
  platform: Platform;
  components: CostComponent[];
  total: number;
  /** A size or plan the load no longer fits, and why. */
  over: string[];
}

const GB = 1e9;
const MB = 1e6;

export function monthlyCost(
  load: Load,
  platform: Platform,
  prices: Prices,
  assumptions: Assumptions = DEFAULT_ASSUMPTIONS,
): CostEstimate {
  checkLoad(load);
  checkPlatform(platform);
  checkAssumptions(assumptions);
  const over: string[] = [];
  const components = [
    vm(load, platform, prices, assumptions, over),
    osDisk(load, platform, prices, assumptions),
    publicIp(prices),
    functions(load, platform, prices, assumptions),
    logAnalytics(load, prices, assumptions),
    supabase(load, platform, prices, assumptions, over),
    blobArchive(load, prices, assumptions),
    egress(load, prices, assumptions),
    pages(prices),
  ];
  return {
    currency: prices.currency,
    prices: { region: prices.region, readOn: prices.readOn, verified: prices.verified },
    load,
    platform,
    components,
    total: components.reduce((a, c) => a + c.monthly, 0),
    over,
  };
}

/** The month's messages and executions: ingest's and the timers'. */
export function traffic(load: Load, a: Assumptions) {
  const messages = load.devices * load.messagesPerDevicePerMinute * MINUTES_PER_MONTH;
  const ingestExecutions = messages / load.batching.messagesPerExecution;
  const timerExecutions = a.timerRunsPerMinute * MINUTES_PER_MONTH;
  return {
    messages,
    messagesPerSecond: messages / SECONDS_PER_MONTH,
    ingestExecutions,
    timerExecutions,
    executions: ingestExecutions + timerExecutions,
  };
}

function trafficLines(load: Load, t: ReturnType<typeof traffic>, a: Assumptions): string[] {
  return [
    `messages: ${num(load.devices)} devices x ${num(load.messagesPerDevicePerMinute)}/min x ${num(MINUTES_PER_MONTH)} min = ${num(t.messages)}`,
    `ingest executions: ${num(t.messages)} / ${num(load.batching.messagesPerExecution)} per execution = ${num(t.ingestExecutions)}`,
    `timer executions: ${num(a.timerRunsPerMinute)} a minute x ${num(MINUTES_PER_MONTH)} = ${num(t.timerExecutions)}`,
  ];
}

/** VM capacity use at a load; `fits` when CPU stays at the baseline and memory leaves enough. */
export function vmUse(
  load: Pick<Load, 'devices' | 'messagesPerDevicePerMinute'>,
  size: string,
  a: Assumptions,
) {
  const spec = Object.entries(a.vmSizes).find(([k]) => k.toLowerCase() === size.toLowerCase())?.[1];
  const messagesPerSecond = (load.devices * load.messagesPerDevicePerMinute) / 60;
  // vCPU-ms per second / 10 = percent of one vCPU.
  const cpuPercent = a.vmIdleCpuPercent + (messagesPerSecond * a.vmCpuMsPerMessage) / 10;
  const memoryUsedMiB = a.vmMemoryBaseMiB + (load.devices * a.vmMemoryPerDeviceKiB) / 1024;
  if (!spec) return { spec, messagesPerSecond, cpuPercent, memoryUsedMiB, cpuFits: true, memoryFits: true };
  return {
    spec,
    messagesPerSecond,
    cpuPercent,
    memoryUsedMiB,
    cpuFits: cpuPercent <= spec.baselinePercent,
    memoryFits: memoryUsedMiB <= spec.memoryGiB * 1024 - a.vmMemoryMinAvailableMiB,
  };
}

function vm(load: Load, platform: Platform, prices: Prices, a: Assumptions, over: string[]): CostComponent {
  const size = platform.vmSize;
  const monthly = Object.entries(prices.vmMonthly).find(([k]) => k.toLowerCase() === size.toLowerCase())?.[1];
  if (monthly === undefined)
    throw new Error(
      `cost model: no price for ${size} in prices.vmMonthly: add its pay-as-you-go monthly price`,
    );
  const use = vmUse(load, size, a);
  const working = [`${size}: ${money(monthly)} a month (pay-as-you-go, ${HOURS_PER_MONTH} h)`];
  const quantities: Record<string, number> = {
    messagesPerSecond: use.messagesPerSecond,
    cpuPercent: use.cpuPercent,
    memoryUsedMiB: use.memoryUsedMiB,
  };
  if (!use.spec) working.push(`capacity of ${size} unknown to the model (assumptions.vmSizes): not checked`);
  else {
    const memoryLimit = use.spec.memoryGiB * 1024 - a.vmMemoryMinAvailableMiB;
    Object.assign(quantities, { baselinePercent: use.spec.baselinePercent, memoryLimitMiB: memoryLimit });
    working.push(
      `CPU: ${num(a.vmIdleCpuPercent)}% idle + ${num(use.messagesPerSecond, 2)} msg/s x ${num(a.vmCpuMsPerMessage, 3)} ms / 10 = ` +
        `${num(use.cpuPercent, 2)}% of a vCPU (baseline ${use.spec.baselinePercent}%)`,
      `memory: ${num(a.vmMemoryBaseMiB)} MiB + ${num(load.devices)} devices x ${num(a.vmMemoryPerDeviceKiB)} KiB = ` +
        `${num(use.memoryUsedMiB, 1)} MiB (at most ${num(memoryLimit)} MiB: ${num(a.vmMemoryMinAvailableMiB)} stay available)`,
    );
    if (!use.cpuFits)
      over.push(`${size}: CPU ${num(use.cpuPercent, 1)}% is above its ${use.spec.baselinePercent}% baseline`);
    if (!use.memoryFits)
      over.push(
        `${size}: ${num(use.memoryUsedMiB)} MiB in use leaves under ${a.vmMemoryMinAvailableMiB} MiB available`,
      );
  }
  return { id: 'vm', title: 'VM (broker and bridge)', monthly, quantities, working };
}

function osDisk(load: Load, platform: Platform, prices: Prices, a: Assumptions): CostComponent {
  const standard = platform.osDiskType === 'standard-ssd';
  const tiers = [...(standard ? prices.osDisk.standardSsd : prices.osDisk.premiumSsd)].sort(
    (x, y) => x.gb - y.gb,
  );
  const tier = tiers.find((t) => t.gb >= platform.osDiskGb);
  if (!tier)
    throw new Error(
      `cost model: no ${platform.osDiskType} tier of ${platform.osDiskGb} GB or more in prices.osDisk: add one`,
    );
  const working = [
    `${platform.osDiskGb} GB ${platform.osDiskType} is billed as ${tier.tier} (${tier.gb} GB): ${money(tier.monthly)}`,
  ];
  const quantities: Record<string, number> = { diskGb: tier.gb, capacityMonthly: tier.monthly };
  let monthly = tier.monthly;
  if (standard) {
    // The bridge fdatasyncs its journal every fsyncIntervalMs while messages arrive: at most one
    // sync per message, at most 1000 / interval a second.
    const messagesPerSecond = (load.devices * load.messagesPerDevicePerMinute) / 60;
    const syncsPerSecond = Math.min(messagesPerSecond, 1000 / a.bridgeFsyncIntervalMs);
    const iosPerSecond = a.diskIdleIosPerSecond + a.diskIosPerSync * syncsPerSecond;
    const transactions = iosPerSecond * SECONDS_PER_MONTH;
    const cost = (transactions / 1e4) * prices.osDisk.standardSsdPer10kTransactions;
    monthly += cost;
    Object.assign(quantities, { syncsPerSecond, iosPerSecond, transactions, transactionsMonthly: cost });
    working.push(
      `journal syncs: min(${num(messagesPerSecond, 2)} msg/s, 1000 / ${num(a.bridgeFsyncIntervalMs)} ms) = ${num(syncsPerSecond, 2)}/s`,
      `transactions: (${num(a.diskIdleIosPerSecond)} + ${num(a.diskIosPerSync)} x ${num(syncsPerSecond, 2)})/s x ${num(SECONDS_PER_MONTH)} s = ${num(transactions)}`,
      `${num(transactions)} / 10,000 x ${money(prices.osDisk.standardSsdPer10kTransactions, 4)} = ${money(cost)} (no hourly cap applied)`,
    );
  }
  return { id: 'os-disk', title: 'OS disk', monthly, quantities, working };
}

function publicIp(prices: Prices): CostComponent {
  const monthly = prices.publicIp.staticStandardHourly * HOURS_PER_MONTH;
  return {
    id: 'public-ip',
    title: 'Public IP (static, Standard)',
    monthly,
    quantities: { hours: HOURS_PER_MONTH },
    working: [`${money(prices.publicIp.staticStandardHourly, 4)} x ${HOURS_PER_MONTH} h = ${money(monthly)}`],
  };
}

/** Rounds a billed duration up to the next step (100 ms on Flex), robust to float noise. */
function roundUp(seconds: number, step: number): number {
  return Math.ceil(seconds / step - 1e-9) * step;
}

/** Seconds Flex bills for one activity period of this length: at least the minimum, then by 100 ms. */
export function flexBilledSeconds(seconds: number, prices: Prices): number {
  return roundUp(Math.max(prices.functions.flexConsumption.minimumBilledSeconds, seconds), 0.1);
}

/** Seconds Linux Consumption bills for one execution: at least the minimum, by the millisecond. */
export function consumptionBilledSeconds(seconds: number, prices: Prices): number {
  return roundUp(Math.max(prices.functions.linuxConsumption.minimumBilledSeconds, seconds), 0.001);
}

/** Linux Consumption's billed memory (GB): observed memory rounded up to 128 MB, at most 1,536 MB. */
export function consumptionMemoryGb(a: Assumptions): number {
  return Math.min(1536, Math.ceil(a.consumptionMemoryMb / 128) * 128) / 1024;
}

function functions(load: Load, platform: Platform, prices: Prices, a: Assumptions): CostComponent {
  const t = traffic(load, a);
  const working = trafficLines(load, t, a);
  const quantities: Record<string, number> = { ...t };
  let gbSeconds: number;
  let rates: Prices['functions']['linuxConsumption'];
  if (load.functionsPlan === 'flex-consumption') {
    rates = prices.functions.flexConsumption;
    // On demand, Flex bills the instance's memory while it executes anything, each activity period
    // at least a second. The bridge keeps at most 3 requests in flight, under one instance's HTTP
    // concurrency: one instance, active at most the whole month. Both timers fire at second 0.
    const memoryGb = platform.flexInstanceMemoryMb / 1024;
    const perExecution = flexBilledSeconds(load.batching.executionMs / 1000, prices);
    const ingestSeconds = t.ingestExecutions * perExecution;
    const timerSeconds =
      a.timerRunsPerMinute > 0 ? MINUTES_PER_MONTH * flexBilledSeconds(a.timerSeconds, prices) : 0;
    const activeSeconds = Math.min(SECONDS_PER_MONTH, ingestSeconds + timerSeconds);
    gbSeconds = activeSeconds * memoryGb;
    Object.assign(quantities, {
      memoryGb,
      billedSecondsPerExecution: perExecution,
      ingestSeconds,
      timerSeconds,
      activeSeconds,
    });
    working.push(
      `billed per execution: max(${num(rates.minimumBilledSeconds, 1)} s, ${num(load.batching.executionMs)} ms), by 100 ms = ${num(perExecution, 1)} s`,
      `active: min(${num(SECONDS_PER_MONTH)} s, ${num(t.ingestExecutions)} x ${num(perExecution, 1)} s + timers ${num(timerSeconds)} s) = ${num(activeSeconds)} s`,
      `GB-s: ${num(activeSeconds)} s x ${num(memoryGb, 3)} GB instance = ${num(gbSeconds)}`,
    );
  } else {
    rates = prices.functions.linuxConsumption;
    const memoryGb = consumptionMemoryGb(a);
    const perExecution = consumptionBilledSeconds(load.batching.executionMs / 1000, prices);
    const perTimer = consumptionBilledSeconds(a.timerSeconds, prices);
    gbSeconds = (t.ingestExecutions * perExecution + t.timerExecutions * perTimer) * memoryGb;
    Object.assign(quantities, {
      memoryGb,
      billedSecondsPerExecution: perExecution,
      billedSecondsPerTimer: perTimer,
    });
    working.push(
      `billed per execution: max(${num(rates.minimumBilledSeconds, 1)} s, ${num(load.batching.executionMs)} ms) = ${num(perExecution, 3)} s; timers ${num(perTimer, 3)} s`,
      `GB-s: (${num(t.ingestExecutions)} x ${num(perExecution, 3)} s + ${num(t.timerExecutions)} x ${num(perTimer, 3)} s) x ${num(memoryGb, 3)} GB = ${num(gbSeconds)}`,
    );
  }
  const billableGbSeconds = Math.max(0, gbSeconds - rates.freeGbSeconds);
  const billableExecutions = Math.max(0, t.executions - rates.freeExecutions);
  const timeCost = billableGbSeconds * rates.perGbSecond;
  const executionCost = (billableExecutions / 1e6) * rates.perMillionExecutions;
  Object.assign(quantities, { gbSeconds, billableGbSeconds, billableExecutions, timeCost, executionCost });
  working.push(
    `execution time: max(0, ${num(gbSeconds)} - ${num(rates.freeGbSeconds)} free) x ${money(rates.perGbSecond, 6)} = ${money(timeCost)}`,
    `executions: max(0, ${num(t.executions)} - ${num(rates.freeExecutions)} free) / 1 M x ${money(rates.perMillionExecutions)} = ${money(executionCost)}`,
  );
  const plan = load.functionsPlan === 'flex-consumption' ? 'Flex Consumption' : 'Linux Consumption';
  return {
    id: 'functions',
    title: `Functions (${plan})`,
    monthly: timeCost + executionCost,
    quantities,
    working,
  };
}

function logAnalytics(load: Load, prices: Prices, a: Assumptions): CostComponent {
  const t = traffic(load, a);
  const gb = (t.executions * a.logBytesPerExecution) / GB;
  const billable = Math.max(0, gb - prices.logAnalytics.freeGbPerMonth);
  const monthly = billable * prices.logAnalytics.perGb;
  return {
    id: 'log-analytics',
    title: 'Log Analytics (Application Insights)',
    monthly,
    quantities: { executions: t.executions, gb, billableGb: billable },
    working: [
      `${num(t.executions)} executions x ${num(a.logBytesPerExecution)} B = ${num(gb, 2)} GB`,
      `max(0, ${num(gb, 2)} - ${num(prices.logAnalytics.freeGbPerMonth)} free) x ${money(prices.logAnalytics.perGb)} = ${money(monthly)}`,
    ],
  };
}

/** The database's size at a load (MB) and its parts. */
export function databaseSize(load: Load, a: Assumptions) {
  const rawDays = load.archive ? Math.min(load.retentionDays, load.ageDays) : load.ageDays;
  const readings = load.devices * load.messagesPerDevicePerMinute * 1440 * rawDays;
  const readingBytes = a.readingOverheadBytes + load.payloadBytes;
  // One usage row, and one rollup row per metric, for every device-hour with a reading.
  const deviceHours = load.devices * 24 * load.ageDays * Math.min(1, load.messagesPerDevicePerMinute * 60);
  const deviceHourBytes = a.usageRowBytes + a.metricsPerReading * a.rollupRowBytes;
  const telemetryMb = (readings * readingBytes) / MB;
  const rollupMb = (deviceHours * deviceHourBytes) / MB;
  return {
    rawDays,
    readings,
    readingBytes,
    deviceHours,
    deviceHourBytes,
    telemetryMb,
    rollupMb,
    databaseMb: a.baseDatabaseMb + telemetryMb + rollupMb,
  };
}

/** Supabase egress (GB a month): what the functions read back, and the dashboard. */
export function supabaseEgressGb(load: Load, a: Assumptions): number {
  return (traffic(load, a).executions * a.supabaseEgressBytesPerExecution) / GB + a.dashboardEgressGbPerMonth;
}

function supabase(
  load: Load,
  platform: Platform,
  prices: Prices,
  a: Assumptions,
  over: string[],
): CostComponent {
  const db = databaseSize(load, a);
  const egressGb = supabaseEgressGb(load, a);
  const { free, pro } = prices.supabase;
  const fitsFree = db.databaseMb <= free.databaseMb && egressGb <= free.egressGb;
  const plan = platform.supabasePlan ?? (fitsFree ? 'free' : 'pro');
  const t = traffic(load, a);
  const working = [
    `readings kept: ${num(load.devices)} devices x ${num(load.messagesPerDevicePerMinute * 1440)}/day x ${num(db.rawDays)} days ` +
      `(${load.archive ? 'the retention: the archive drops older partitions' : 'all of them: without the archive nothing is dropped'}) = ${num(db.readings)}`,
    `telemetry: ${num(db.readings)} x (${num(a.readingOverheadBytes)} + ${num(load.payloadBytes)} payload) B = ${num(db.telemetryMb, 1)} MB`,
    `rollups: ${num(db.deviceHours)} device-hours x (${num(a.usageRowBytes)} + ${num(a.metricsPerReading)} x ${num(a.rollupRowBytes)}) B = ${num(db.rollupMb, 1)} MB (never trimmed)`,
    `database: ${num(a.baseDatabaseMb)} + ${num(db.telemetryMb, 1)} + ${num(db.rollupMb, 1)} = ${num(db.databaseMb, 1)} MB`,
    `egress: ${num(t.executions)} executions x ${num(a.supabaseEgressBytesPerExecution)} B + dashboard ${num(a.dashboardEgressGbPerMonth)} GB = ${num(egressGb, 2)} GB`,
  ];
  let monthly: number;
  if (plan === 'free') {
    monthly = free.monthly;
    working.push(
      `Free: ${money(free.monthly)} (${num(free.databaseMb)} MB database, ${num(free.egressGb)} GB egress)` +
        (platform.supabasePlan ? '' : ': the load fits'),
    );
    if (db.databaseMb > free.databaseMb)
      over.push(
        `Supabase Free: the database (${num(db.databaseMb)} MB) is over its ${num(free.databaseMb)} MB`,
      );
    if (egressGb > free.egressGb)
      over.push(`Supabase Free: egress (${num(egressGb, 1)} GB) is over its ${num(free.egressGb)} GB`);
  } else {
    const dbGb = db.databaseMb / 1000;
    const diskCost = Math.max(0, dbGb - pro.databaseGbIncluded) * pro.perDatabaseGbBeyond;
    const egressCost = Math.max(0, egressGb - pro.egressGbIncluded) * pro.perEgressGbBeyond;
    monthly = pro.monthly + diskCost + egressCost;
    working.push(
      `Pro${platform.supabasePlan ? '' : ` (Free holds ${num(free.databaseMb)} MB and ${num(free.egressGb)} GB of egress)`}: ${money(pro.monthly)}` +
        ` + max(0, ${num(dbGb, 2)} - ${num(pro.databaseGbIncluded)} GB) x ${money(pro.perDatabaseGbBeyond, 3)}` +
        ` + max(0, ${num(egressGb, 1)} - ${num(pro.egressGbIncluded)} GB) x ${money(pro.perEgressGbBeyond)} = ${money(monthly)}`,
    );
  }
  return {
    id: 'supabase',
    title: `Supabase (${plan === 'free' ? 'Free' : 'Pro'})`,
    monthly,
    quantities: { ...db, egressGb, pro: plan === 'pro' ? 1 : 0 },
    working,
  };
}

function blobArchive(load: Load, prices: Prices, a: Assumptions): CostComponent {
  if (!load.archive)
    return {
      id: 'blob-archive',
      title: 'Blob archive',
      monthly: 0,
      quantities: { storedGb: 0 },
      working: ['archive off: nothing is exported'],
    };
  const days = Math.max(0, load.ageDays - load.retentionDays);
  const perDay = load.devices * load.messagesPerDevicePerMinute * 1440;
  const storedGb = (perDay * days * a.archiveBytesPerMessage) / GB;
  const hot = a.archiveTier === 'hot';
  const perGbMonth = hot ? prices.blob.hotPerGbMonth : prices.blob.coolPerGbMonth;
  // One object per tenant and UTC day once days age out (common/telemetry-archive.ts): one Put Blob
  // up to 256 MiB (the SDK's single-shot limit), else 4 MiB blocks and a commit; read back once.
  const exports = days > 0 && perDay > 0 ? DAYS_PER_MONTH * a.archiveObjectsPerDay : 0;
  const objectBytes = (perDay * a.archiveBytesPerMessage) / Math.max(1, a.archiveObjectsPerDay);
  const writesPerExport = objectBytes <= 256 * 2 ** 20 ? 1 : Math.ceil(objectBytes / (4 * 2 ** 20)) + 1;
  const writes = exports * writesPerExport;
  const reads = exports;
  const storage = storedGb * perGbMonth;
  const operations =
    (writes / 1e4) * (hot ? prices.blob.hotWritePer10k : prices.blob.coolWritePer10k) +
    (reads / 1e4) * (hot ? prices.blob.hotReadPer10k : prices.blob.coolReadPer10k);
  return {
    id: 'blob-archive',
    title: `Blob archive (${a.archiveTier})`,
    monthly: storage + operations,
    quantities: {
      archivedDays: days,
      storedGb,
      writes,
      reads,
      storageMonthly: storage,
      operationsMonthly: operations,
    },
    working: [
      `archived: ${num(perDay)} readings/day x ${num(days)} days (age ${num(load.ageDays)} - retention ${num(load.retentionDays)}) x ${num(a.archiveBytesPerMessage)} B = ${num(storedGb, 3)} GB`,
      `storage: ${num(storedGb, 3)} GB x ${money(perGbMonth, 4)} = ${money(storage)}`,
      `operations: ${num(writes, 1)} writes and ${num(reads, 1)} reads (${num(a.archiveObjectsPerDay)} objects a day) = ${money(operations, 4)}`,
    ],
  };
}

function egress(load: Load, prices: Prices, a: Assumptions): CostComponent {
  const t = traffic(load, a);
  const perMessage = a.egressOverheadBytesPerMessage + load.payloadBytes;
  const gb = (t.messages * perMessage + t.executions * a.egressBytesPerExecution) / GB;
  const billable = Math.max(0, gb - prices.bandwidth.freeGbPerMonth);
  const monthly = billable * prices.bandwidth.internetEgressPerGb;
  return {
    id: 'egress',
    title: 'Egress out of Azure (to Supabase and devices)',
    monthly,
    quantities: { gb, billableGb: billable },
    working: [
      `${num(t.messages)} messages x (${num(a.egressOverheadBytesPerMessage)} + ${num(load.payloadBytes)}) B + ` +
        `${num(t.executions)} executions x ${num(a.egressBytesPerExecution)} B = ${num(gb, 2)} GB (same-region traffic is free)`,
      `max(0, ${num(gb, 2)} - ${num(prices.bandwidth.freeGbPerMonth)} free) x ${money(prices.bandwidth.internetEgressPerGb, 3)} = ${money(monthly)}`,
    ],
  };
}

function pages(prices: Prices): CostComponent {
  return {
    id: 'pages',
    title: 'Cloudflare Pages (dashboard)',
    monthly: prices.pages.monthly,
    quantities: {},
    working: [`static files on the Free plan: ${money(prices.pages.monthly)}`],
  };
}

/** 1234567.8 -> "1,234,568" (digits: decimals kept, trailing zeros dropped). */
export function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** 12.3 -> "12.30"; a rate keeps its own decimals (money(0.000026, 6) -> "0.000026"). */
export function money(n: number, digits = 2): string {
  return n.toLocaleString('en-US', {
    minimumFractionDigits: Math.min(2, digits),
    maximumFractionDigits: digits,
  });
}
