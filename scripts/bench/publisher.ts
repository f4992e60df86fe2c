/**
 * Benchmark publisher: M device connections publishing pre-built payloads with QoS 1, either as
 * fast as the broker takes them (a bounded window of unacknowledged messages per connection) or
 * at a fixed offered rate. Resolves when every message is PUBACKed.
 */
import mqtt, { type MqttClient } from 'mqtt';

export interface BenchDevice {
  username: string;
  password: string;
  topic: string;
}

export interface PublishPlan {
  url: string;
  devices: BenchDevice[];
  /** payloads[i] is published by devices[i % devices.length]. */
  payloads: (index: number, now: number) => string;
  count: number;
  /** Offered messages per second over all devices; undefined = as fast as possible. */
  rate?: number;
  /** Unacknowledged messages per connection when unthrottled. */
  window?: number;
}

export interface PublishResult {
  published: number;
  firstAt: number;
  lastAckAt: number;
  publishTimes: Float64Array;
}

export async function connectDevices(
  url: string,
  devices: BenchDevice[],
  prefix: string,
): Promise<MqttClient[]> {
  return Promise.all(
    devices.map((d, i) =>
      mqtt.connectAsync(url, {
        username: d.username,
        password: d.password,
        clientId: `${prefix}-${i}`,
        reconnectPeriod: 0,
      }),
    ),
  );
}

export async function publishAll(plan: PublishPlan, clients: MqttClient[]): Promise<PublishResult> {
  const publishTimes = new Float64Array(plan.count);
  const firstAt = Date.now();
  let next = 0;
  const perConnection = async (c: number) => {
    const client = clients[c]!;
    const device = plan.devices[c]!;
    const inflight = new Set<Promise<unknown>>();
    const window = plan.window ?? 200;
    for (let i = c; i < plan.count; i += clients.length) {
      if (plan.rate) {
        const due = firstAt + (i * 1000) / plan.rate;
        const wait = due - Date.now();
        if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      }
      const now = Date.now();
      publishTimes[i] = now;
      const p = client
        .publishAsync(device.topic, plan.payloads(i, now), { qos: 1 })
        .finally(() => inflight.delete(p));
      inflight.add(p);
      next += 1;
      if (inflight.size >= window) await Promise.race(inflight);
    }
    await Promise.all(inflight);
  };
  await Promise.all(clients.map((_, c) => perConnection(c)));
  return { published: next, firstAt, lastAckAt: Date.now(), publishTimes };
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}
