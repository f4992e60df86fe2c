/**
 * The bridge's configuration: one typed options object, validated up front with every problem
 * listed at once, and the mapping from environment variables (`BRIDGE_*`, see docs/bridge.md).
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { deviceCouldClaimClientId } from '../common/topics.js';
import { isLogLevel, type LogLevel } from './log.js';

const KiB = 1024;
const MiB = 1024 * KiB;

export interface BridgeOptions {
  /** Broker URL: mqtt://, mqtts://, ws:// or wss://. No credentials in the URL. */
  mqttUrl: string;
  mqttUsername: string | undefined;
  mqttPassword: string | undefined;
  /** PEM file with the CA that signed the broker's certificate (mqtts/wss with a private CA). */
  mqttCaFile: string | undefined;
  /**
   * Stable MQTT client id: the broker keeps this session (and queues for it) while the bridge is
   * down. Must be out of every device's reach: a reserved name (`bridge-...`, `svc-...`) or the
   * bridge's own username (docs/broker.md, "Client ids").
   */
  clientId: string;
  /** Prefix of the envelope ids sent to ingest (`<bridgeId>:<seq>`). Defaults to clientId. */
  bridgeId: string;
  /** 5 (default) or 4 (MQTT 3.1.1, e.g. aedes). */
  protocolVersion: 4 | 5;
  /**
   * Subscribe through `$share/ingest/...`. Default false: Mosquitto 2.0 does not restore a
   * persistent session's shared subscription after a broker restart, so messages published before
   * the bridge re-subscribes are dropped by the broker (docs/bridge.md). Only for several bridges.
   */
  sharedSubscription: boolean;
  /** MQTT 5 session expiry: how long the broker keeps queueing for a disconnected bridge. */
  sessionExpirySeconds: number;
  keepaliveSeconds: number;
  reconnectPeriodMs: number;

  ingestUrl: string;
  ingestKey: string;
  requestTimeoutMs: number;
  /** zlib level for the request body (1 = cheapest CPU; the VM is the scarce resource). */
  gzipLevel: number;

  journalDir: string;
  /** fdatasync period of the journal: the most a machine power loss can lose. */
  fsyncIntervalMs: number;
  segmentBytes: number;
  maxJournalBytes: number;
  /** Unforwarded messages kept in memory; beyond this they are read back from the journal. */
  maxMemoryMessages: number;
  maxMemoryBytes: number;

  maxBatch: number;
  /** Upper bound of the journal bytes of one batch (the JSON body is about 1.4x that). */
  maxBatchBytes: number;
  /**
   * Latency budget (docs/bridge.md, "Latency budget"): when traffic is light, the oldest message of
   * a batch waits at most this long for more to join it, so one ingest execution carries many
   * messages. Full batches, a nearly full journal and the shutdown flush do not wait. 0: no wait.
   */
  lingerMs: number;
  maxInflightBatches: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Cap on a 503/429 Retry-After the bridge honours. */
  maxRetryAfterMs: number;

  /** Port of the local health server (GET /health, GET /metrics); 0 disables it. */
  healthPort: number;
  healthHost: string;
  /** /health reports degraded when the oldest unforwarded message is older than this. */
  healthMaxPendingAgeMs: number;
  /**
   * The backlog report (pending, oldest age) rides on every request to ingest; when no request
   * went out for this long, an empty batch carries it (heartbeat). The platform's
   * daily.bridge-backlog check fails when reports stop.
   */
  reportIntervalMs: number;
  /** Status JSON written periodically for the ops checks; undefined disables it. */
  statusFile: string | undefined;
  statusIntervalMs: number;
  /** SIGTERM / stop(): how long to keep forwarding before leaving the rest in the journal. */
  shutdownTimeoutMs: number;
  logLevel: LogLevel;
}

export type BridgeOptionsInput = Pick<BridgeOptions, 'mqttUrl' | 'ingestUrl' | 'ingestKey' | 'journalDir'> &
  Partial<Omit<BridgeOptions, 'mqttUrl' | 'ingestUrl' | 'ingestKey' | 'journalDir'>>;

