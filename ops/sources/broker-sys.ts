/**
 * The broker's own counters from Mosquitto's `$SYS` tree, read as the ops probe user (the ACL gives
 * it `read $SYS/#`, broker/acl.ts). Mosquitto publishes them retained every `sys_interval` seconds
 * (the role's `mosquitto_sys_interval`), so a new subscriber usually gets them at once; the
 * timeout names the topics that never came.
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { redactUrl } from '../../common/redact-url.js';

export interface BrokerStats {
  /** Connected clients, this reader included when the value was published after it connected. */
  clientsConnected: number;
  /** Mosquitto's 1-minute moving average of PUBLISHes received, per minute. */
  messagesReceivedPerMin: number;
  messagesSentPerMin: number;
}

export interface BrokerSysSource {
  broker(signal?: AbortSignal): Promise<BrokerStats>;
}

export interface BrokerSysOptions {
  url: string;
  username: string;
  password: string;
  /** PEM of a private CA for mqtts:// and wss://. */
  ca?: string;
  protocolVersion?: 4 | 5;
  /** Bound on connecting and on waiting for the topics; above the broker's sys_interval. Default 25 s. */
  timeoutMs?: number;
}

export const SYS_TOPICS = {
  clientsConnected: '$SYS/broker/clients/connected',
  messagesReceivedPerMin: '$SYS/broker/load/messages/received/1min',
  messagesSentPerMin: '$SYS/broker/load/messages/sent/1min',
} as const satisfies Record<keyof BrokerStats, string>;

export function createBrokerSysSource(options: BrokerSysOptions): BrokerSysSource {
  if (!/^(mqtts?|wss?):\/\//.test(options.url))
    throw new Error(`broker $SYS source: ${redactUrl(options.url)} is not an mqtt(s):// or ws(s):// URL`);
  if (!options.username || !options.password)
    throw new Error('broker $SYS source: the probe username and password are required');
  const timeoutMs = options.timeoutMs ?? 25_000;
  const where = redactUrl(options.url);
  const byTopic = new Map<string, keyof BrokerStats>(
    Object.entries(SYS_TOPICS).map(([key, topic]) => [topic, key as keyof BrokerStats]),
  );

  return {
    async broker(signal) {
      if (signal?.aborted) throw new Error(`reading $SYS from ${where} aborted`);
      const client = await mqtt
        .connectAsync(options.url, {
          username: options.username,
          password: options.password,
          // A reserved name (svc-): on the loopback listener no device can hold it.
          clientId: `svc-ops-sys-${randomBytes(4).toString('hex')}`,
          protocolVersion: options.protocolVersion ?? 5,
          clean: true,
          reconnectPeriod: 0,
          connectTimeout: timeoutMs,
          ...(options.ca ? { ca: options.ca } : {}),
        })
        .catch((error: unknown) => {
          throw new Error(
            `cannot connect to ${where} as ${options.username}: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
      let timer: NodeJS.Timeout | undefined;
      let onAbort: (() => void) | undefined;
      try {
        const values: Partial<BrokerStats> = {};
        const received = new Promise<BrokerStats>((resolve, reject) => {
          const missing = () =>
            Object.values(SYS_TOPICS).filter((topic) => values[byTopic.get(topic)!] === undefined);
          timer = setTimeout(
            () =>
              reject(
                new Error(
                  `no ${missing().join(', ')} from ${where} within ${timeoutMs / 1000} s: ` +
                    `does the ACL give ${options.username} read on $SYS/# and is sys_interval shorter?`,
                ),
              ),
            timeoutMs,
          );
          onAbort = () => reject(new Error(`reading $SYS from ${where} aborted`));
          signal?.addEventListener('abort', onAbort, { once: true });
          client.on('message', (topic, payload) => {
            const key = byTopic.get(topic);
            if (!key) return;
            const value = Number(payload.toString('utf8').trim());
            if (!Number.isFinite(value)) return;
            values[key] = value;
            if (missing().length === 0) resolve(values as BrokerStats);
          });
        });
        received.catch(() => undefined); // a refused subscription throws first; the rejection is handled there
        const granted = await client.subscribeAsync(Object.values(SYS_TOPICS), { qos: 0 });
        const refused = granted.filter((g) => g.qos > 2).map((g) => g.topic);
        if (refused.length > 0)
          throw new Error(`${where} refused ${options.username} the subscription to ${refused.join(', ')}`);
        return await received;
      } finally {
        clearTimeout(timer);
        if (onAbort) signal?.removeEventListener('abort', onAbort);
        await client.endAsync(true).catch(() => undefined);
      }
    },
  };
}
