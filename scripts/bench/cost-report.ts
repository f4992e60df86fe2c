/**
 * bench:cost's result and its human table (docs/benchmark-cost.md says what each column means).
 */
import type { DatabaseSize } from './cost-database-size.js';
import { type FunctionsUsage, perMillion } from './functions-cost.js';

export interface CostRow {
  /** Offered messages a second over all devices. */
  rate: number;
  devices: number;
  /** Seconds between two messages of one device. */
  deviceIntervalSeconds: number;
  /** BRIDGE_LINGER_MS of this row's bridge. */
  lingerMs: number;
  windowSeconds: number;
  messages: number;
  executions: number;
  /** Executions that did not answer 200 (none expected). */
  failedExecutions: number;
  executionsPerMillion: number;
  messagesPerExecution: number;
  executionSecondsPerMillion: number;
  meanExecutionMs: number;
  flexGbSecondsPerMillion: number;
  linuxGbSecondsPerMillion: number;
  databaseBytesPerMillion: number;
  databaseBytes: DatabaseSize;
  /** Function -> PostgreSQL. */
  egressBytesPerMillion: number;
  /** PostgreSQL -> function. */
  returnBytesPerMillion: number;
  p50Ms: number;
  p99Ms: number;
  latencySamples: number;
  /** min and max over the window's slices. */
  spread: {
    slices: number;
    executionsPerMillion: [number, number];
    messagesPerExecution: [number, number];
    egressBytesPerMillion: [number, number];
    p99Ms: [number, number];
  };
  usage: FunctionsUsage;
  /** The model's monthly Functions cost at 100 devices x 1 msg / 10 s with this row's batching. */
  monthlyFunctions: { flex: number; linux: number; messagesPerExecution: number; executionMs: number };
  /** The window crossed an hour: new rollup rows were created in it. */
  crossedHour: boolean;
}

export interface CostResult {
  date: string;
  machine: { cpus: number; cpuModel: string; memoryGb: number; node: string };
  environment: string;
  prices: { currency: string; region: string; readOn: string; verified: boolean };
  flexInstanceMemoryMb: number;
  linuxBilledMemoryMb: number;
  windowSeconds: number;
  slices: number;
  referenceLoad: string;
  rows: CostRow[];
  published: number;
  lost: number;
  duplicated: number;
  functionsPeakRssMb: number;
  seconds: number;
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-');
const n1 = (x: number) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: 1, minimumFractionDigits: 1 })
    : '-';
const mb = (bytes: number) => n1(bytes / 1e6);
const span = ([a, b]: [number, number], f: (x: number) => string) => (a === b ? f(a) : `${f(a)}-${f(b)}`);

export function renderCostTable(r: CostResult): string {
  const header = [
    'rate',
    'devices x every',
    'linger',
    'msgs',
    'exec/M msgs',
    'msgs/exec',
    'exec s/M',
    'ms/exec',
    'Flex GB-s/M',
    'Linux GB-s/M',
    'DB MB/M (telemetry)',
    'egress MB/M',
    'p50 ms',
    'p99 ms',
    `Flex ${r.prices.currency}/mo`,
    `Linux ${r.prices.currency}/mo`,
  ];
  const rows = r.rows.map((x) => [
    `${n0(x.rate)}/s`,
    `${n0(x.devices)} x ${n0(x.deviceIntervalSeconds)} s`,
    `${x.lingerMs} ms`,
    n0(x.messages),
    `${n0(x.executionsPerMillion)} (${span(x.spread.executionsPerMillion, n0)})`,
    `${n1(x.messagesPerExecution)} (${span(x.spread.messagesPerExecution, n1)})`,
    n0(x.executionSecondsPerMillion),
    n1(x.meanExecutionMs),
    n0(x.flexGbSecondsPerMillion),
    n0(x.linuxGbSecondsPerMillion),
    `${mb(x.databaseBytesPerMillion)} (${mb(perMillion(x.databaseBytes.telemetry, x.messages))})`,
    `${mb(x.egressBytesPerMillion)} (${span(x.spread.egressBytesPerMillion, (v) => mb(v))})`,
    n0(x.p50Ms),
    `${n0(x.p99Ms)} (${span(x.spread.p99Ms, n0)})`,
    x.monthlyFunctions.flex.toFixed(2),
    x.monthlyFunctions.linux.toFixed(2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  const out = [
    `bench:cost: ${r.windowSeconds} s a row (${r.slices} slices for the spread), ${r.date}, ${r.machine.cpus} x ${r.machine.cpuModel}, Node ${r.machine.node}`,
    `Flex: ${r.flexInstanceMemoryMb} MB instance (${r.environment}.yaml infra.functions.instanceMemoryMb); Linux: ${r.linuxBilledMemoryMb} MB billed (the model's assumption)`,
    `prices: ${r.environment}.yaml (${r.prices.region}, read on ${r.prices.readOn}${r.prices.verified ? '' : ', not verified'}); monthly Functions cost at ${r.referenceLoad} with each row's messages/exec and ms/exec`,
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    '(a-b): min-max over the slices of the row. DB: growth of telemetry + rollups + device rows (of it telemetry). egress: function -> PostgreSQL bytes.',
    `published ${n0(r.published)}, lost ${r.lost}, duplicated ${r.duplicated}; Functions host peak RSS ${n0(r.functionsPeakRssMb)} MB; ${n0(r.seconds)} s in all`,
  ];
  const crossed = r.rows.filter((x) => x.crossedHour);
  if (crossed.length)
    out.push(
      `note: ${crossed.map((x) => `${x.rate}/s linger ${x.lingerMs}`).join(', ')} crossed an hour: its DB bytes include new rollup rows`,
    );
  return `${out.join('\n')}\n`;
}