export const DEFAULT_OPTIONS = {
  protocolVersion: 5,
  sharedSubscription: false,
  sessionExpirySeconds: 7 * 24 * 3600,
  keepaliveSeconds: 60,
  reconnectPeriodMs: 1000,
  requestTimeoutMs: 15_000,
  gzipLevel: 1,
  fsyncIntervalMs: 50,
  segmentBytes: 16 * MiB,
  maxJournalBytes: 512 * MiB,
  maxMemoryMessages: 10_000,
  maxMemoryBytes: 8 * MiB,
  maxBatch: 500,
  maxBatchBytes: 1 * MiB,
  lingerMs: 1000,
  maxInflightBatches: 3,
  retryBaseMs: 250,
  retryMaxMs: 30_000,
  maxRetryAfterMs: 300_000,
  healthPort: 0,
  healthHost: '127.0.0.1',
  healthMaxPendingAgeMs: 120_000,
  reportIntervalMs: 30_000,
  statusIntervalMs: 5000,
  shutdownTimeoutMs: 10_000,
  logLevel: 'info',
} as const satisfies Partial<BridgeOptions>;

/** Option name -> environment variable, used by optionsFromEnv and in error messages. */
export const ENV_NAMES: Record<keyof BridgeOptions, string> = {
  mqttUrl: 'BRIDGE_MQTT_URL',
  mqttUsername: 'BRIDGE_MQTT_USERNAME',
  mqttPassword: 'BRIDGE_MQTT_PASSWORD',
  mqttCaFile: 'BRIDGE_MQTT_CA_FILE',
  clientId: 'BRIDGE_MQTT_CLIENT_ID',
  bridgeId: 'BRIDGE_ID',
  protocolVersion: 'BRIDGE_MQTT_PROTOCOL_VERSION',
  sharedSubscription: 'BRIDGE_MQTT_SHARED',
  sessionExpirySeconds: 'BRIDGE_MQTT_SESSION_EXPIRY_S',
  keepaliveSeconds: 'BRIDGE_MQTT_KEEPALIVE_S',
  reconnectPeriodMs: 'BRIDGE_MQTT_RECONNECT_MS',
  ingestUrl: 'BRIDGE_INGEST_URL',
  ingestKey: 'BRIDGE_INGEST_KEY',
  requestTimeoutMs: 'BRIDGE_INGEST_TIMEOUT_MS',
  gzipLevel: 'BRIDGE_GZIP_LEVEL',
  journalDir: 'BRIDGE_JOURNAL_DIR',
  fsyncIntervalMs: 'BRIDGE_FSYNC_INTERVAL_MS',
  segmentBytes: 'BRIDGE_SEGMENT_BYTES',
  maxJournalBytes: 'BRIDGE_MAX_JOURNAL_BYTES',
  maxMemoryMessages: 'BRIDGE_MAX_MEMORY_MESSAGES',
  maxMemoryBytes: 'BRIDGE_MAX_MEMORY_BYTES',
  maxBatch: 'BRIDGE_MAX_BATCH',
  maxBatchBytes: 'BRIDGE_MAX_BATCH_BYTES',
  lingerMs: 'BRIDGE_LINGER_MS',
  maxInflightBatches: 'BRIDGE_MAX_INFLIGHT',
  retryBaseMs: 'BRIDGE_RETRY_BASE_MS',
  retryMaxMs: 'BRIDGE_RETRY_MAX_MS',
  maxRetryAfterMs: 'BRIDGE_MAX_RETRY_AFTER_MS',
  healthPort: 'BRIDGE_HEALTH_PORT',
  healthHost: 'BRIDGE_HEALTH_HOST',
  healthMaxPendingAgeMs: 'BRIDGE_HEALTH_MAX_PENDING_AGE_MS',
  reportIntervalMs: 'BRIDGE_REPORT_INTERVAL_MS',
  statusFile: 'BRIDGE_STATUS_FILE',
  statusIntervalMs: 'BRIDGE_STATUS_INTERVAL_MS',
  shutdownTimeoutMs: 'BRIDGE_SHUTDOWN_TIMEOUT_MS',
  logLevel: 'BRIDGE_LOG_LEVEL',
};

