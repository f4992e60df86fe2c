/**
 * The cost model applied to an environment: its prices (`prices`), platform (`infra`), Functions
 * plan (`deploy.functions.plan`), archive mode and retention, at a measured load (from the
 * platform database: ops/sources/measured-load.ts) or a planned one (go-live). Pure. Also how the
 * model's components appear on Azure's bill, for comparing the two (daily.cost-burn).
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import { type Assumptions, DEFAULT_ASSUMPTIONS } from './assumptions.js';
import { batchingFor, BRIDGE_LINGER_MS, BRIDGE_MAX_BATCH } from './batching.js';
import { DAYS_PER_MONTH, type FunctionsPlan, type Load, type Platform, platformOf } from './load.js';
import { type ComponentId, type CostEstimate, monthlyCost, type Prices } from './model.js';

/** What the model needs of a measured load (ops/sources/measured-load.ts's MeasuredLoad fits). */
export interface LoadFacts {
  devices: number;
  messagesPerDay: number;
  /** Average payload bytes per message. */
  payloadBytes: number;
  /** Days the platform has collected; null or absent: `retentionDays`. */
  ageDays?: number | null;
}

export interface ExpectationOptions {
  /** The bridge's linger (ms); default its 1,000 ms latency budget. */
  lingerMs?: number;
  maxBatch?: number;
  /** How long one mqtt_ingest execution runs (ms); default 50 (docs/cost.md). */
  executionMs?: number;
  /** Days of readings kept when the environment's archive sets none; default 30. */
  defaultRetentionDays?: number;
  /** Payload bytes when the load has no messages to average; default 100 (the simulator's). */
  defaultPayloadBytes?: number;
  assumptions?: Assumptions;
}

export interface Expectation {
  estimate: CostEstimate;
  /** How the environment's settings were read into the load, one line each. */
  basis: string[];
}

/** The environment's prices and platform, or why the model cannot price it (a sentence). */
export function modelInputs(config: EnvironmentConfig): { prices: Prices; platform: Platform } | string {
  if (!config.prices)
    return `environment ${config.name} has no prices section: the cost model cannot price it (runbook/environments/${config.name}.yaml)`;
  if (!config.infra)
    return `environment ${config.name} has no infra section: the cost model needs its VM and Functions sizes`;
  const platform = platformOf(config);
  const plan = config.database?.plan;
  return { prices: config.prices, platform: plan ? { ...platform, supabasePlan: plan } : platform };
}

/** The environment's Functions plan, archive and retention applied to a load's facts. */
export function loadOf(
  config: EnvironmentConfig,
  facts: LoadFacts,
  o: ExpectationOptions = {},
): { load: Load; basis: string[] } {
  const functionsPlan: FunctionsPlan = config.deploy?.functions?.plan ?? 'flex-consumption';
  const archive = config.archive;
  const retentionDays =
    (archive && archive.mode !== 'disabled' ? archive.retentionDays : undefined) ??
    o.defaultRetentionDays ??
    30;
  // purge-without-archive drops old rows like the archive but exports nothing: priced as the archive
  // (the Blob part is then a few cents too many).
  const dropsOld = archive?.mode === 'enabled' || archive?.mode === 'purge-without-archive';
  const devices = facts.devices;
  const messagesPerDevicePerMinute = devices > 0 ? facts.messagesPerDay / devices / 1440 : 0;
  const payloadBytes = facts.payloadBytes > 0 ? facts.payloadBytes : (o.defaultPayloadBytes ?? 100);
  const ageDays = facts.ageDays ?? retentionDays;
  const lingerMs = o.lingerMs ?? BRIDGE_LINGER_MS;
  const batching = batchingFor(
    { devices, messagesPerDevicePerMinute },
    o.executionMs ?? 50,
    lingerMs,
    o.maxBatch ?? BRIDGE_MAX_BATCH,
  );
  const load: Load = {
    devices,
    messagesPerDevicePerMinute,
    payloadBytes,
    retentionDays,
    ageDays,
    archive: dropsOld,
    functionsPlan,
    batching,
  };
  const basis = [
    `load: ${fmt(devices)} devices, ${fmt(facts.messagesPerDay)} messages a day (${fmt(messagesPerDevicePerMinute, 3)} a device a minute), ` +
      `${fmt(payloadBytes)} B payload, ${fmt(ageDays)} days collected`,
    `Functions plan ${functionsPlan} (deploy.functions.plan${config.deploy?.functions?.plan ? '' : ' unset: the default'}); ` +
      `archive ${archive?.mode ?? 'unset'}: ${dropsOld ? `rows older than ${retentionDays} days dropped` : 'nothing dropped'}`,
    `batching: ${fmt(batching.messagesPerExecution, 2)} messages per execution (${fmt(lingerMs)} ms linger)`,
  ];
  return { load, basis };
}

/** The model's monthly cost for the environment at a measured or planned load. */
export function expectedMonthlyCost(
  config: EnvironmentConfig,
  facts: LoadFacts,
  o: ExpectationOptions = {},
): Expectation {
  const inputs = modelInputs(config);
  if (typeof inputs === 'string') throw new Error(inputs);
  const { load, basis } = loadOf(config, facts, o);
  return {
    estimate: monthlyCost(load, inputs.platform, inputs.prices, o.assumptions ?? DEFAULT_ASSUMPTIONS),
    basis,
  };
}

/** A monthly amount over `days` (a month is 730 h, the model's). */
export function forDays(monthly: number, days: number): number {
  return (monthly * days) / DAYS_PER_MONTH;
}

/** The model's components as Azure bills them: groups of Cost Management services. */
export interface AzureGroup {
  id: 'vm-storage' | 'network' | 'functions' | 'monitoring';
  title: string;
  components: ComponentId[];
  /** Matches a usage row's service: its meter category (modern) or consumed service (legacy). */
  matches: RegExp;
}

/**
 * Managed disks are meter category Storage but consumed service Microsoft.Compute: the VM, its disk
 * and the archive's storage are one group so that either naming compares alike.
 */
export const AZURE_GROUPS: readonly AzureGroup[] = [
  {
    id: 'vm-storage',
    title: 'VM, disk and storage',
    components: ['vm', 'os-disk', 'blob-archive'],
    matches: /virtual machines|storage|microsoft\.compute|microsoft\.(classic)?storage/i,
  },
  {
    id: 'network',
    title: 'Network (public IP, egress)',
    components: ['public-ip', 'egress'],
    matches: /virtual network|bandwidth|ip address|microsoft\.network/i,
  },
  { id: 'functions', title: 'Functions', components: ['functions'], matches: /functions|microsoft\.web/i },
  {
    id: 'monitoring',
    title: 'Log Analytics',
    components: ['log-analytics'],
    matches: /log analytics|azure monitor|application insights|microsoft\.(operationalinsights|insights)/i,
  },
];

/** The Azure group a service name falls in, or undefined: a service the model does not know. */
export function azureGroupOf(service: string): AzureGroup | undefined {
  return AZURE_GROUPS.find((g) => g.matches.test(service));
}

/** The model's monthly amount per Azure group (Supabase and Pages are not on Azure's bill). */
export function azureMonthlyByGroup(estimate: CostEstimate): Map<AzureGroup['id'], number> {
  const out = new Map<AzureGroup['id'], number>();
  for (const g of AZURE_GROUPS)
    out.set(
      g.id,
      estimate.components.filter((c) => g.components.includes(c.id)).reduce((a, c) => a + c.monthly, 0),
    );
  return out;
}

function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits });
}
