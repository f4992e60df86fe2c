/**
 * Devices as the platform sees them: mqtt.js clients with the device's own credentials, QoS 1.
 *
 * - A message counts as published only once the broker PUBACKed it with success.
 * - A refusal (PUBACK reason >= 0x80, e.g. 0x87 Not authorized) is recorded, never retried.
 * - A message not acknowledged when the connection drops is resent by mqtt.js after the
 *   reconnect (its outgoing store keeps it, same packet, same bytes); if mqtt.js gives up on it
 *   with an error that is not a refusal, the device publishes the same bytes again. The payload
 *   carries a message id, so ingest stores it once whichever copy arrives (idempotency key
 *   device, ts, id).
 *
 * Also: a raw MQTT 5 publish over a plain socket, for answers mqtt.js cannot show (Mosquitto
 * answers an oversize PUBLISH with PUBACK 0x95, which mqtt-packet rejects as an invalid reason
 * code before mqtt.js sees it: the publish callback is never called).
 */
import { randomBytes } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { delay } from './wait.js';

export const REASON_NOT_AUTHORIZED = 0x87;
export const REASON_PACKET_TOO_LARGE = 0x95;

export type PublishOutcome = { kind: 'acked' } | { kind: 'refused'; code: number; message: string };

export interface DeviceCredentials {
  username: string;
  password: string;
}

export interface Device {
  readonly username: string;
  readonly client: MqttClient;
  /** Connection losses seen (the broker restarting, for example). */
  readonly closes: number;
  /** Errors the client emitted (stream errors, protocol errors). */
  readonly errors: string[];
  /** Publishes not answered yet (in flight, or queued by mqtt.js while disconnected). */
  readonly unanswered: number;
  /** Publishes QoS 1 until the broker answers: PUBACK success or a refusal. */
  publish(
    topic: string,
    payload: Buffer | string,
    options?: { retryMs?: number; deadlineMs?: number },
  ): Promise<PublishOutcome>;
  end(): Promise<void>;
}

const open = new Set<MqttClient>();

export async function connectDevice(
  url: string,
  credentials: DeviceCredentials,
  options: IClientOptions = {},
): Promise<Device> {
  const client = mqtt.connect(url, {
    clientId: `${credentials.username}-${randomBytes(4).toString('hex')}`,
    username: credentials.username,
    password: credentials.password,
    protocolVersion: 5,
    clean: true,
    keepalive: 30,
    reconnectPeriod: 250,
    connectTimeout: 5_000,
    ...options,
  });
  open.add(client);
  let closes = 0;
  const errors: string[] = [];
  client.on('close', () => (closes += 1));
  client.on('error', (error) => errors.push(error.message));
  await new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      clearTimeout(timer);
      client.removeListener('connect', connected);
      open.delete(client);
      client.end(true);
      reject(new Error(`${credentials.username}: connect to ${url} failed: ${error.message}`));
    };
    const connected = () => {
      clearTimeout(timer);
      client.removeListener('error', fail);
      resolve();
    };
    const timer = setTimeout(() => fail(new Error('no CONNACK within 5 s')), 5_000);
    client.once('connect', connected);
    client.once('error', fail);
  });

  let unanswered = 0;
  const publishOnce = (topic: string, payload: Buffer | string): Promise<PublishOutcome | Error> =>
    new Promise((resolve) => {
      unanswered += 1;
      client.publish(topic, payload, { qos: 1 }, (error) => {
        unanswered -= 1;
        if (!error) return resolve({ kind: 'acked' });
        const code = (error as Error & { code?: unknown }).code;
        if (typeof code === 'number' && code >= 0x80)
          return resolve({ kind: 'refused', code, message: error.message });
        resolve(error);
      });
    });

  return {
    username: credentials.username,
    client,
    get closes() {
      return closes;
    },
    errors,
    get unanswered() {
      return unanswered;
    },
    async publish(topic, payload, { retryMs = 250, deadlineMs = 60_000 } = {}) {
      const deadline = Date.now() + deadlineMs;
      const noAnswer = (why: string) =>
        new Error(
          `${credentials.username}: no PUBACK for a message on ${topic} within ${deadlineMs} ms: ${why}`,
        );
      for (;;) {
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          publishOnce(topic, payload),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(noAnswer('no answer at all')),
              Math.max(0, deadline - Date.now()),
            );
          }),
        ]).finally(() => clearTimeout(timer));
        if (!(outcome instanceof Error)) return outcome;
        if (Date.now() > deadline) throw noAnswer(outcome.message);
        await delay(retryMs); // same bytes again: ingest dedups by (device, ts, id)
      }
    },
    async end() {
      open.delete(client);
      await client.endAsync(true).catch(() => undefined);
    },
  };
}

export async function endAllDevices(): Promise<void> {
  const clients = [...open];
  open.clear();
  await Promise.all(clients.map((client) => client.endAsync(true).catch(() => undefined)));
}

// ---- telemetry streams ----------------------------------------------------------------------

/** The valid messages one device publishes in a scenario, and which of them the broker PUBACKed. */
export interface Stream {
  device: Device;
  topic: string;
  /** Message ids in publishing order. */
  ids: string[];
  /** Ids the broker acknowledged with success. */
  acked: Set<string>;
  /** Ids the broker refused, with the reason code. */
  refused: Map<string, number>;
}