export class BridgeConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid bridge configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'BridgeConfigError';
  }
}

const CLIENT_ID = /^[A-Za-z0-9._-]{1,128}$/;
const BRIDGE_ID = /^[A-Za-z0-9._-]{1,64}$/;
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

export function defaultClientId(): string {
  const host = hostname()
    .toLowerCase()
    .replace(/[^a-z0-9._-]/g, '-')
    .slice(0, 100);
  return `bridge-${host || 'host'}`;
}

interface IntRule {
  min: number;
  max: number;
}

const INT_RULES: Partial<Record<keyof BridgeOptions, IntRule>> = {
  sessionExpirySeconds: { min: 0, max: 0xffffffff },
  keepaliveSeconds: { min: 5, max: 3600 },
  reconnectPeriodMs: { min: 10, max: 600_000 },
  requestTimeoutMs: { min: 100, max: 600_000 },
  gzipLevel: { min: 0, max: 9 },
  fsyncIntervalMs: { min: 1, max: 10_000 },
  segmentBytes: { min: 4 * KiB, max: 1024 * MiB },
  maxJournalBytes: { min: 16 * KiB, max: 2 ** 50 },
  maxMemoryMessages: { min: 1, max: 10_000_000 },
  maxMemoryBytes: { min: 16 * KiB, max: 4096 * MiB },
  maxBatch: { min: 1, max: 10_000 },
  maxBatchBytes: { min: 1 * KiB, max: 64 * MiB },
  lingerMs: { min: 0, max: 60_000 },
  maxInflightBatches: { min: 1, max: 32 },
  retryBaseMs: { min: 1, max: 600_000 },
  retryMaxMs: { min: 1, max: 3_600_000 },
  maxRetryAfterMs: { min: 0, max: 3_600_000 },
  healthPort: { min: 0, max: 65_535 },
  healthMaxPendingAgeMs: { min: 1, max: 86_400_000 },
  // Above 2 min the platform's staleness threshold (5 min) would be within two missed reports.
  reportIntervalMs: { min: 100, max: 120_000 },
  statusIntervalMs: { min: 100, max: 3_600_000 },
  shutdownTimeoutMs: { min: 0, max: 600_000 },
};

function label(key: keyof BridgeOptions): string {
  return `${key} (${ENV_NAMES[key]})`;
}

