/** Waiting on conditions with a deadline (never a fixed sleep to "let things settle"). */

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Extra context for the timeout error, evaluated only on failure. */
  describe?: () => string | Promise<string>;
}

export async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  options: WaitOptions,
): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) {
      const extra = options.describe ? `; ${await options.describe()}` : '';
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${extra}`);
    }
    await delay(options.intervalMs ?? 50);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Elapsed wall time since creation, for the timings the tests log. */
export function stopwatch(): () => number {
  const start = Date.now();
  return () => Date.now() - start;
}
