/**
 * The Functions app's settings (Function App application settings, i.e. environment variables),
 * read and validated here and nowhere else, once per instance.
 *
 * database (every function):
 *   DATABASE_URL           required: Postgres (Supabase pooler in production; session mode, or
 *                          transaction mode on 6543: we use no named prepared statements)
 *   DATABASE_POOL_MAX      pool size per instance (default 4)
 * alerts (alerts_timer):
 *   ALERTS_MQTT_URL        broker for mqtt channels (mqtts://host:8883); unset: mqtt rows retry, then fail
 *   ALERTS_MQTT_USERNAME   the platform's publisher identity (ACL: write t/+/alerts)
 *   ALERTS_MQTT_PASSWORD
 *   ALERTS_MQTT_CA_PEM     optional CA certificate (PEM) for a private broker CA
 *   ALERTS_WEBHOOK_ALLOW_PRIVATE   1: webhooks may target private/loopback addresses (sandbox only); default 0
 * probe (uptime_probe):
 *   PROBE_MQTT_LISTENERS   required: name=url pairs, comma separated: tls=mqtts://mqtt.example.com:8883,websocket=wss://...
 *   PROBE_MQTT_USERNAME    required: the ops probe's broker user (ACL: its own ops/probe/<user> topic)
 *   PROBE_MQTT_PASSWORD    required
 *   PROBE_ENDPOINTS        optional name=url pairs of HTTP endpoints that must answer 2xx/3xx/401
 *   PROBE_HEALTH_URL       optional: the Functions app's own health endpoint
 *   GITHUB_REPOSITORY      owner/name that receives repository_dispatch on a state change
 *   GITHUB_DISPATCH_TOKEN  a token allowed to create repository dispatch events (contents: write)
 *   GITHUB_API_URL         optional, default https://api.github.com
 *   Without the GitHub pair the probe still records; it just tells no one.
 * archive (archive_timer, daily; docs/archive.md):
 *   ARCHIVE_MODE           disabled (default: nothing exported, nothing deleted), enabled, or
 *                          purge-without-archive (rows past retention deleted with no copy)
 *   ARCHIVE_STORAGE_CONNECTION_STRING   enabled: the storage account of the archive container
 *   ARCHIVE_CONTAINER      enabled: the container (default archive)
 *   ARCHIVE_RETENTION_DAYS optional cap on every tenant's retention (plan, override)
 *   ARCHIVE_PURGE_REASON   purge-without-archive: why; repeated in every report of a deletion
 *   ARCHIVE_PARTITIONS_AHEAD_DAYS   future day partitions kept created (default 7; every mode)
 *   ARCHIVE_HOURLY_RETENTION_DAYS   optional, enabled or purging: the hourly rollup's hours older
 *                                   than this leave (31 or more; unset: kept for ever)
 *   ARCHIVE_TIME_BUDGET_SECONDS     no new work after this long (default 240, within functionTimeout)
 *
 * An empty value is an unset one. A function fails only for problems in the sections it uses (a
 * broken probe setting must not stop ingest); index.ts logs every problem of every section at
 * start. Problems name the variable, never its value: most are secrets or URLs with credentials.
 */
import { MIN_HOURLY_RETENTION_DAYS } from '../../common/archive/trim-hourly.js';

export interface DatabaseSettings {
  url: string;
  poolMax: number;
}

export interface AlertsSettings {
  /** null: notifications on mqtt channels retry, then fail. */
  mqtt: { url: string; username?: string; password?: string; ca?: string } | null;
  allowPrivateWebhookTargets: boolean;
}

export interface ProbeSettings {
  listeners: { name: string; url: string }[];
  username: string;
  password: string;
  endpoints: { name: string; url: string }[];
  healthUrl?: string;
  github?: { repository: string; token: string; apiUrl: string };
  /** MQTT 5 unless the broker speaks only 3.1.1 (the sandbox's embedded one; never from settings). */
  protocolVersion?: 4 | 5;
}

export interface ArchiveSettings {
  mode: 'disabled' | 'enabled' | 'purge-without-archive';
  /** enabled: where objects go. */
  store?: { connectionString: string; container: string };
  retentionDays?: number;
  purgeReason?: string;
  partitionsAheadDays: number;
  hourlyRetentionDays?: number;
  timeBudgetSeconds: number;
}

export interface Settings {
  database: DatabaseSettings;
  alerts: AlertsSettings;
  probe: ProbeSettings;
  archive: ArchiveSettings;
}

export type Section = keyof Settings;
export const SECTIONS: readonly Section[] = ['database', 'alerts', 'probe', 'archive'];

type Env = Readonly<Record<string, string | undefined>>;

/** Every section parsed: its settings, or the problems that keep it from being used. */
export type ParsedSettings = {
  [K in Section]: { ok: true; value: Settings[K] } | { ok: false; problems: string[] };
};

