/**
 * docs/cost.md's tables, rendered from the model: monthly cost per component for 10, 100 and 1,000
 * devices at one message per 10 s (both Functions plans, with and without the archive), the load at
 * which each free grant or limit is reached, Functions by batch size, one row's working, the prices
 * and the assumptions. ops/cost/table.test.ts fails when the doc and the model disagree.
 */
import { ASSUMPTION_SOURCES, type Assumptions, DEFAULT_ASSUMPTIONS } from './assumptions.js';
import { batchingFor, BRIDGE_LINGER_BEFORE_MS, BRIDGE_LINGER_MS } from './batching.js';
import { due, type LimitPoint, limits, type LoadShape } from './limits.js';
import type { FunctionsPlan, Load, Platform } from './load.js';
import { type ComponentId, monthlyCost, money, num, type Prices } from './model.js';

/** How long one mqtt_ingest execution runs (ms). */
export const DOC_EXECUTION_MS = 50;
/** The bridge's linger the tables assume: its 1,000 ms latency budget (./batching.ts). */
export const DOC_LINGER_MS = BRIDGE_LINGER_MS;
/**
 * The doc's load: one message per 10 s, the simulator's payload, 30 days' retention, a year old.
 * Its batching is the one at 100 devices (10 msg/s: 11 messages per execution); the cost table
 * recomputes it for each device count (batching follows the aggregate rate), the limits table,
 * whose points are linear in devices, keeps this one.
 */
export const DOC_SHAPE: Omit<LoadShape, 'archive' | 'functionsPlan'> = {
  messagesPerDevicePerMinute: 6,
  payloadBytes: 100,
  retentionDays: 30,
  ageDays: 365,
  batching: batchingFor({ devices: 100, messagesPerDevicePerMinute: 6 }, DOC_EXECUTION_MS, DOC_LINGER_MS),
};
export const DOC_DEVICES = [10, 100, 1000];
export const DOC_BATCH_SIZES = [1, 2, 5, 10, 50, 100];
const PLANS: FunctionsPlan[] = ['flex-consumption', 'linux-consumption'];
const PLAN_NAMES: Record<FunctionsPlan, string> = {
  'flex-consumption': 'Flex',
  'linux-consumption': 'Linux',
};

const COLUMNS: [ComponentId, string][] = [
  ['vm', 'VM'],
  ['os-disk', 'OS disk'],
  ['public-ip', 'IP'],
  ['functions', 'Functions'],
  ['log-analytics', 'Logs'],
  ['supabase', 'Supabase'],
  ['blob-archive', 'Blob'],
  ['egress', 'Egress'],
  ['pages', 'Pages'],
];

/** The doc's load at a device count, batching from the linger at that count's rate. */
function load(devices: number, plan: FunctionsPlan, archive: boolean, lingerMs = DOC_LINGER_MS): Load {
  return {
    ...DOC_SHAPE,
    devices,
    functionsPlan: plan,
    archive,
    batching: batchingFor(
      { devices, messagesPerDevicePerMinute: DOC_SHAPE.messagesPerDevicePerMinute },
      DOC_EXECUTION_MS,
      lingerMs,
    ),
  };
}

export function renderCostTable(
  prices: Prices,
  platform: Platform,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): string {
  const lines = [
    `| Devices | Plan | Archive | ${COLUMNS.map(([, h]) => h).join(' | ')} | Total |`,
    `| ---: | --- | --- | ${COLUMNS.map(() => '---:').join(' | ')} | ---: |`,
  ];
  for (const devices of DOC_DEVICES)
    for (const plan of PLANS)
      for (const archive of [true, false]) {
        const e = monthlyCost(load(devices, plan, archive), platform, prices, a);
        const cells = COLUMNS.map(([id]) => {
          const c = e.components.find((x) => x.id === id)!;
          return id === 'supabase'
            ? `${money(c.monthly)} ${c.quantities.pro ? 'Pro' : 'Free'}`
            : money(c.monthly);
        });
        lines.push(
          `| ${num(devices)} | ${PLAN_NAMES[plan]} | ${archive ? 'on' : 'off'} | ${cells.join(' | ')} | **${money(e.total)}** |`,
        );
      }
  return lines.join('\n');
}

function at(p: LimitPoint | undefined): string {
  if (!p || p.devices === null) return 'never';
  if (p.devices === 0) return '0 (reached without devices)';
  const d = num(p.devices, p.devices < 10 ? 2 : 0);
  return `${d} devices (${num(p.messagesPerDay!)} msg/day)`;
}

