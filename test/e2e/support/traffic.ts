/**
 * The traffic of a scenario and its end: devices publishing steadily while the test disrupts the
 * platform, then waiting until everything is through (committed, nothing pending in the bridge).
 * The exactly-once check itself is expectExactlyOnce (platform.ts), which takes a Traffic too.
 *
 *   const traffic = await startTraffic(p, { perDevice: 1_000, ratePerSecond: 300, tag: 'kill' });
 *   ... the disruption, checked mid-stream with traffic.published() and traffic.done() ...
 *   await drain(p, traffic);
 *   ... what the scenario must show ...
 *   await expectExactlyOnce(p, traffic);
 */
import type { BridgeStats } from '../../../bridge/index.js';
import { createStream, publishSteadily, type Device, type Stream } from './device.js';
import { waitForCommitted, type Platform } from './platform.js';
import { waitFor } from './wait.js';

/** The seeded devices that are active in the registry and the broker, with a matching ACL. */
export const ACTIVE_DEVICES = ['acme-1', 'acme-2', 'globex-1'] as const;

export interface TrafficOptions {
  /** Seeded devices that publish, one stream each. Default ACTIVE_DEVICES. */
  deviceKeys?: readonly string[];
  /** Messages each device publishes. */
  perDevice: number;
  /** All devices together, messages per second. */
  ratePerSecond: number;
  /** Prefix of the message ids (`<tag>-<device>-<i>`). */
  tag: string;
}

export interface Traffic {
  /** Connected devices, in deviceKeys order. */
  devices: Device[];
  /** One stream per device, in the same order. */
  streams: Stream[];
  /** Messages to publish, all devices together. */
  total: number;
  /** Messages handed to the broker so far. */
  published(): number;
  /** True once every message has an answer from the broker. */
  done(): boolean;
  /** Resolves once every message has an answer from the broker. */
  finished: Promise<void>;
}

/** Connects the devices and starts publishing (round robin, steady rate); does not wait for it. */
export async function startTraffic(platform: Platform, options: TrafficOptions): Promise<Traffic> {
  const devices = await Promise.all(
    (options.deviceKeys ?? ACTIVE_DEVICES).map((key) => platform.connect(key)),
  );
  const streams = devices.map((d) =>
    createStream(d, platform.devices[d.username]!.topic, options.perDevice, options.tag),
  );
  let published = 0;
  let done = false;
  const finished = publishSteadily(streams, {
    ratePerSecond: options.ratePerSecond,
    onProgress: (n) => (published = n),
  }).finally(() => (done = true));
  finished.catch(() => undefined); // reported to whoever awaits it, not as an unhandled rejection
  return {
    devices,
    streams,
    total: options.perDevice * streams.length,
    published: () => published,
    done: () => done,
    finished,
  };
}

export interface DrainOptions {
  /** Bound on waiting for the rows to be committed. Default 30 s. */
  timeoutMs?: number;
  /** The bridge's counters. Default: the platform's in-process bridge. */
  stats?: () => BridgeStats | Promise<BridgeStats>;
}

/**
 * Waits for the publishing to finish (when `finished` is given), for public.telemetry to hold every
 * message of the streams and for the bridge to have nothing pending. Resolves with the time that
 * took after the last publish was answered.
 */
export async function drain(
  platform: Platform,
  traffic: { streams: readonly Stream[]; finished?: Promise<void> },
  options: DrainOptions = {},
): Promise<number> {
  const stats =
    options.stats ??
    (() => {
      if (!platform.bridge) throw new Error('drain: no in-process bridge; pass options.stats');
      return platform.bridge.stats();
    });
  await traffic.finished;
  const started = Date.now();
  const expected = traffic.streams.reduce((sum, stream) => sum + stream.ids.length, 0);
  await waitForCommitted(platform, expected, options.timeoutMs ?? 30_000, async () =>
    JSON.stringify(await stats()),
  );
  await waitFor('the bridge to have nothing pending', async () => (await stats()).pending === 0, {
    timeoutMs: 10_000,
  });
  return Date.now() - started;
}
