/**
 * Small MQTT client helpers for broker tests: bounded connects, refusals as values, and an inbox
 * that waits for a message with a timeout instead of sleeping.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface Received {
  topic: string;
  payload: Buffer;
}

const CONNECT_TIMEOUT_MS = 3_000;

/** Every client the helpers opened, so afterEach/afterAll can close them all. */
const open = new Set<MqttClient>();

export function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: CONNECT_TIMEOUT_MS, ...options });
  open.add(client);
  inbox(client); // before CONNACK: a resumed session delivers queued messages right after it
  return new Promise((resolve, reject) => {
    const fail = (error: Error) => {
      client.end(true);
      reject(error);
    };
    client.once('connect', () => {
      client.removeListener('error', fail);
      resolve(client);
    });
    client.once('error', fail);
    client.once('close', () => fail(new Error(`connection to ${url} closed before CONNACK`)));
  });
}

/** Resolves with the refusal (e.g. code 5 / 135 "Not authorized"); rejects if the connect succeeds. */
export async function connectRefused(
  url: string,
  options: IClientOptions = {},
): Promise<Error & { code?: number }> {
  const client = await connectClient(url, options).catch((error: Error) => error);
  if (client instanceof Error) return client;
  client.end(true);
  throw new Error(`expected ${url} to refuse ${options.username ?? 'an anonymous client'}, but it connected`);
}

export interface Inbox {
  messages: Received[];
  /** The first message (already received or arriving within timeoutMs) that matches. */
  next(match: (message: Received) => boolean, timeoutMs?: number): Promise<Received>;
}

const inboxes = new WeakMap<MqttClient, Inbox>();

/** The client's inbox: every message since it was created by connectClient. */
export function inbox(client: MqttClient): Inbox {
  const existing = inboxes.get(client);
  if (existing) return existing;
  const messages: Received[] = [];
  const waiters = new Set<() => void>();
  client.on('message', (topic, payload) => {
    messages.push({ topic, payload });
    waiters.forEach((wake) => wake());
  });
  const created: Inbox = {
    messages,
    next(match, timeoutMs = 2_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = messages.find(match);
          if (!found) return false;
          cleanup();
          resolve(found);
          return true;
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `no matching message within ${timeoutMs} ms; got ${messages.map((m) => m.topic).join(', ') || 'none'}`,
            ),
          );
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        if (!check()) waiters.add(check);
      });
    },
  };
  inboxes.set(client, created);
  return created;
}

export async function closeAllClients(): Promise<void> {
  await Promise.all([...open].map((client) => client.endAsync(true).catch(() => undefined)));
  open.clear();
}
