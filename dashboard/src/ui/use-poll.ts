import { useEffect, useRef } from 'preact/hooks';
import { startPolling } from '../lib/poller.js';

/**
 * Seconds between polls of the live views (devices, alerts, platform status). A committed value is
 * on screen at most POLL_MS plus one request after it was written: within the 5 s the dashboard
 * promises. docs/dashboard.md ("The app") has the load this puts on Supabase.
 */
export const POLL_MS = 3000;

/** Runs `tick` now and every POLL_MS while the tab is visible; restarts when `deps` change. */
export function usePoll(tick: () => Promise<void>, deps: unknown[], intervalMs = POLL_MS): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => startPolling(() => latest.current(), intervalMs, document), deps);
}