export function renderLimitsTable(
  prices: Prices,
  platform: Platform,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): string {
  const shape = (archive: boolean): LoadShape => ({
    ...DOC_SHAPE,
    archive,
    functionsPlan: 'flex-consumption',
  });
  const on = limits(shape(true), platform, prices, a);
  const off = limits(shape(false), platform, prices, a);
  const lines = [
    '| Limit | Archive on (30 days kept) | Archive off (a year kept) |',
    '| --- | --- | --- |',
    ...on.map((p) => `| ${p.title} | ${at(p)} | ${at(off.find((q) => q.id === p.id))} |`),
  ];
  const [dueOn, dueOff] = [due(on), due(off)];
  const devices = (n: number | null) => (n === null ? 'never' : `${num(n, n < 10 ? 2 : 0)} devices`);
  lines.push(
    `| **A bigger VM than ${platform.vmSize} is due** | ${devices(dueOn.biggerVm)} | ${devices(dueOff.biggerVm)} |`,
    `| **Supabase Pro is due** | ${devices(dueOn.supabasePro)} | ${devices(dueOff.supabasePro)} |`,
  );
  return lines.join('\n');
}

export function renderBatchingTable(
  prices: Prices,
  platform: Platform,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
  devices = 100,
): string {
  const lines = [
    '| Messages per execution | Executions | Flex GB-s | Flex | Linux GB-s | Linux | Logs |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const n of DOC_BATCH_SIZES) {
    const shape = { ...DOC_SHAPE, batching: { ...DOC_SHAPE.batching, messagesPerExecution: n } };
    const [flex, linux] = PLANS.map((plan) =>
      monthlyCost({ ...load(devices, plan, true), ...shape }, platform, prices, a),
    );
    const fn = (e: typeof flex) => e!.components.find((c) => c.id === 'functions')!;
    const logs = flex!.components.find((c) => c.id === 'log-analytics')!;
    lines.push(
      `| ${num(n)} | ${num(fn(flex).quantities.executions!)} | ${num(fn(flex).quantities.gbSeconds!)} | ${money(fn(flex).monthly)} | ` +
        `${num(fn(linux).quantities.gbSeconds!)} | ${money(fn(linux).monthly)} | ${money(logs.monthly)} |`,
    );
  }
  return lines.join('\n');
}

/**
 * Before and after the bridge's linger became a latency budget: the same loads at the old 20 ms
 * linger and at the 1,000 ms budget, archive on, both plans.
 */