/** Fills defaults and checks every field; throws BridgeConfigError listing all problems. */
export function validateOptions(input: BridgeOptionsInput): BridgeOptions {
  const problems: string[] = [];
  const o: BridgeOptions = {
    ...DEFAULT_OPTIONS,
    mqttUsername: undefined,
    mqttPassword: undefined,
    mqttCaFile: undefined,
    statusFile: undefined,
    clientId: input.clientId ?? defaultClientId(),
    bridgeId: '',
    ...stripUndefined(input),
  } as BridgeOptions;
  if (!o.bridgeId) o.bridgeId = o.clientId;

  const url = (key: 'mqttUrl' | 'ingestUrl', protocols: string[]): URL | undefined => {
    const raw = o[key];
    if (typeof raw !== 'string' || raw.trim() === '') {
      problems.push(`${label(key)} is required`);
      return undefined;
    }
    let parsed: URL;
    try {
      parsed = new URL(raw);
    } catch {
      problems.push(`${label(key)} is not a valid URL`);
      return undefined;
    }
    if (!protocols.includes(parsed.protocol)) {
      problems.push(`${label(key)} must use one of ${protocols.join(' ')} (got ${parsed.protocol})`);
    }
    if (parsed.username || parsed.password) {
      problems.push(`${label(key)} must not contain credentials; use the username/password or key options`);
    }
    return parsed;
  };
  url('mqttUrl', ['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:']);
  const ingest = url('ingestUrl', ['https:', 'http:']);
  if (ingest && ingest.protocol === 'http:' && !LOOPBACK.has(ingest.hostname)) {
    problems.push(
      `${label('ingestUrl')} must be https unless it points at loopback (the function key is sent with it)`,
    );
  }
  if (typeof o.ingestKey !== 'string' || o.ingestKey === '')
    problems.push(`${label('ingestKey')} is required`);
  if (typeof o.journalDir !== 'string' || o.journalDir === '')
    problems.push(`${label('journalDir')} is required`);
  if (o.mqttPassword !== undefined && o.mqttUsername === undefined) {
    problems.push(`${label('mqttPassword')} is set without ${label('mqttUsername')}`);
  }
  if (typeof o.clientId !== 'string' || !CLIENT_ID.test(o.clientId)) {
    problems.push(`${label('clientId')} must be 1-128 characters of A-Z a-z 0-9 . _ -`);
  } else if (deviceCouldClaimClientId(o.clientId) && o.clientId !== o.mqttUsername) {
    // On the device listeners a client id is the username, i.e. a device key: a device registered
    // under this key would take over the bridge's session (and its queued messages).
    problems.push(
      `${label('clientId')} ${JSON.stringify(o.clientId)} could be a device's key, and a device with that key would take over the bridge's session: start it with 'bridge-' or 'svc-' (reserved, see docs/broker.md), or use the bridge's MQTT username`,
    );
  }
  if (typeof o.bridgeId !== 'string' || !BRIDGE_ID.test(o.bridgeId)) {
    problems.push(`${label('bridgeId')} must be 1-64 characters of A-Z a-z 0-9 . _ -`);
  }
  if (o.protocolVersion !== 4 && o.protocolVersion !== 5) {
    problems.push(`${label('protocolVersion')} must be 4 (MQTT 3.1.1) or 5`);
  }
  if (typeof o.sharedSubscription !== 'boolean')
    problems.push(`${label('sharedSubscription')} must be a boolean`);
  if (typeof o.healthHost !== 'string' || o.healthHost === '')
    problems.push(`${label('healthHost')} is required`);
  if (!isLogLevel(String(o.logLevel)))
    problems.push(`${label('logLevel')} must be debug, info, warn or error`);

  for (const [key, rule] of Object.entries(INT_RULES) as Array<[keyof BridgeOptions, IntRule]>) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < rule.min || v > rule.max) {
      problems.push(`${label(key)} must be an integer from ${rule.min} to ${rule.max} (got ${String(v)})`);
    }
  }
  if (o.segmentBytes * 4 > o.maxJournalBytes) {
    problems.push(
      `${label('segmentBytes')} must be at most a quarter of ${label('maxJournalBytes')} (space is freed a segment at a time)`,
    );
  }
  if (o.retryBaseMs > o.retryMaxMs)
    problems.push(`${label('retryBaseMs')} must not exceed ${label('retryMaxMs')}`);
  if (problems.length) throw new BridgeConfigError(problems);
  return o;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

type Env = Record<string, string | undefined>;

/**
 * Reads BridgeOptionsInput from `BRIDGE_*` variables. Secrets may instead be given as a file
 * (`BRIDGE_MQTT_PASSWORD_FILE`, `BRIDGE_INGEST_KEY_FILE`, e.g. systemd credentials).
 * Then validates; throws BridgeConfigError naming the variables.
 */
