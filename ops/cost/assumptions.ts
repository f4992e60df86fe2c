/**
 * What the cost model assumes besides the prices: the platform's own consumption per message, per
 * execution and per device. Each default is measured (where and how is said) or estimated (and
 * from what); docs/cost.md lists them. `npm run bench:cost` (issue 13, section 1) is to replace the
 * estimates with measurements: pass its numbers instead of these defaults.
 */

export interface VmSize {
  vcpus: number;
  memoryGiB: number;
  /** The CPU a B-series size sustains without spending credits, in percent of one vCPU. */
  baselinePercent: number;
}

export interface Assumptions {
  /** Database bytes of one reading besides its payload bytes: heap, primary key, (tenant, ts) index. */
  readingOverheadBytes: number;
  /** Numeric metrics per reading: each is one telemetry_hourly row per device and hour. */
  metricsPerReading: number;
  /** usage_hourly, one row per device and hour, with its two indexes. */
  usageRowBytes: number;
  /** telemetry_hourly, one row per device, metric and hour, with its primary key. */
  rollupRowBytes: number;
  /** The database without telemetry: Supabase's own schemas, ours, registry, alerts (MB). */
  baseDatabaseMb: number;
  /** Linux Consumption's observed memory of the app while it runs (billed rounded up to 128 MB). */
  consumptionMemoryMb: number;
  /** Timer functions started each minute: alerts_timer and uptime_probe. */
  timerRunsPerMinute: number;
  /** How long a timer run lasts (s); on Flex both run in one activity period a minute. */
  timerSeconds: number;
  /** Azure egress per message besides its payload: the row's parameters to Supabase, the PUBACK. */
  egressOverheadBytesPerMessage: number;
  /** Azure egress per execution: the statements' text and framing sent to Supabase. */
  egressBytesPerExecution: number;
  /** Supabase egress per execution: results and protocol sent back to the function. */
  supabaseEgressBytesPerExecution: number;
  /** Supabase egress of the dashboard's reads (GB a month). */
  dashboardEgressGbPerMonth: number;
  /** Log Analytics bytes per execution: its request row and the host's Executing/Executed traces. */
  logBytesPerExecution: number;
  /** Blob bytes per archived reading (gzip'd JSON lines). */
  archiveBytesPerMessage: number;
  archiveTier: 'hot' | 'cool';
  /** Archive objects written a day: one per tenant and UTC day. */
  archiveObjectsPerDay: number;
  /** The bridge's journal fdatasync interval (ms) while messages arrive (docs/bridge.md). */
  bridgeFsyncIntervalMs: number;
  /** Disk transactions per journal sync (the data and the file system's journal). */
  diskIosPerSync: number;
  /** Disk transactions a second without messages (logs, the OS). */
  diskIdleIosPerSecond: number;
  /** VM CPU per message, broker and bridge together (vCPU-ms). */
  vmCpuMsPerMessage: number;
  /** VM CPU without messages, in percent of one vCPU (OS, agents, idle broker and bridge). */
  vmIdleCpuPercent: number;
  /** VM memory in use without devices (MiB): OS, agents, broker, the bridge (about 90 MB). */
  vmMemoryBaseMiB: number;
  /** Broker memory per connected device (KiB): its TLS session and buffers. */
  vmMemoryPerDeviceKiB: number;
  /** Memory that must stay available (the capacity check's memoryMinAvailableMiB). */
  vmMemoryMinAvailableMiB: number;
  /** VM sizes the model knows the capacity of. */
  vmSizes: Record<string, VmSize>;
}

