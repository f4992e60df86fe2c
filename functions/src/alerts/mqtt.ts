/**
 * PublishMqtt implementations over mqtt.js: from a client the caller owns, or a lazily connected
 * one for the timer (connects on the first mqtt notification, not on every tick).
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { PublishMqtt } from './types.js';

/** Publishes at QoS 1 through `client`; resolves on PUBACK. Not retained. */
export function mqttPublisher(client: MqttClient): PublishMqtt {
  return async (topic, payload) => {
    await client.publishAsync(topic, payload, { qos: 1, retain: false });
  };
}

export interface LazyMqttPublisher {
  publish: PublishMqtt;
  /** Whether a connection is held now (a lost one is not re-opened until the next publish). */
  readonly connected: boolean;
  close(): Promise<void>;
}

/**
 * A publisher that connects to `url` on first use and keeps the connection for later calls
 * (a Functions instance reuses it across timer ticks). A failed connect is retried on the next use.
 *
 * It never reconnects by itself: on the device listeners the broker replaces the client id by the
 * username, so every holder of the alerts user has the same client id and each connect drops the
 * previous holder (another Functions instance, a second deployment slot). Two clients that both
 * reconnect automatically would take the id from each other forever; this one reconnects only
 * when it has something to publish, so a lost connection costs at most the publishes in flight,
 * which fail at once and are retried by the outbox. `reconnectPeriod` and `clean` are forced
 * (0 and true) for that reason.
 */
export function lazyMqttPublisher(
  url: string,
  options: IClientOptions = {},
  connectTimeoutMs = 10_000,
): LazyMqttPublisher {
  let current: Promise<MqttClient> | null = null;
  let held: MqttClient | null = null;
  const connect = (): Promise<MqttClient> => {
    if (current) return current;
    const attempt: Promise<MqttClient> = mqtt
      .connectAsync(
        url,
        { connectTimeout: connectTimeoutMs, ...options, reconnectPeriod: 0, clean: true },
        false,
      )
      .then(
        (client) => {
          // Errors surface as failed publishes; without a listener an 'error' event would throw.
          client.on('error', () => undefined);
          client.once('close', () => {
            if (current === attempt) current = null;
            if (held === client) held = null;
            // With reconnectPeriod 0 and a clean session, a forced end fails the QoS 1 publishes
            // still waiting for a PUBACK ('Connection closed') instead of leaving them pending.
            client.end(true);
          });
          held = client;
          return client;
        },
        (error: unknown) => {
          if (current === attempt) current = null;
          throw error;
        },
      );
    current = attempt;
    return attempt;
  };
  return {
    publish: async (topic, payload) => {
      const client = await connect();
      await mqttPublisher(client)(topic, payload);
    },
    get connected() {
      return held?.connected ?? false;
    },
    close: async () => {
      const pending = current;
      current = null;
      held = null;
      if (!pending) return;
      const client = await pending.catch(() => null);
      await client?.endAsync();
    },
  };
}