export function optionsFromEnv(env: Env = process.env): BridgeOptions {
  const problems: string[] = [];
  const input: Record<string, unknown> = {};
  const str = (key: keyof BridgeOptions): void => {
    const v = env[ENV_NAMES[key]];
    if (v !== undefined && v !== '') input[key] = v;
  };
  const secret = (key: keyof BridgeOptions): void => {
    const name = ENV_NAMES[key];
    const direct = env[name];
    const file = env[`${name}_FILE`];
    if (direct !== undefined && direct !== '' && file) {
      problems.push(`set only one of ${name} and ${name}_FILE`);
    } else if (file) {
      try {
        input[key] = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        problems.push(
          `${name}_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    } else if (direct !== undefined && direct !== '') {
      input[key] = direct;
    }
  };
  for (const key of [
    'mqttUrl',
    'mqttUsername',
    'mqttCaFile',
    'clientId',
    'bridgeId',
    'ingestUrl',
    'journalDir',
  ] as const)
    str(key);
  for (const key of ['healthHost', 'statusFile', 'logLevel'] as const) str(key);
  secret('mqttPassword');
  secret('ingestKey');
  const sharedRaw = env[ENV_NAMES.sharedSubscription];
  if (sharedRaw !== undefined && sharedRaw !== '') {
    const b = parseBool(sharedRaw);
    if (b === undefined)
      problems.push(`${ENV_NAMES.sharedSubscription} must be true or false (got ${sharedRaw})`);
    else input.sharedSubscription = b;
  }
  const ints: Array<keyof BridgeOptions> = [
    'protocolVersion',
    ...(Object.keys(INT_RULES) as Array<keyof BridgeOptions>),
  ];
  for (const key of ints) {
    const raw = env[ENV_NAMES[key]];
    if (raw === undefined || raw.trim() === '') continue;
    const n = parseSize(raw);
    if (n === undefined) problems.push(`${ENV_NAMES[key]} must be an integer (got ${JSON.stringify(raw)})`);
    else input[key] = n;
  }
  let options: BridgeOptions | undefined;
  try {
    options = validateOptions(input as BridgeOptionsInput);
  } catch (err) {
    if (err instanceof BridgeConfigError) problems.push(...err.problems);
    else throw err;
  }
  if (problems.length || !options) throw new BridgeConfigError(problems);
  return options;
}

function parseBool(raw: string): boolean | undefined {
  const v = raw.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return undefined;
}

/** Integer, optionally with a binary size suffix: 512, 16k, 16MiB, 1g. */
export function parseSize(raw: string): number | undefined {
  const m = /^\s*(\d+)\s*(k|kb|kib|m|mb|mib|g|gb|gib)?\s*$/i.exec(raw);
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase()[0];
  const mult = unit === 'k' ? KiB : unit === 'm' ? MiB : unit === 'g' ? 1024 * MiB : 1;
  const n = Number(m[1]) * mult;
  return Number.isSafeInteger(n) ? n : undefined;
}

/** Options for logs: no secrets, URLs without query strings. */
export function describeOptions(o: BridgeOptions): Record<string, unknown> {
  const safeUrl = (u: string): string => {
    try {
      const p = new URL(u);
      return `${p.protocol}//${p.host}${p.pathname}`;
    } catch {
      return '(invalid)';
    }
  };
  return {
    mqttUrl: safeUrl(o.mqttUrl),
    mqttUsername: o.mqttUsername,
    mqttPassword: o.mqttPassword === undefined ? undefined : '(set)',
    clientId: o.clientId,
    bridgeId: o.bridgeId,
    protocolVersion: o.protocolVersion,
    sharedSubscription: o.sharedSubscription,
    ingestUrl: safeUrl(o.ingestUrl),
    ingestKey: '(set)',
    journalDir: o.journalDir,
    fsyncIntervalMs: o.fsyncIntervalMs,
    segmentBytes: o.segmentBytes,
    maxJournalBytes: o.maxJournalBytes,
    maxMemoryMessages: o.maxMemoryMessages,
    maxBatch: o.maxBatch,
    lingerMs: o.lingerMs,
    maxInflightBatches: o.maxInflightBatches,
    healthPort: o.healthPort,
    reportIntervalMs: o.reportIntervalMs,
    statusFile: o.statusFile,
  };
}
