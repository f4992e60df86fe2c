/**
 * One MQTT round trip through a broker listener (mqtt://, mqtts://, ws://, wss://): connect and
 * authenticate as the uptime probe, subscribe to its own topic, publish a unique message at QoS 1
 * and wait for it to come back. Says which stage failed.
 *
 * On the device listeners the broker replaces the client id by the username, so two round trips
 * as the same user at the same time drop each other: each vantage point (the Functions timer, the
 * GitHub workflows or CLI) needs its own probe user. A dropped connection fails the stage at once
 * and says so, rather than waiting for the delivery timeout.
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
          // A reserved name (svc-): on the loopback listener no device can hold it.
          clientId: `svc-uptime-${randomBytes(4).toString('hex')}`,
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
      const lost = connectionLost(client, options.username);
      let timer: NodeJS.Timeout | undefined;
      try {
        const marker = randomBytes(8).toString('hex');
        const delivered = new Promise<void>((resolve, reject) => {
          timer = setTimeout(
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
        delivered.catch(() => undefined); // an earlier stage may fail first; that one is reported
        const granted = await Promise.race([client.subscribeAsync(options.topic, { qos: 1 }), lost]);
        if (!granted[0] || granted[0].qos > 2)
          throw new Error(`subscription refused (${JSON.stringify(granted[0])})`);
        stage = 'publish';
        const sentAt = now();
        await Promise.race([client.publishAsync(options.topic, marker, { qos: 1 }), lost]);
        stage = 'deliver';
        await Promise.race([delivered, lost]);
        return { ok: true, connectMs, roundTripMs: now() - sentAt };
      } catch (error) {
        return failed(stage, error);
      } finally {
        clearTimeout(timer);
        await client.endAsync(true).catch(() => undefined);
      }
    },
  };
}

/** MQTT 5 DISCONNECT reason: another connection took this client id (2.0.11 just closes). */
const SESSION_TAKEN_OVER = 0x8e;

/** Rejects when the broker closes the connection, with the likely cause. */
function connectionLost(client: mqtt.MqttClient, username: string): Promise<never> {
  let reason: number | undefined;
  client.on('disconnect', (packet) => (reason = packet.reasonCode));
  const lost = new Promise<never>((_, reject) => {
    client.once('close', () => {
      const why =
        reason === SESSION_TAKEN_OVER
          ? 'session taken over (0x8e)'
          : reason === undefined
            ? 'no reason given'
            : `reason 0x${reason.toString(16)}`;
      reject(
        new Error(
          `the broker closed the connection (${why}); on a listener that binds client ids to usernames, another connection as ${username} does this: give each probe vantage point its own user`,
        ),
      );
    });
  });
  lost.catch(() => undefined); // also fires when the round trip ends the client itself
  return lost;
}
