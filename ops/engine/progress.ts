/**
 * Progress lines for a run of checks: one per check, when it has a result
 * (`[3/12] daily.dead-letters: warn (41 ms)`). A check still running after `slowAfterMs` gets one
 * more line saying so, so a long one (the restore test, the alert round trip) is not a silent gap
 * in a workflow log; the quick ones, nearly all, print once.
 */
import type { RunChecksOptions } from './run-checks.js';

export interface ProgressOptions {
  /** Default 10 s. */
  slowAfterMs?: number;
}

export function checkProgress(
  total: number,
  print: (line: string) => void,
  options: ProgressOptions = {},
): NonNullable<RunChecksOptions['onProgress']> {
  const slowAfterMs = options.slowAfterMs ?? 10_000;
  let n = 0;
  let slow: NodeJS.Timeout | undefined;
  return (event) => {
    if (event.phase === 'start') {
      const at = ++n;
      const id = event.check.id;
      slow = setTimeout(
        () => print(`[${at}/${total}] ${id}: still running after ${slowAfterMs / 1000} s ...`),
        slowAfterMs,
      );
      slow.unref();
      return;
    }
    clearTimeout(slow);
    const r = event.result;
    print(`[${n}/${total}] ${r.id}: ${r.status} (${r.durationMs} ms)`);
  };
}
