/** One HTTP GET with a deadline: status and latency, or why nothing answered. */
export interface HttpProbeReading {
  /** HTTP status, or null when nothing answered (refused, DNS, TLS, timeout). */
  status: number | null;
  latencyMs: number;
  error?: string;
}

export interface HttpProbeSource {
  get(url: string, signal?: AbortSignal): Promise<HttpProbeReading>;
}

export function createHttpProbeSource(
  options: { timeoutMs?: number; now?: () => number } = {},
): HttpProbeSource {
  const now = options.now ?? Date.now;
  return {
    async get(url, signal) {
      const started = now();
      const timeout = AbortSignal.timeout(options.timeoutMs ?? 10_000);
      try {
        const res = await fetch(url, {
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
          redirect: 'manual',
          headers: { 'user-agent': 'mqtt-saas-ops/1 (uptime check)' },
        });
        await res.body?.cancel();
        return { status: res.status, latencyMs: now() - started };
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        return {
          status: null,
          latencyMs: now() - started,
          error: cause?.code ?? cause?.message ?? (error as Error).message,
        };
      }
    },
  };
}