export function renderLingerTable(
  prices: Prices,
  platform: Platform,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): string {
  const lines = [
    '| Devices | Linger | Messages per execution | Executions | Flex Functions | Flex total | Linux Functions | Linux total |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const devices of DOC_DEVICES)
    for (const linger of [BRIDGE_LINGER_BEFORE_MS, DOC_LINGER_MS]) {
      const [flex, linux] = PLANS.map((plan) =>
        monthlyCost(load(devices, plan, true, linger), platform, prices, a),
      );
      const fn = (e: typeof flex) => e!.components.find((c) => c.id === 'functions')!;
      lines.push(
        `| ${num(devices)} | ${num(linger)} ms | ${num(flex!.load.batching.messagesPerExecution, 2)} | ` +
          `${num(fn(flex).quantities.executions!)} | ${money(fn(flex).monthly)} | ${money(flex!.total)} | ` +
          `${money(fn(linux).monthly)} | ${money(linux!.total)} |`,
      );
    }
  return lines.join('\n');
}

/** The working of one row of the cost table, component by component. */
export function renderWorking(
  prices: Prices,
  platform: Platform,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
  devices = 100,
  plan: FunctionsPlan = 'flex-consumption',
): string {
  const e = monthlyCost(load(devices, plan, true), platform, prices, a);
  const lines: string[] = [];
  for (const c of e.components) {
    lines.push(`- **${c.title}: ${money(c.monthly)}**`);
    for (const w of c.working) lines.push(`  - ${w}`);
  }
  lines.push(`- **Total: ${money(e.total)} ${e.currency} a month**`);
  return lines.join('\n');
}

/** The price list the tables use, each figure with the page it is published on. */
export function renderPricesTable(prices: Prices): string {
  const { osDisk, publicIp, functions: f, supabase: s, blob, bandwidth, logAnalytics, pages } = prices;
  const flex = f.flexConsumption;
  const linux = f.linuxConsumption;
  const tiers = (t: { tier: string; gb: number; monthly: number }[]) =>
    t.map((x) => `${x.tier} (${x.gb} GB) ${money(x.monthly)}`).join(', ');
  const rows: [string, string, string][] = [
    [
      'VM, a month (730 h)',
      Object.entries(prices.vmMonthly)
        .map(([k, v]) => `${k.replace(/^Standard_/, '')} ${money(v)}`)
        .join(', '),
      prices.source,
    ],
    ['OS disk, Standard SSD, a month', tiers(osDisk.standardSsd), osDisk.source],
    ['OS disk, Premium SSD, a month', tiers(osDisk.premiumSsd), osDisk.source],
    [
      'Standard SSD transactions',
      `${money(osDisk.standardSsdPer10kTransactions, 4)} per 10,000`,
      osDisk.source,
    ],
    ['Public IP, Standard, static', `${money(publicIp.staticStandardHourly, 4)} an hour`, publicIp.source],
    [
      'Functions, Flex Consumption (on demand)',
      `${money(flex.perGbSecond, 6)} per GB-s, ${money(flex.perMillionExecutions)} per million executions; ` +
        `free ${num(flex.freeGbSeconds)} GB-s and ${num(flex.freeExecutions)} executions a month; ` +
        `at least ${num(flex.minimumBilledSeconds, 3)} s per activity period` +
        (flex.alwaysReadyBaselinePerGbSecond !== undefined && flex.alwaysReadyPerGbSecond !== undefined
          ? `; always ready (not modelled) ${money(flex.alwaysReadyBaselinePerGbSecond, 6)} baseline and ` +
            `${money(flex.alwaysReadyPerGbSecond, 6)} execution per GB-s, no free grant`
          : ''),
      f.source,
    ],
    [
      'Functions, Linux Consumption',
      `${money(linux.perGbSecond, 6)} per GB-s, ${money(linux.perMillionExecutions)} per million executions; ` +
        `free ${num(linux.freeGbSeconds)} GB-s and ${num(linux.freeExecutions)} executions a month; ` +
        `at least ${num(linux.minimumBilledSeconds, 3)} s per execution`,
      f.source,
    ],
    [
      'Supabase Free',
      `${money(s.free.monthly)}: ${num(s.free.databaseMb)} MB database, ${num(s.free.egressGb)} GB egress`,
      s.source,
    ],
    [
      'Supabase Pro',
      `${money(s.pro.monthly)}: ${num(s.pro.databaseGbIncluded)} GB database, then ${money(s.pro.perDatabaseGbBeyond, 3)} per GB; ` +
        `${num(s.pro.egressGbIncluded)} GB egress, then ${money(s.pro.perEgressGbBeyond)} per GB`,
      s.source,
    ],
    [
      'Blob storage (LRS), per GB-month',
      `hot ${money(blob.hotPerGbMonth, 4)}, cool ${money(blob.coolPerGbMonth, 4)}`,
      blob.source,
    ],
    [
      'Blob operations, per 10,000',
      `hot write ${money(blob.hotWritePer10k, 4)}, read ${money(blob.hotReadPer10k, 4)}; ` +
        `cool write ${money(blob.coolWritePer10k, 4)}, read ${money(blob.coolReadPer10k, 4)}`,
      blob.source,
    ],
    [
      'Egress to the internet',
      `first ${num(bandwidth.freeGbPerMonth)} GB a month free, then ${money(bandwidth.internetEgressPerGb, 3)} per GB`,
      bandwidth.source,
    ],
    [
      'Log Analytics ingestion',
      `first ${num(logAnalytics.freeGbPerMonth)} GB a month free, then ${money(logAnalytics.perGb)} per GB`,
      logAnalytics.source,
    ],
    ['Cloudflare Pages', `${money(pages.monthly)} (Free plan)`, pages.source],
  ];
  return [
    `Currency ${prices.currency}, region ${prices.region}, readOn ${prices.readOn}, verified ${String(prices.verified)}.`,
    '',
    '| Item | Price | Published on |',
    '| --- | --- | --- |',
    ...rows.map(([item, price, source]) => `| ${item} | ${price} | ${source} |`),
  ].join('\n');
}

/** The model's other inputs, each with its default and where it comes from. */
export function renderAssumptionsTable(a: Assumptions = DEFAULT_ASSUMPTIONS): string {
  const value = (v: unknown) =>
    typeof v === 'number'
      ? num(v, 3)
      : typeof v === 'string'
        ? v
        : Object.entries(v as Record<string, { vcpus: number; memoryGiB: number; baselinePercent: number }>)
            .map(
              ([k, s]) =>
                `${k.replace(/^Standard_/, '')}: ${s.vcpus} vCPU, ${s.memoryGiB} GiB, ${s.baselinePercent}%`,
            )
            .join('; ');
  return [
    '| Assumption | Default | Where it comes from |',
    '| --- | --- | --- |',
    ...(Object.keys(ASSUMPTION_SOURCES) as (keyof Assumptions)[]).map(
      (k) => `| \`${k}\` | ${value(a[k])} | ${ASSUMPTION_SOURCES[k]} |`,
    ),
  ].join('\n');
}

/** Each generated block of docs/cost.md, by its marker (`<!-- cost:NAME:start -->` ... `end`). */
export function docBlocks(
  prices: Prices,
  platform: Platform,
  a: Assumptions = DEFAULT_ASSUMPTIONS,
): Record<string, string> {
  return {
    table: renderCostTable(prices, platform, a),
    limits: renderLimitsTable(prices, platform, a),
    batching: renderBatchingTable(prices, platform, a),
    linger: renderLingerTable(prices, platform, a),
    working: renderWorking(prices, platform, a),
    prices: renderPricesTable(prices),
    assumptions: renderAssumptionsTable(a),
  };
}