export function telemetryPayload(id: string, ts: number, index: number): string {
  return JSON.stringify({
    ts,
    id,
    metrics: { seq: index, temperature: 20 + (index % 17) / 2, ok: index % 2 === 0 },
  });
}

export function createStream(device: Device, topic: string, count: number, tag: string): Stream {
  const ids = Array.from({ length: count }, (_, i) => `${tag}-${device.username}-${i}`);
  return { device, topic, ids, acked: new Set(), refused: new Map() };
}

/**
 * Publishes the streams' messages round robin at a steady total rate (messages per second), each
 * message until the broker answered it. `ts` of message i is `tsBase + i` (unique per device,
 * never ahead of the clock when the rate is under 1,000/s). Resolves when every message has an answer.
 */
export async function publishSteadily(
  streams: Stream[],
  options: {
    ratePerSecond: number;
    now?: () => number;
    tickMs?: number;
    onProgress?: (published: number) => void;
  },
): Promise<void> {
  const now = options.now ?? Date.now;
  const tsBase = now();
  const order = streams.flatMap((stream, s) =>
    stream.ids.map((id, i) => ({ stream, id, i, key: i * streams.length + s })),
  );
  order.sort((a, b) => a.key - b.key);
  const started = now();
  const answers: Promise<void>[] = [];
  let next = 0;
  while (next < order.length) {
    const due = Math.min(order.length, Math.floor(((now() - started) * options.ratePerSecond) / 1000) + 1);
    for (; next < due; next += 1) {
      const { stream, id, i } = order[next]!;
      const payload = telemetryPayload(id, tsBase + i, i);
      answers.push(
        stream.device.publish(stream.topic, payload).then((outcome) => {
          if (outcome.kind === 'acked') stream.acked.add(id);
          else stream.refused.set(id, outcome.code);
        }),
      );
    }
    options.onProgress?.(next);
    if (next < order.length) await delay(options.tickMs ?? 10);
  }
  await Promise.all(answers);
}

// ---- raw MQTT 5 ------------------------------------------------------------------------------

function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}

const str = (s: string | Buffer): Buffer => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
};

const packet = (first: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([first]), varint(body.length), body]);

/** Splits complete MQTT packets off the front of `buffer`. */
function readPackets(buffer: Buffer): { packets: { type: number; body: Buffer }[]; rest: Buffer } {
  const packets: { type: number; body: Buffer }[] = [];
  let offset = 0;
  for (;;) {
    if (buffer.length - offset < 2) break;
    let length = 0;
    let multiplier = 1;
    let pos = offset + 1;
    let complete = false;
    while (pos < buffer.length) {
      const byte = buffer[pos++]!;
      length += (byte & 0x7f) * multiplier;
      multiplier *= 128;
      if ((byte & 0x80) === 0) {
        complete = true;
        break;
      }
    }
    if (!complete || buffer.length - pos < length) break;
    packets.push({ type: buffer[offset]! >> 4, body: buffer.subarray(pos, pos + length) });
    offset = pos + length;
  }
  return { packets, rest: buffer.subarray(offset) };
}

/**
 * Connects with MQTT 5 over a plain socket, publishes one QoS 1 message and returns the PUBACK's
 * reason code (0 = success). Rejects when the broker closes the connection or does not answer.
 */
export function rawPublishV5(
  url: string,
  credentials: DeviceCredentials,
  topic: string,
  payload: Buffer,
  timeoutMs = 5_000,
): Promise<number> {
  const { hostname, port } = new URL(url);
  const clientId = `raw-${credentials.username}-${randomBytes(4).toString('hex')}`;
  const connectBody = Buffer.concat([
    str('MQTT'),
    Buffer.from([5, 0xc2, 0, 30]), // level 5; flags: username, password, clean start; keepalive 30
    varint(0), // no properties
    str(clientId),
    str(credentials.username),
    str(credentials.password),
  ]);
  const packetId = 1;
  const publishBody = Buffer.concat([
    str(topic),
    Buffer.from([packetId >> 8, packetId & 0xff]),
    varint(0),
    payload,
  ]);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    let buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (error: Error | null, code?: number) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!error) socket.end(Buffer.from([0xe0, 0])); // DISCONNECT
      socket.destroy();
      if (error) reject(error);
      else resolve(code!);
    };
    const timer = setTimeout(
      () => finish(new Error(`raw MQTT 5: no PUBACK within ${timeoutMs} ms`)),
      timeoutMs,
    );
    socket.once('connect', () => socket.write(packet(0x10, connectBody)));
    socket.on('error', (error) => finish(error));
    socket.once('close', () =>
      finish(new Error('raw MQTT 5: the broker closed the connection before the PUBACK')),
    );
    socket.on('data', (chunk: Buffer) => {
      const parsed = readPackets(Buffer.concat([buffer, chunk]));
      buffer = Buffer.from(parsed.rest);
      for (const { type, body } of parsed.packets) {
        if (type === 2) {
          const reason = body[1] ?? 0;
          if (reason !== 0)
            return finish(new Error(`raw MQTT 5: CONNACK refused with 0x${reason.toString(16)}`));
          socket.write(packet(0x32, publishBody)); // PUBLISH, QoS 1
        } else if (type === 4) {
          // PUBACK: packet id, then the reason code (absent = 0 success).
          return finish(null, body.length > 2 ? body[2]! : 0);
        }
      }
    });
  });
}
