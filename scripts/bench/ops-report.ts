/** The `bench:ops` result and its text table (cadence, 1 M, 10 M, ratio; then per check). */
import type { CadenceTiming, QueryPlan } from './ops-checks.js';
import type { seededCounts } from './ops-seed.js';

export interface SizeResult {
  label: string;
  counts: Awaited<ReturnType<typeof seededCounts>>;
  /** This size's seeding step: telemetry + rollup, dead letters + AI ledger + latest, vacuum. */
  seeding: { telemetryMs: number; sideMs: number; vacuumMs: number; totalMs: number };
  cadences: CadenceTiming[];
  plans: QueryPlan[];
}

export interface OpsBenchResult {
  database: string;
  anchor: string;
  shape: { tenants: number; devices: number; days: number; repeats: number };
  /** Registry plus both sizes' seeding (telemetry, side rows, vacuum). */
  seedingMs: number;
  sizes: [SizeResult, SizeResult];
  /** Per cadence, the checks not timed (probes constant in data size, and the restore test); null: unknown. */
  notTimed: Record<string, string[] | null>;
}

export const DAILY_TARGET_MS = 60_000;
export const MAX_RATIO = 1.5;

export interface Verdict {
  cadence: string;
  smallMs: number;
  largeMs: number;
  ratio: number;
  ok: boolean;
}

export function verdicts(result: OpsBenchResult): Verdict[] {
  const [small, large] = result.sizes;
  return small.cadences.map((s) => {
    const l = large.cadences.find((c) => c.cadence === s.cadence)!;
    const ratio = s.ms > 0 ? l.ms / s.ms : 1;
    const ok = ratio <= MAX_RATIO && (s.cadence !== 'daily' || l.ms < DAILY_TARGET_MS);
    return { cadence: s.cadence, smallMs: s.ms, largeMs: l.ms, ratio, ok };
  });
}

const pad = (s: string, n: number) => s.padEnd(n);
const ms = (x: number) => `${x.toFixed(1)} ms`;

export function formatReport(result: OpsBenchResult): string {
  const [small, large] = result.sizes;
  const lines: string[] = [];
  lines.push(
    `bench:ops: ${result.shape.tenants} tenants, ${result.shape.devices} devices, telemetry over ${result.shape.days} days; ` +
      `median of ${result.shape.repeats} runs; seeding ${(result.seedingMs / 1000).toFixed(1)} s ` +
      `(${small.label}: ${(small.seeding.totalMs / 1000).toFixed(1)} s, +${large.label}: ${(large.seeding.totalMs / 1000).toFixed(1)} s)`,
    '',
    `${pad('cadence', 24)}${pad(small.label, 14)}${pad(large.label, 14)}${pad('ratio', 8)}target`,
  );
  for (const v of verdicts(result)) {
    const target = v.cadence === 'daily' ? `< 60 s, <= ${MAX_RATIO}x` : `<= ${MAX_RATIO}x`;
    lines.push(
      `${pad(v.cadence, 24)}${pad(ms(v.smallMs), 14)}${pad(ms(v.largeMs), 14)}${pad(`${v.ratio.toFixed(2)}x`, 8)}${target} ${v.ok ? 'ok' : 'MISSED'}`,
    );
  }
  lines.push('', `${pad('check', 24)}${pad(small.label, 14)}${pad(large.label, 14)}ratio`);
  for (const s of small.cadences.flatMap((c) => c.checks)) {
    const l = large.cadences.flatMap((c) => c.checks).find((c) => c.id === s.id)!;
    lines.push(`${pad(s.id, 24)}${pad(ms(s.ms), 14)}${pad(ms(l.ms), 14)}${(l.ms / s.ms).toFixed(2)}x`);
  }
  lines.push(
    '',
    `${pad('query (EXPLAIN ANALYZE)', 26)}${pad(small.label, 12)}${pad(large.label, 12)}scans at ${large.label}`,
  );
  for (const [i, p] of small.plans.entries()) {
    const l = large.plans[i]!;
    const scans = [...l.seqScans.map((t) => `seq ${t}`), ...l.indexes].join(', ');
    lines.push(`${pad(p.label, 26)}${pad(ms(p.executionMs), 12)}${pad(ms(l.executionMs), 12)}${scans}`);
  }
  const others = Object.entries(result.notTimed)
    .map(([c, ids]) => `${c}: ${ids === null ? 'could not list' : ids.length ? ids.join(', ') : 'none'}`)
    .join('; ');
  lines.push(
    '',
    `not timed: ${others}`,
    '(network and cloud probes, constant in data size; weekly.restore-test dumps and restores the whole',
    'database by design, so it grows with it and has its own time budget in runbook/runbook.yaml)',
    '',
  );
  return lines.join('\n');
}