/** Where each default comes from: M measured, E estimated. docs/cost.md prints this list. */
export const ASSUMPTION_SOURCES: Record<keyof Assumptions, string> = {
  readingOverheadBytes:
    "M: 360 B per reading of a 100-byte simulator payload (59 B of metrics) in a copy of public.telemetry's " +
    'columns and indexes, 1,008,000 rows, vacuumed, PostgreSQL 15, insert order by time or by device alike ' +
    '(docs/cost.md); minus the payload. docs/dashboard.md measured 270 B at about 90 payload bytes',
  metricsPerReading: "E: the simulator's readings (temperature, humidity, battery)",
  usageRowBytes: 'M: 167 B per row, same probe (16,800 rows)',
  rollupRowBytes: 'M: 214 B per row, same probe (50,400 rows)',
  baseDatabaseMb: "E: an empty Supabase project's schemas and extensions plus ours",
  consumptionMemoryMb:
    'E: a Node.js worker with the bundle; Azure Monitor\'s "Function Execution Units" tells',
  timerRunsPerMinute: 'M: functions/src/functions (alerts_timer, uptime_probe: 0 */1 * * * *)',
  timerSeconds: 'E: a probe round trip and a few queries',
  egressOverheadBytesPerMessage:
    "E: the row's fields besides the payload, to Supabase (two uuids as text, time, key: ~75 B), and the PUBACK " +
    'to the device (4 B in a TLS record ~30 B, TCP/IP headers ~40 B)',
  egressBytesPerExecution:
    'E: the batch statement (2.5 kB of SQL, sent each time: no prepared statements through the transaction pooler) ' +
    'and the other queries of an execution',
  supabaseEgressBytesPerExecution: "E: the statements' results and protocol messages",
  dashboardEgressGbPerMonth: 'E: a few users reading charts',
  logBytesPerExecution:
    'E: one AppRequests row (requests are never sampled: functions/host.json) and two host traces',
  archiveBytesPerMessage:
    'M/E: gzip -6 of simulator-like rows as JSON lines, ordered by time as the archive writes them, gave 18 B a row; ' +
    "synthetic values compress better than a real sensor's",
  archiveTier: 'E: exports are written once and rarely read',
  archiveObjectsPerDay: 'E: ten tenants (one object per tenant and UTC day: common/telemetry-archive.ts)',
  bridgeFsyncIntervalMs: "M: the bridge's default fsyncIntervalMs (docs/bridge.md)",
  diskIosPerSync: "E: the appended data and ext4's journal commit",
  diskIdleIosPerSecond: "E: journald, the broker's autosave, the OS",
  vmCpuMsPerMessage:
    'M: broker 14 + bridge 18-21 ms per 1,000 messages (docs/benchmark.md, pipeline, 2-core EPYC); device TLS not included',
  vmIdleCpuPercent: 'E: Ubuntu, the Azure agent, idle Mosquitto and bridge',
  vmMemoryBaseMiB: 'E: Ubuntu and the Azure agent ~350 MiB; M: the bridge ~90 MB (docs/bridge.md)',
  vmMemoryPerDeviceKiB: "E: Mosquitto's context and an OpenSSL session with its buffers",
  vmMemoryMinAvailableMiB:
    "M: the capacity check's memoryMinAvailableMiB default (ops/checks/vm-capacity.ts)",
  vmSizes: "P: Azure's B-series table (base CPU performance of the VM); DESIGN.md for B1s and B2s",
};

export const DEFAULT_ASSUMPTIONS: Assumptions = {
  readingOverheadBytes: 260,
  metricsPerReading: 3,
  usageRowBytes: 167,
  rollupRowBytes: 214,
  baseDatabaseMb: 25,
  consumptionMemoryMb: 256,
  timerRunsPerMinute: 2,
  timerSeconds: 1,
  egressOverheadBytesPerMessage: 150,
  egressBytesPerExecution: 4000,
  supabaseEgressBytesPerExecution: 1000,
  dashboardEgressGbPerMonth: 1,
  logBytesPerExecution: 1500,
  archiveBytesPerMessage: 50,
  archiveTier: 'cool',
  archiveObjectsPerDay: 10,
  bridgeFsyncIntervalMs: 50,
  diskIosPerSync: 2,
  diskIdleIosPerSecond: 1,
  vmCpuMsPerMessage: 0.035,
  vmIdleCpuPercent: 3,
  vmMemoryBaseMiB: 450,
  vmMemoryPerDeviceKiB: 64,
  vmMemoryMinAvailableMiB: 100,
  vmSizes: {
    Standard_B1s: { vcpus: 1, memoryGiB: 1, baselinePercent: 10 },
    Standard_B1ms: { vcpus: 1, memoryGiB: 2, baselinePercent: 20 },
    Standard_B2s: { vcpus: 2, memoryGiB: 4, baselinePercent: 40 },
    Standard_B2ms: { vcpus: 2, memoryGiB: 8, baselinePercent: 60 },
  },
};

/** Refuses a negative or non-finite assumption, naming it. */
export function checkAssumptions(a: Assumptions): void {
  for (const [name, value] of Object.entries(a)) {
    if (name === 'archiveTier') {
      if (value !== 'hot' && value !== 'cool')
        throw new Error(`cost model: assumption archiveTier must be hot or cool (got ${String(value)})`);
    } else if (name === 'vmSizes') {
      for (const [size, spec] of Object.entries(value as Record<string, VmSize>))
        for (const [field, v] of Object.entries(spec)) nonNegative(`vmSizes.${size}.${field}`, v);
    } else nonNegative(name, value);
  }
  if (!(a.bridgeFsyncIntervalMs > 0))
    throw new Error('cost model: assumption bridgeFsyncIntervalMs must be positive');
}

function nonNegative(name: string, v: unknown): void {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new Error(`cost model: assumption ${name} must be a non-negative number (got ${String(v)})`);
}