export class SettingsError extends Error {
  constructor(readonly problems: string[]) {
    super(`Function App settings: ${problems.join('; ')}`);
    this.name = 'SettingsError';
  }
}

/** Never throws: every problem of every section is collected. */
export function parseSettings(env: Env): ParsedSettings {
  return {
    database: section(env, parseDatabase),
    alerts: section(env, parseAlerts),
    probe: section(env, parseProbe),
    archive: section(env, parseArchive),
  };
}

/** The sections asked for, or one error listing every problem among them. */
export function pickSettings<K extends Section>(
  parsed: ParsedSettings,
  sections: readonly K[],
): Pick<Settings, K> {
  const error = settingsError(parsed, sections);
  if (error) throw error;
  const value = (s: K) => (parsed[s] as { value: Settings[K] }).value;
  return Object.fromEntries(sections.map((s) => [s, value(s)])) as Pick<Settings, K>;
}

export function settingsError(
  parsed: ParsedSettings,
  sections: readonly Section[] = SECTIONS,
): SettingsError | null {
  const problems = sections.flatMap((s) => {
    const p = parsed[s];
    return p.ok ? [] : p.problems;
  });
  return problems.length ? new SettingsError(problems) : null;
}

let fromProcess: ParsedSettings | undefined;

/** process.env, parsed once: Azure restarts the app when its settings change. */
export function processSettings(): ParsedSettings {
  return (fromProcess ??= parseSettings(process.env));
}

/** What an adapter uses: `settings('database', 'probe')`. */
export function settings<K extends Section>(...sections: K[]): Pick<Settings, K> {
  return pickSettings(processSettings(), sections);
}

function section<T>(
  env: Env,
  parse: (read: (name: string) => string | undefined, problems: string[]) => T,
): { ok: true; value: T } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const value = parse((name) => env[name] || undefined, problems);
  return problems.length ? { ok: false, problems } : { ok: true, value };
}

function parseDatabase(read: (name: string) => string | undefined, problems: string[]): DatabaseSettings {
  const url = read('DATABASE_URL');
  if (!url) problems.push('DATABASE_URL is not set');
  else if (!isUrl(url, ['postgres:', 'postgresql:'])) problems.push('DATABASE_URL is not a postgres:// URL');
  const poolMax = read('DATABASE_POOL_MAX');
  if (poolMax !== undefined && !/^[1-9][0-9]{0,3}$/.test(poolMax))
    problems.push('DATABASE_POOL_MAX must be a whole number from 1 to 9999');
  return { url: url ?? '', poolMax: poolMax ? Number(poolMax) : 4 };
}

function parseAlerts(read: (name: string) => string | undefined, problems: string[]): AlertsSettings {
  const url = read('ALERTS_MQTT_URL');
  const username = read('ALERTS_MQTT_USERNAME');
  const password = read('ALERTS_MQTT_PASSWORD');
  const ca = read('ALERTS_MQTT_CA_PEM');
  if (url && !isUrl(url, MQTT_PROTOCOLS))
    problems.push('ALERTS_MQTT_URL is not an mqtt(s):// or ws(s):// URL');
  if (!url) {
    // Credentials without a broker: the operator meant to enable mqtt channels.
    for (const [name, value] of [
      ['ALERTS_MQTT_USERNAME', username],
      ['ALERTS_MQTT_PASSWORD', password],
      ['ALERTS_MQTT_CA_PEM', ca],
    ] as const)
      if (value) problems.push(`${name} is set but ALERTS_MQTT_URL is not`);
  }
  if (password && !username) problems.push('ALERTS_MQTT_PASSWORD is set but ALERTS_MQTT_USERNAME is not');
  if (ca && !ca.includes('-----BEGIN CERTIFICATE-----'))
    problems.push('ALERTS_MQTT_CA_PEM is not a PEM certificate');
  const allowPrivate = read('ALERTS_WEBHOOK_ALLOW_PRIVATE');
  if (allowPrivate !== undefined && allowPrivate !== '0' && allowPrivate !== '1')
    problems.push('ALERTS_WEBHOOK_ALLOW_PRIVATE must be 1 or 0');
  return {
    mqtt: url ? { url, username, password, ca } : null,
    allowPrivateWebhookTargets: allowPrivate === '1',
  };
}

