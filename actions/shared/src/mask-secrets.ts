/**
 * Which environment values are secrets, so each is masked with core.setSecret before anything can
 * log it: variables named like secrets (tokens, keys, passwords, connection strings, SSH keys),
 * URLs that carry a password, and storage connection strings. Multi-line values (SSH keys) are
 * masked whole and line by line, since the runner masks a registered value only where it appears
 * in full.
 */
import type { ActionCore } from './action-core.js';

const SECRET_NAME = /(TOKEN|SECRET|PASSWORD|PASSWD|PRIVATE_KEY|_KEY|CONNECTION_STRING|CREDENTIALS?|_PAT)$/i;
/** Set by the runner, which masks its own secrets; masking their public values would garble logs. */
const RUNNER_PREFIXES = ['GITHUB_', 'RUNNER_', 'ACTIONS_', 'INPUT_', 'STATE_'];
/** Shorter values are not worth masking (they would star out ordinary words in every log line). */
const MIN_LENGTH = 4;
const MIN_LINE_LENGTH = 8;

export function secretValues(env: Readonly<Record<string, string | undefined>>): string[] {
  const found = new Set<string>();
  for (const [name, value] of Object.entries(env)) {
    if (!value || RUNNER_PREFIXES.some((p) => name.startsWith(p))) continue;
    if (SECRET_NAME.test(name)) addValue(found, value);
    for (const part of urlPasswords(value)) addValue(found, part, true);
    for (const part of connectionStringKeys(value)) addValue(found, part, true);
  }
  return [...found];
}

/** Masks every secret value of `env` (and `extra`, e.g. a token input); returns how many. */
export function maskSecrets(
  core: Pick<ActionCore, 'setSecret'>,
  env: Readonly<Record<string, string | undefined>>,
  extra: readonly string[] = [],
): number {
  const values = new Set(secretValues(env));
  for (const value of extra) if (value) addValue(values, value);
  for (const value of values) core.setSecret(value);
  return values.size;
}

function addValue(into: Set<string>, value: string, whole = false): void {
  if (value.length < MIN_LENGTH) return;
  into.add(value);
  if (whole || !value.includes('\n')) return;
  for (const line of value.split(/\r?\n/)) {
    const trimmed = line.trim();
    if (trimmed.length >= MIN_LINE_LENGTH) into.add(trimmed);
  }
}

/** The URL itself and its password, raw and decoded, for any value that is a URL with a password. */
function urlPasswords(value: string): string[] {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return [];
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return [];
  }
  if (!url.password) return [];
  let decoded = url.password;
  try {
    decoded = decodeURIComponent(url.password);
  } catch {
    // keep the raw form only
  }
  return [value, url.password, decoded];
}

/** Azure storage / service bus style `AccountKey=...;SharedAccessSignature=...` parts. */
function connectionStringKeys(value: string): string[] {
  if (!/(AccountKey|SharedAccessKey|SharedAccessSignature)=/i.test(value)) return [];
  const keys = [...value.matchAll(/(?:AccountKey|SharedAccessKey|SharedAccessSignature)=([^;]+)/gi)].map(
    (m) => m[1]!,
  );
  return [value, ...keys];
}
