/**
 * Polls a cheap query while the page is visible: runs `tick` at once, then every `intervalMs` after
 * the previous run has finished (never two at a time). While document.visibilityState is not
 * `visible` nothing runs; becoming visible runs `tick` at once. The document and the timer are
 * injected so the schedule can be tested without a browser.
 */
export interface VisibilitySource {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const browserTimers: Timers = {
  set: (fn, ms) => setTimeout(fn, ms),
  clear: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Starts polling; the returned function stops it. */
export function startPolling(
  tick: () => Promise<void>,
  intervalMs: number,
  visibility: VisibilitySource,
  timers: Timers = browserTimers,
): () => void {
  let stopped = false;
  let running = false;
  let timer: unknown = null;

  const schedule = () => {
    if (stopped || visibility.visibilityState !== 'visible') return;
    timer = timers.set(run, intervalMs);
  };
  const run = () => {
    timer = null;
    if (stopped || running || visibility.visibilityState !== 'visible') return;
    running = true;
    tick()
      .catch(() => undefined) // tick reports its own errors; polling goes on
      .finally(() => {
        running = false;
        schedule();
      });
  };
  const onVisibility = () => {
    if (timer !== null) timers.clear(timer);
    timer = null;
    if (visibility.visibilityState === 'visible') run();
  };

  visibility.addEventListener('visibilitychange', onVisibility);
  run();
  return () => {
    stopped = true;
    if (timer !== null) timers.clear(timer);
    visibility.removeEventListener('visibilitychange', onVisibility);
  };
}