function parseProbe(read: (name: string) => string | undefined, problems: string[]): ProbeSettings {
  const listeners = pairs('PROBE_MQTT_LISTENERS', read('PROBE_MQTT_LISTENERS'), MQTT_PROTOCOLS, problems);
  if (!read('PROBE_MQTT_LISTENERS')) problems.push('PROBE_MQTT_LISTENERS is not set');
  const username = read('PROBE_MQTT_USERNAME') ?? '';
  const password = read('PROBE_MQTT_PASSWORD') ?? '';
  if (!username) problems.push('PROBE_MQTT_USERNAME is not set');
  if (!password) problems.push('PROBE_MQTT_PASSWORD is not set');
  const endpoints = pairs('PROBE_ENDPOINTS', read('PROBE_ENDPOINTS'), HTTP_PROTOCOLS, problems);
  const healthUrl = read('PROBE_HEALTH_URL');
  if (healthUrl && !isUrl(healthUrl, HTTP_PROTOCOLS))
    problems.push('PROBE_HEALTH_URL is not an http(s):// URL');
  const repository = read('GITHUB_REPOSITORY');
  const token = read('GITHUB_DISPATCH_TOKEN');
  const apiUrl = read('GITHUB_API_URL') ?? 'https://api.github.com';
  let github: ProbeSettings['github'];
  if (repository || token) {
    if (!/^[\w.-]+\/[\w.-]+$/.test(repository ?? '')) problems.push('GITHUB_REPOSITORY must be owner/name');
    if (!token) problems.push('GITHUB_DISPATCH_TOKEN is not set (GITHUB_REPOSITORY is)');
    if (!isUrl(apiUrl, HTTP_PROTOCOLS)) problems.push('GITHUB_API_URL is not an http(s):// URL');
    github = { repository: repository ?? '', token: token ?? '', apiUrl };
  }
  return { listeners, username, password, endpoints, healthUrl, github };
}

function parseArchive(read: (name: string) => string | undefined, problems: string[]): ArchiveSettings {
  const mode = read('ARCHIVE_MODE') ?? 'disabled';
  if (mode !== 'disabled' && mode !== 'enabled' && mode !== 'purge-without-archive')
    problems.push('ARCHIVE_MODE must be disabled, enabled or purge-without-archive');
  const days = (name: string, min: number, max: number, fallback?: number) => {
    const value = read(name);
    if (value === undefined) return fallback;
    if (!/^[0-9]{1,5}$/.test(value) || Number(value) < min || Number(value) > max) {
      problems.push(`${name} must be a whole number from ${min} to ${max}`);
      return fallback;
    }
    return Number(value);
  };
  const connectionString = read('ARCHIVE_STORAGE_CONNECTION_STRING');
  const container = read('ARCHIVE_CONTAINER') ?? 'archive';
  if (mode === 'enabled') {
    if (!connectionString)
      problems.push('ARCHIVE_STORAGE_CONNECTION_STRING is not set (ARCHIVE_MODE is enabled)');
    else if (!/AccountName=|BlobEndpoint=/i.test(connectionString))
      problems.push('ARCHIVE_STORAGE_CONNECTION_STRING is not a storage connection string');
    if (!/^(?!.*--)[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(container))
      problems.push(
        'ARCHIVE_CONTAINER is not a container name (3-63 lowercase letters, digits, single hyphens)',
      );
  }
  const purgeReason = read('ARCHIVE_PURGE_REASON');
  if (mode === 'purge-without-archive' && !purgeReason)
    problems.push('ARCHIVE_PURGE_REASON is not set (ARCHIVE_MODE is purge-without-archive)');
  return {
    mode: mode as ArchiveSettings['mode'],
    store: mode === 'enabled' && connectionString ? { connectionString, container } : undefined,
    retentionDays: days('ARCHIVE_RETENTION_DAYS', 1, 36500),
    purgeReason,
    partitionsAheadDays: days('ARCHIVE_PARTITIONS_AHEAD_DAYS', 1, 60, 7)!,
    hourlyRetentionDays: days('ARCHIVE_HOURLY_RETENTION_DAYS', MIN_HOURLY_RETENTION_DAYS, 36500),
    timeBudgetSeconds: days('ARCHIVE_TIME_BUDGET_SECONDS', 10, 86400, 240)!,
  };
}

const MQTT_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];
const HTTP_PROTOCOLS = ['http:', 'https:'];

function isUrl(value: string, protocols: readonly string[]): boolean {
  return URL.canParse(value) && protocols.includes(new URL(value).protocol);
}

/** `name=url,name=url`; names become check ids, so they are checked and may be named in problems. */
function pairs(name: string, value: string | undefined, protocols: readonly string[], problems: string[]) {
  if (!value) return [];
  const seen = new Set<string>();
  return value.split(',').flatMap((pair, i) => {
    const eq = pair.indexOf('=');
    const key = pair.slice(0, eq).trim();
    const url = pair.slice(eq + 1).trim();
    if (eq < 1 || !/^[a-z][a-z0-9-]*$/.test(key) || !isUrl(url, protocols)) {
      const schemes = protocols.map((p) => p.slice(0, -1)).join(', ');
      problems.push(`${name}: entry ${i + 1} is not name=url (name: a-z, 0-9, -; url: ${schemes})`);
      return [];
    }
    if (seen.has(key)) {
      problems.push(`${name}: name ${key} appears twice`);
      return [];
    }
    seen.add(key);
    return [{ name: key, url }];
  });
}
