/**
 * CPU time per component of a benchmark phase, from /proc (Linux): user + system time of named
 * process groups, so a run shows where the machine's cores went, not only how fast it was.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

export type PidSource = number | (() => number[]);

/** CPU milliseconds used so far by each group (processes that exited since are not counted). */
export function cpuMillis(groups: Record<string, PidSource>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, source] of Object.entries(groups)) {
    const pids = typeof source === 'number' ? [source] : source();
    out[name] = pids.reduce((sum, pid) => sum + processCpuMillis(pid), 0);
  }
  return out;
}

/** The difference of two cpuMillis() readings. */
export function cpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): Record<string, number> {
  return Object.fromEntries(Object.keys(after).map((k) => [k, Math.max(0, after[k]! - (before[k] ?? 0))]));
}

/** Every process whose command name is `comm` (e.g. all PostgreSQL backends). */
export function pidsByName(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

function processCpuMillis(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces) start at ") ".
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const utime = Number(fields[11]);
    const stime = Number(fields[12]);
    return ((utime + stime) * 1000) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}
