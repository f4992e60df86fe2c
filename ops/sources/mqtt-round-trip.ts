/**
 * One MQTT round trip through a broker listener (mqtt://, mqtts://, ws://, wss://): connect and
 * authenticate as the uptime probe, subscribe to its own topic, publish a unique message at QoS 1
 * and wait for it to come back. Says which stage failed.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';

export type RoundTripStage = 'connect' | 'subscribe' | 'publish' | 'deliver';

export type RoundTripReading =
  | { ok: true; connectMs: number; roundTripMs: number }
  | { ok: false; stage: RoundTripStage; error: string; elapsedMs: number };

export interface MqttRoundTripSource {
  roundTrip(signal?: AbortSignal): Promise<RoundTripReading>;
}

export function createMqttRoundTripSource(options: {
  url: string;
  username: string;
  password: string;
  /** The probe's own topic (probeTopic()). */
  topic: string;
  /** PEM of a private CA for mqtts:// and wss://. */
  ca?: string;
  protocolVersion?: 4 | 5;
  timeoutMs?: number;
  now?: () => number;
}): MqttRoundTripSource {
  const now = options.now ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    async roundTrip(signal) {
      const started = now();
      const failed = (stage: RoundTripStage, error: unknown): RoundTripReading => ({
        ok: false,
        stage,
        error: error instanceof Error ? error.message : String(error),
        elapsedMs: now() - started,
      });
      let client: mqtt.MqttClient;
      try {
        client = await mqtt.connectAsync(options.url, {
          username: options.username,
          password: options.password,
          clientId: `uptime-${randomBytes(4).toString('hex')}`,
          protocolVersion: options.protocolVersion ?? 5,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: timeoutMs,
          ...(options.ca ? { ca: options.ca } : {}),
        });
      } catch (error) {
        return failed('connect', error);
      }
      const connectMs = now() - started;
      let stage: RoundTripStage = 'subscribe';
      try {
        const marker = randomBytes(8).toString('hex');
        const delivered = new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`not delivered within ${timeoutMs / 1000} s`)),
            timeoutMs,
          );
          signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
          client.on('message', (topic, payload) => {
            if (topic === options.topic && payload.toString() === marker) {
              clearTimeout(timer);
              resolve();
            }
          });
        });
        const granted = await client.subscribeAsync(options.topic, { qos: 1 });
        if (!granted[0] || granted[0].qos > 2)
          throw new Error(`subscription refused (${JSON.stringify(granted[0])})`);
        stage = 'publish';
        const sentAt = now();
        await client.publishAsync(options.topic, marker, { qos: 1 });
        stage = 'deliver';
        await delivered;
        return { ok: true, connectMs, roundTripMs: now() - sentAt };
      } catch (error) {
        return failed(stage, error);
      } finally {
        await client.endAsync(true).catch(() => undefined);
      }
    },
  };
}
