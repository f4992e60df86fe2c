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
  close(): Promise<void>;
}

/**
 * A publisher that connects to `url` on first use and keeps the connection for later calls
 * (a Functions instance reuses it across timer ticks). A failed connect is retried on the next use.
 */
export function lazyMqttPublisher(
  url: string,
  options: IClientOptions = {},
  connectTimeoutMs = 10_000,
): LazyMqttPublisher {
  let connecting: Promise<MqttClient> | null = null;
  const connect = (): Promise<MqttClient> => {
    connecting ??= mqtt
      .connectAsync(
        url,
        { connectTimeout: connectTimeoutMs, reconnectPeriod: 1000, clean: true, ...options },
        false,
      )
      .catch((error: unknown) => {
        connecting = null;
        throw error;
      });
    return connecting;
  };
  return {
    publish: async (topic, payload) => {
      const client = await connect();
      await mqttPublisher(client)(topic, payload);
    },
    close: async () => {
      const pending = connecting;
      connecting = null;
      if (!pending) return;
      const client = await pending.catch(() => null);
      await client?.endAsync();
    },
  };
}
