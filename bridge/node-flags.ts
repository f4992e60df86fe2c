/**
 * How the bridge process runs (systemd unit, benchmarks). V8 otherwise grows the heap lazily
 * towards its large default limit, and glibc gives each thread-pool thread (gzip, fdatasync) its
 * own malloc arena; bounded like this the bridge stays under 100 MB RSS at full rate.
 */
export const BRIDGE_NODE_FLAGS = ['--max-old-space-size=96', '--max-semi-space-size=4'] as const;

/** Environment the bridge process runs with, besides its BRIDGE_* settings. */
export const BRIDGE_PROCESS_ENV = { MALLOC_ARENA_MAX: '2' } as const;
