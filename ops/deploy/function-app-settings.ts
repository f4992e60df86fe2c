/**
 * The Function App's settings that the environment YAML owns, written by the deploy so that a
 * setting is said in one place: today the archive's (`archive:` in runbook/environments/<env>.yaml
 * becomes ARCHIVE_MODE, ARCHIVE_CONTAINER, ... as functions/src/settings.ts reads them).
 *
 * Through Resource Manager, the calls the portal and `az functionapp config appsettings set` make
 * on both hosting plans: `POST <site>/config/appsettings/list` (a StringDictionary) and
 * `PUT <site>/config/appsettings` with the whole dictionary. The PUT replaces every setting, so
 * the listed dictionary is sent back with only the owned names changed; every other setting
 * (AzureWebJobsStorage, DATABASE_URL, WEBSITE_RUN_FROM_PACKAGE ...) goes back byte for byte. Nothing
 * is PUT when the owned settings already say what the YAML says (a PUT restarts the app).
 * Values are secrets: every value listed or written is masked; reports name settings, never values.
 */
import type { TokenCredential } from '@azure/core-auth';
import type { ArchiveConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import type { SecretReader } from '../config/secrets.js';
import {
  bearerFromCredential,
  nodeHttpClient,
  snippet,
  type Authorization,
  type HttpClient,
} from './functions-transport-http.js';

export const APP_SETTINGS_API_VERSION = '2016-08-01';

/** Resource Manager's StringDictionary, as the list returns it and the PUT takes it. */
export interface StringDictionary {
  id?: string;
  name?: string;
  type?: string;
  kind?: string;
  properties?: Record<string, string>;
}

export interface AppSettingsClient {
  /** `<app> (<arm>)`: for messages. */
  description: string;
  list(): Promise<StringDictionary>;
  /** `what` names the write in an error (default: updating the app settings). */
  put(dictionary: StringDictionary, what?: string): Promise<void>;
}

export interface ArmSiteOptions {
  /** Resource Manager; default https://management.azure.com. */
  armUrl?: string;
  subscriptionId: string;
  resourceGroup: string;
  functionApp: string;
  /** Resource Manager bearer token. */
  authorization: Authorization;
  http: HttpClient;
}

/** A call on the Function App's Resource Manager resource (`<site><path>?api-version=`). */
export type ArmSiteCall = (
  method: 'POST' | 'PUT',
  path: string,
  apiVersion: string,
  body?: unknown,
) => Promise<{ status: number; text: string }>;

export function armSiteCall(options: ArmSiteOptions): ArmSiteCall {
  const arm = (options.armUrl ?? 'https://management.azure.com').replace(/\/+$/, '');
  const site =
    `${arm}/subscriptions/${encodeURIComponent(options.subscriptionId)}` +
    `/resourceGroups/${encodeURIComponent(options.resourceGroup)}` +
    `/providers/Microsoft.Web/sites/${encodeURIComponent(options.functionApp)}`;
  return async (method, path, apiVersion, body) =>
    options.http({
      method,
      url: `${site}${path}?api-version=${apiVersion}`,
      headers: {
        authorization: await options.authorization(),
        ...(body !== undefined ? { 'content-type': 'application/json; charset=utf-8' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
}

/** Resource Manager's error as one line, with what to do about a refused identity. */
export function armError(what: string, res: { status: number; text: string }): Error {
  let detail = snippet(res.text);
  try {
    const e = (JSON.parse(res.text) as { error?: { code?: string; message?: string } }).error;
    if (e) detail = `${e.code ?? ''}: ${e.message ?? ''}`;
  } catch {
    // not ARM's error shape
  }
  const hint =
    res.status === 401 || res.status === 403
      ? ' (the deploying identity needs Website Contributor or Contributor on the Function App)'
      : '';
  return new Error(`${what}: ${res.status} ${detail}${hint}`);
}

/** The app settings of one Function App through Resource Manager; listed values go to `mask`. */
export function armAppSettings(
  options: ArmSiteOptions & { mask?: (value: string) => void },
): AppSettingsClient {
  const call = armSiteCall(options);
  return {
    description: `${options.functionApp} (${(options.armUrl ?? 'https://management.azure.com').replace(/\/+$/, '')})`,
    async list() {
      const res = await call('POST', '/config/appsettings/list', APP_SETTINGS_API_VERSION);
      if (res.status !== 200) throw armError('listing the app settings', res);
      let dictionary: StringDictionary;
      try {
        dictionary = JSON.parse(res.text) as StringDictionary;
      } catch {
        throw new Error(`listing the app settings: not JSON: ${snippet(res.text)}`);
      }
      for (const value of Object.values(dictionary.properties ?? {})) if (value) options.mask?.(value);
      return dictionary;
    },
    async put(dictionary, what = 'updating the app settings') {
      const res = await call('PUT', '/config/appsettings', APP_SETTINGS_API_VERSION, dictionary);
      if (res.status !== 200) throw armError(what, res);
    },
  };
}

/** Settings the YAML owns: exactly these names, with these values (a name not in `values` is removed). */
export interface OwnedSettings {
  /** Every name owned, whatever the mode. */
  names: readonly string[];
  values: Record<string, string>;
  /** Where they come from, for messages (`archive: enabled`). */
  source: string;
}

/** The archive's settings functions/src/settings.ts reads that the YAML's `archive:` says. */
export const ARCHIVE_SETTING_NAMES = [
  'ARCHIVE_MODE',
  'ARCHIVE_STORAGE_CONNECTION_STRING',
  'ARCHIVE_CONTAINER',
  'ARCHIVE_RETENTION_DAYS',
  'ARCHIVE_PURGE_REASON',
  'ARCHIVE_PARTITIONS_AHEAD_DAYS',
  'ARCHIVE_HOURLY_RETENTION_DAYS',
] as const;

/**
 * The ARCHIVE_* settings for the environment's `archive:` section; null when it has none (the app's
 * settings are then left as they are: the YAML does not speak). Enabled reads the storage
 * connection string from `connectionStringEnv` (a missing one throws MissingSecretError before
 * anything is changed).
 */
export function archiveAppSettings(
  archive: ArchiveConfig | undefined,
  secrets: Pick<SecretReader, 'read'>,
): OwnedSettings | null {
  if (!archive) return null;
  const values: Record<string, string> = { ARCHIVE_MODE: archive.mode };
  if (archive.mode === 'enabled') {
    values.ARCHIVE_STORAGE_CONNECTION_STRING = secrets.read(archive.connectionStringEnv);
    values.ARCHIVE_CONTAINER = archive.container;
  }
  if (archive.mode === 'purge-without-archive') values.ARCHIVE_PURGE_REASON = archive.reason;
  if (archive.mode !== 'disabled') {
    if (archive.retentionDays != null) values.ARCHIVE_RETENTION_DAYS = String(archive.retentionDays);
    if (archive.partitionsAheadDays != null)
      values.ARCHIVE_PARTITIONS_AHEAD_DAYS = String(archive.partitionsAheadDays);
    if (archive.hourlyRetentionDays != null)
      values.ARCHIVE_HOURLY_RETENTION_DAYS = String(archive.hourlyRetentionDays);
  }
  return { names: ARCHIVE_SETTING_NAMES, values, source: `archive: ${archive.mode}` };
}

export interface SettingsPlan {
  /** The whole dictionary to PUT: the current one with the owned names set or removed. */
  next: Record<string, string>;
  /** Owned names added or given another value, in name order. */
  changed: string[];
  /** Owned names taken out, in name order. */
  removed: string[];
}

/** What the owned settings change in `current`; every other setting is kept as it is. */
export function planAppSettings(current: Record<string, string>, owned: OwnedSettings): SettingsPlan {
  const next: Record<string, string> = {};
  const changed: string[] = [];
  const removed: string[] = [];
  const ownedNames = new Set(owned.names);
  for (const [name, value] of Object.entries(current)) {
    if (!ownedNames.has(name)) next[name] = value;
    else if (owned.values[name] === undefined) removed.push(name);
  }
  for (const name of owned.names) {
    const value = owned.values[name];
    if (value === undefined) continue;
    next[name] = value;
    if (current[name] !== value) changed.push(name);
  }
  return { next, changed: changed.sort(), removed: removed.sort() };
}

export interface AppSettingsSyncResult {
  /** Nothing was PUT: the app already says what the YAML says. */
  unchanged: boolean;
  changed: string[];
  removed: string[];
  /** One line for reports: names only. */
  summary: string;
}

/** Lists the app's settings, PUTs them back with the owned ones as the YAML says (only when they differ). */
export async function syncAppSettings(
  client: AppSettingsClient,
  owned: OwnedSettings,
  log: (line: string) => void = () => undefined,
): Promise<AppSettingsSyncResult> {
  const dictionary = await client.list();
  const plan = planAppSettings(dictionary.properties ?? {}, owned);
  if (plan.changed.length === 0 && plan.removed.length === 0) {
    const summary = `app settings: ${owned.source}, already set on ${client.description}`;
    log(summary);
    return { unchanged: true, changed: [], removed: [], summary };
  }
  const what = [
    plan.changed.length ? `set ${plan.changed.join(', ')}` : '',
    plan.removed.length ? `removed ${plan.removed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  log(`app settings: ${owned.source}: ${what} on ${client.description}`);
  await client.put({ ...dictionary, properties: plan.next });
  return {
    unchanged: false,
    changed: plan.changed,
    removed: plan.removed,
    summary: `app settings: ${owned.source}: ${what}`,
  };
}

/**
 * The environment's Function App settings client: null for the sandbox (its functions host takes
 * its settings from the sandbox's own environment) and for an environment without an azure section.
 */
export function appSettingsClientFor(
  target: OpsTarget,
  options: { credential?: TokenCredential; http?: HttpClient; armUrl?: string } = {},
): AppSettingsClient | null {
  const azure = target.config.azure;
  if (target.local || !azure) return null;
  if (!options.credential) throw new Error('writing the Function App settings needs an Azure credential');
  return armAppSettings({
    armUrl: options.armUrl,
    subscriptionId: azure.subscriptionId,
    resourceGroup: azure.resourceGroup,
    functionApp: azure.functionApp,
    authorization: bearerFromCredential(options.credential),
    http: options.http ?? nodeHttpClient(),
    mask: (value) => target.secrets.track(value),
  });
}

/** Every group of settings the environment YAML owns (today: the archive's); none for the sandbox. */
export function ownedAppSettings(target: OpsTarget): OwnedSettings[] {
  if (target.local) return [];
  const archive = archiveAppSettings(target.config.archive, target.secrets);
  return archive ? [archive] : [];
}
