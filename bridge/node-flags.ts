/**
 * Node flags the bridge runs with (systemd unit, benchmarks): V8 otherwise grows the heap lazily
 * towards its large default limit; bounded like this the bridge stays under 100 MB RSS at full rate.
 */
export const BRIDGE_NODE_FLAGS = ['--max-old-space-size=96', '--max-semi-space-size=4'] as const;
