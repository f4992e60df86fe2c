/**
 * The bridge's one subscription (`bridgeSubscription()`, QoS 1) and when it is (re)made. See
 * docs/bridge.md ("Subscription and session").
 *
 * mqtt.js runs with `resubscribe: false`: the bridge decides. It subscribes on a CONNACK without a
 * session (the first connect, or the broker lost it), until a first subscription was granted, and
 * on every connect for a shared subscription: Mosquitto 2.0 restores a persistent session after a
 * restart but not its $share subscription. A refused subscription is retried every 5 s. The bridge
 * never unsubscribes: the persistent session keeps queueing while it is down.
 */
import { bridgeSubscription } from '../common/topics.js';
import { errorText, type Logger } from './log.js';

/** The MQTT client as the subscription needs it (an mqtt.js MqttClient fits). */
export interface SubscribeClient {
  subscribe(
    filter: string,
    options: { qos: 1 },
    callback: (err: Error | null, granted?: Array<{ qos: number }>) => void,
  ): unknown;
}

export interface SubscriptionDeps {
  client: SubscribeClient;
  /** `$share/...` (BRIDGE_MQTT_SHARED) instead of the plain filter. */
  shared: boolean;
  log: Logger;
  /** A refused subscription, for the bridge's `lastError`. */
  onError: (text: string) => void;
}

export interface Subscription {
  readonly filter: string;
  /** Resolves once the subscription was granted the first time. */
  readonly subscribed: Promise<void>;
  /** On every CONNACK: subscribes when the rules above say so. */
  connected(sessionPresent: boolean): void;
  /** No more retries. */
  stop(): void;
}

const RETRY_MS = 5000;

export function createSubscription(deps: SubscriptionDeps): Subscription {
  const { client, log } = deps;
  let subscribedResolve!: () => void;
  const subscribed = new Promise<void>((resolve) => (subscribedResolve = resolve));
  let subscribeOk = false;
  let subscribeTimer: NodeJS.Timeout | undefined;
  let stopping = false;
  const filter = bridgeSubscription(deps.shared);
  const subscribe = (): void => {
    client.subscribe(filter, { qos: 1 }, (err, granted) => {
      const g = granted?.[0];
      if (err || !g || g.qos > 2) {
        const text = `subscribe ${filter} failed: ${err ? errorText(err) : `granted ${String(g?.qos)}`}`;
        deps.onError(text);
        log.error('mqtt_subscribe_failed', { filter, error: text, retryInMs: RETRY_MS });
        if (!stopping) subscribeTimer = setTimeout(subscribe, RETRY_MS);
        return;
      }
      if (g.qos < 1)
        log.warn('mqtt_subscription_downgraded', { filter, qos: g.qos, note: 'QoS 0 messages can be lost' });
      subscribeOk = true;
      log.info('mqtt_subscribed', { filter, qos: g.qos });
      subscribedResolve();
    });
  };

  return {
    filter,
    subscribed,
    connected(sessionPresent) {
      // Subscribe when the broker has no session for us, and always for a shared subscription:
      // Mosquitto 2.0 restores a persistent session after a restart but not its $share subscription.
      if (!sessionPresent || !subscribeOk || deps.shared) {
        if (subscribeTimer) clearTimeout(subscribeTimer);
        subscribe();
      }
    },
    stop() {
      stopping = true;
      if (subscribeTimer) clearTimeout(subscribeTimer);
    },
  };
}
