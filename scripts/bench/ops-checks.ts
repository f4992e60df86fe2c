/**
 * The database-backed checks of each cadence for `bench:ops`, built with the same factories and
 * source the cadences use, timed through the engine's runChecks; and EXPLAIN (ANALYZE, BUFFERS) of
 * every platform-db query with the windows the checks ask for.
 *
 * The cadences' other checks (MQTT round trips, TLS, HTTP health, the publish-to-database canary,
 * which looks up one row by primary key) do not read data that grows: they are listed from
 * runbook/runbook.yaml, not timed (`otherChecks`).
 */
import type pg from 'pg';
import { loadRunbookConfig } from '../../ops/config/runbook-config.js';
import { aiSpendCheck } from '../../ops/checks/ai-spend.js';
import { deadLettersCheck } from '../../ops/checks/dead-letters.js';
import { pricingReviewCheck } from '../../ops/checks/pricing-review.js';
import { topTenantsCheck } from '../../ops/checks/top-tenants.js';
import type { Check, CheckStatus } from '../../ops/engine/check.js';
import { runChecks } from '../../ops/engine/run-checks.js';
import { PLATFORM_DB_QUERIES, type PlatformDbSource } from '../../ops/sources/platform-db.js';

export const BENCH_CADENCES = ['daily', 'weekly', 'monthly'] as const;
export type BenchCadence = (typeof BENCH_CADENCES)[number];

/** The cadences' database-backed checks, with their default thresholds. */
export function databaseChecks(source: PlatformDbSource): Record<BenchCadence, Check[]> {
  return {
    daily: [deadLettersCheck(source)],
    weekly: [topTenantsCheck(source), aiSpendCheck(source)],
    monthly: [pricingReviewCheck(source)],
  };
}

/** The checks a cadence runs (runbook/runbook.yaml) besides `benched` ones; null when unreadable. */
export function otherChecks(cadence: BenchCadence, benched: Check[]): string[] | null {
  try {
    const ids = new Set(benched.map((c) => c.id));
    return loadRunbookConfig().cadences[cadence].filter((id) => !ids.has(id));
  } catch {
    return null;
  }
}

export interface CadenceTiming {
  cadence: BenchCadence;
  /** Median over the repeats of the cadence's summed check durations. */
  ms: number;
  /** Every repeat's total, first (coldest) first. */
  runsMs: number[];
  checks: { id: string; ms: number; status: CheckStatus; summary: string }[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/**
 * Runs a cadence's checks `repeats` times through the engine with the checks' clock fixed at
 * `now` (the same windows at every size); each check is timed around its run.
 */
export async function timeCadence(
  cadence: BenchCadence,
  checks: Check[],
  now: number,
  repeats: number,
): Promise<CadenceTiming> {
  const perCheck = new Map<string, { ms: number[]; status: CheckStatus; summary: string }>();
  const runsMs: number[] = [];
  for (let r = 0; r < repeats; r++) {
    let total = 0;
    for (const check of checks) {
      const started = performance.now();
      const [result] = await runChecks([check], { now: () => now, timeoutMs: 300_000 });
      const ms = performance.now() - started;
      if (result!.status === 'error') throw new Error(`${check.id} failed: ${result!.summary}`);
      const entry = perCheck.get(check.id) ?? { ms: [], status: result!.status, summary: result!.summary };
      entry.ms.push(ms);
      perCheck.set(check.id, entry);
      total += ms;
    }
    runsMs.push(total);
  }
  return {
    cadence,
    ms: median(runsMs),
    runsMs,
    checks: [...perCheck].map(([id, e]) => ({ id, ms: median(e.ms), status: e.status, summary: e.summary })),
  };
}

export interface QueryPlan {
  query: keyof typeof PLATFORM_DB_QUERIES;
  /** Which check's window: e.g. `tenantUsage (7 d)`. */
  label: string;
  executionMs: number;
  /** Shared buffers hit + read over the whole plan. */
  buffers: number;
  /** Tables read by a sequential scan (a growing table here is a finding). */
  seqScans: string[];
  indexes: string[];
  text: string;
}

/** The windows the checks ask for, at `now` (ms). */
export function checkWindows(
  now: number,
): { query: keyof typeof PLATFORM_DB_QUERIES; label: string; from: Date; to: Date }[] {
  const DAY = 86_400_000;
  const at = new Date(now);
  const hour = Math.floor(now / 3_600_000) * 3_600_000;
  const monthStart = new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1));
  return [
    { query: 'deadLetters', label: 'deadLetters (24 h)', from: new Date(now - DAY), to: at },
    { query: 'tenantUsage', label: 'tenantUsage (24 h)', from: new Date(now - DAY), to: at },
    { query: 'tenantUsage', label: 'tenantUsage (7 d)', from: new Date(hour - 7 * DAY), to: new Date(hour) },
    { query: 'aiUsage', label: 'aiUsage (month to date)', from: monthStart, to: at },
    { query: 'planUse', label: 'planUse (30 d)', from: new Date(now - 30 * DAY), to: at },
  ];
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
  Plans?: PlanNode[];
}

/** EXPLAIN (ANALYZE, BUFFERS) of every platform-db query with the checks' windows. */
export async function explainQueries(client: pg.ClientBase, now: number): Promise<QueryPlan[]> {
  const plans: QueryPlan[] = [];
  for (const w of checkWindows(now)) {
    const sql = PLATFORM_DB_QUERIES[w.query];
    const json = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode; 'Execution Time': number }] }>(
      `explain (analyze, buffers, format json) ${sql}`,
      [w.from, w.to],
    );
    const root = json.rows[0]!['QUERY PLAN'][0];
    const seqScans = new Set<string>();
    const indexes = new Set<string>();
    const walk = (n: PlanNode) => {
      if (n['Node Type'] === 'Seq Scan' && n['Relation Name']) seqScans.add(n['Relation Name']);
      if (n['Index Name']) indexes.add(n['Index Name']);
      n.Plans?.forEach(walk);
    };
    walk(root.Plan);
    const text = await client.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, [
      w.from,
      w.to,
    ]);
    plans.push({
      query: w.query,
      label: w.label,
      executionMs: Math.round(root['Execution Time'] * 10) / 10,
      buffers: (root.Plan['Shared Hit Blocks'] ?? 0) + (root.Plan['Shared Read Blocks'] ?? 0),
      seqScans: [...seqScans],
      indexes: [...indexes],
      text: text.rows.map((r) => r['QUERY PLAN']).join('\n'),
    });
  }
  return plans;
}
