/**
 * A frozen price list and platform for the cost model's worked examples (ops/cost/*.test.ts): the
 * figures of runbook/environments/prod.yaml as first written (2025-05-22, not re-read), kept here so
 * that re-reading prod.yaml's prices changes docs/cost.md's tables, never the hand-worked tests.
 */
import type { Platform } from '../../ops/cost/load.js';
import type { Prices } from '../../ops/cost/model.js';

export const WORKED_PRICES: Prices = {
  currency: 'USD',
  region: 'eastus',
  readOn: '2025-05-22',
  verified: false,
  source: 'https://prices.azure.com/api/retail/prices',
  vmMonthly: { Standard_B1s: 7.59, Standard_B1ms: 15.11, Standard_B2s: 30.37, Standard_B2ms: 60.74 },
  osDisk: {
    source: 'https://azure.microsoft.com/pricing/details/managed-disks/',
    standardSsd: [
      { tier: 'E4', gb: 32, monthly: 2.4 },
      { tier: 'E6', gb: 64, monthly: 4.8 },
      { tier: 'E10', gb: 128, monthly: 9.6 },
    ],
    premiumSsd: [
      { tier: 'P4', gb: 32, monthly: 5.28 },
      { tier: 'P6', gb: 64, monthly: 10.21 },
      { tier: 'P10', gb: 128, monthly: 19.71 },
    ],
    standardSsdPer10kTransactions: 0.002,
  },
  publicIp: {
    source: 'https://azure.microsoft.com/pricing/details/ip-addresses/',
    staticStandardHourly: 0.005,
  },
  functions: {
    source: 'https://azure.microsoft.com/pricing/details/functions/',
    flexConsumption: {
      perGbSecond: 0.000026,
      perMillionExecutions: 0.4,
      freeGbSeconds: 100_000,
      freeExecutions: 250_000,
      minimumBilledSeconds: 1,
      alwaysReadyBaselinePerGbSecond: 0.000004,
      alwaysReadyPerGbSecond: 0.000016,
    },
    linuxConsumption: {
      perGbSecond: 0.000016,
      perMillionExecutions: 0.2,
      freeGbSeconds: 400_000,
      freeExecutions: 1_000_000,
      minimumBilledSeconds: 0.1,
    },
  },
  supabase: {
    source: 'https://supabase.com/pricing',
    free: { monthly: 0, databaseMb: 500, egressGb: 5 },
    pro: {
      monthly: 25,
      databaseGbIncluded: 8,
      perDatabaseGbBeyond: 0.125,
      egressGbIncluded: 250,
      perEgressGbBeyond: 0.09,
    },
  },
  blob: {
    source: 'https://azure.microsoft.com/pricing/details/storage/blobs/',
    hotPerGbMonth: 0.018,
    coolPerGbMonth: 0.01,
    hotWritePer10k: 0.05,
    hotReadPer10k: 0.004,
    coolWritePer10k: 0.1,
    coolReadPer10k: 0.01,
  },
  bandwidth: {
    source: 'https://azure.microsoft.com/pricing/details/bandwidth/',
    freeGbPerMonth: 100,
    internetEgressPerGb: 0.087,
  },
  logAnalytics: {
    source: 'https://azure.microsoft.com/pricing/details/monitor/',
    perGb: 2.3,
    freeGbPerMonth: 5,
  },
  pages: { source: 'https://pages.cloudflare.com/', monthly: 0 },
};

/** prod.yaml's infra: a B1s, a 30 GB Standard SSD, Flex instances of 2,048 MB. */
export const WORKED_PLATFORM: Platform = {
  vmSize: 'Standard_B1s',
  osDiskGb: 30,
  osDiskType: 'standard-ssd',
  flexInstanceMemoryMb: 2048,
};
