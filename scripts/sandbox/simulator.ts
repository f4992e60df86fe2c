/**
 * Device simulator: one MQTT connection per device with its own credentials, QoS 1. Readings
 * follow a slow wave with an occasional excursion past the alert thresholds; a small share of
 * messages is deliberately invalid so the dead-letter path is always exercised.
 */
import mqtt, { type MqttClient } from 'mqtt';
import type { LocalDevice } from '../../common/local-env.js';

export interface SimulatorOptions {
  url: string;
  devices: LocalDevice[];
  /** Messages per second per device. */
  ratePerDevice: number;
  /** Stop after this many messages per device (undefined: until stop()). */
  messagesPerDevice?: number;
  /** Every n-th message of a device is invalid (0: never). */
  invalidEvery?: number;
  clock?: () => number;
  mqttOptions?: mqtt.IClientOptions;
}

export interface SimulatorTally {
  /** PUBACKed by the broker, per tenant. */
  published: Record<string, { valid: number; invalid: number }>;
  errors: number;
}

export interface Simulator {
  done: Promise<SimulatorTally>;
  tally(): SimulatorTally;
  stop(): Promise<SimulatorTally>;
}

export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const clock = options.clock ?? Date.now;
  const tally: SimulatorTally = { published: {}, errors: 0 };
  let stopping = false;
  const clients: MqttClient[] = [];
  for (const device of options.devices) {
    tally.published[device.tenant] ??= { valid: 0, invalid: 0 };
    clients.push(
      await mqtt.connectAsync(options.url, {
        username: device.username,
        password: device.password,
        clientId: `sim-${device.username}`,
        reconnectPeriod: 500,
        ...options.mqttOptions,
      }),
    );
  }

  const runDevice = async (device: LocalDevice, client: MqttClient, index: number) => {
    const interval = 1000 / options.ratePerDevice;
    let next = clock() + (index * interval) / options.devices.length;
    for (
      let n = 1;
      !stopping && (options.messagesPerDevice === undefined || n <= options.messagesPerDevice);
      n++
    ) {
      const invalid = options.invalidEvery ? n % options.invalidEvery === 0 : false;
      const payload = invalid ? invalidPayload(n) : reading(device, n, clock());
      try {
        await client.publishAsync(device.topic, payload, { qos: 1 });
        tally.published[device.tenant]![invalid ? 'invalid' : 'valid'] += 1;
      } catch {
        tally.errors += 1;
      }
      next += interval;
      const wait = next - clock();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };

  const done = Promise.all(options.devices.map((d, i) => runDevice(d, clients[i]!, i))).then(() => tally);
  return {
    done,
    tally: () => tally,
    async stop() {
      stopping = true;
      await done;
      await Promise.all(clients.map((c) => c.endAsync()));
      return tally;
    },
  };
}

/** A reading: temperature waves around 22 and spikes past 30 on every 40th message of sensor 1s. */
export function reading(device: LocalDevice, n: number, now: number): string {
  const spike = device.deviceId.endsWith('-1') && n % 40 >= 30 && n % 40 < 34;
  const temperature = spike ? 31 + (n % 3) : 22 + 3 * Math.sin(n / 7);
  const humidity = 55 + 20 * Math.sin(n / 11) + (spike ? 15 : 0);
  return JSON.stringify({
    ts: now,
    id: `${device.deviceId}-${n}`,
    metrics: { temperature: round(temperature), humidity: round(humidity), battery: round(100 - n / 100) },
  });
}

function invalidPayload(n: number): string {
  const kinds = [
    'not json',
    JSON.stringify({ metrics: { temperature: 1 } }),
    JSON.stringify({ ts: 0, metrics: { t: 1 } }),
  ];
  return kinds[n % kinds.length]!;
}

const round = (x: number) => Math.round(x * 100) / 100;
