/**
 * The preflight every ops command runs before it touches anything: the command is exercised once
 * against a recording copy of its target (a cadence plans its checks, the backup resolves its
 * store, a playbook opens its sources: building them connects nowhere), which notes every secret
 * read and every setting of the environment YAML used. Missing secrets and placeholder values
 * among exactly those become one line, so a half-configured environment fails at once and by
 * name instead of timing out against example hosts, trying Azure's managed identity endpoint and
 * counting incidents.
 *
 * A missing secret is answered with a stand-in during the exercise, so one missing variable does
 * not hide the next one read by the same part. Some parts parse a value when they are built (a user
 * name becomes a topic, a Blob connection string a client), so the exercise runs once per stand-in
 * and the findings are merged. Where no stand-in parses (an SSH key), what that part would have
 * read after it shows up in the real run's errors instead.
 */
import { relative } from 'node:path';
import type { OpsTarget } from './ops-target.js';
import { placeholderReason } from './placeholders.js';
import type { SecretReader } from './secrets.js';

export class PreflightError extends Error {}

/**
 * A name-like value (a topic segment, a host) and a connection string the Blob SDK accepts
 * (Azurite's shortcut; nothing connects). Database and broker URLs are parsed only on connect.
 */
const STAND_INS = ['preflight-stand-in', 'UseDevelopmentStorage=true'];

export interface PreflightFindings {
  /** Variables read and not set, in the order first read. */
  missingSecrets: string[];
  /** YAML settings used that still hold a placeholder: path, value, why. */
  placeholders: { path: string; value: string; reason: string }[];
}

/** What `exercise` would read from `target`; errors it throws are left to the real run. */
export async function preflightFindings(
  target: OpsTarget,
  exercise: (target: OpsTarget) => unknown,
): Promise<PreflightFindings> {
  const missing = new Set<string>();
  const used = new Map<string, string>();
  const real = target.secrets;
  for (const standIn of STAND_INS) {
    const secrets: SecretReader = {
      read(name) {
        // Through the real reader, so values that are set are masked and redacted as usual.
        const value = real.readOptional(name);
        if (value !== undefined) return value;
        missing.add(name);
        return standIn;
      },
      readOptional: (name) => real.readOptional(name),
      track: (value) => real.track(value),
      redact: (text) => real.redact(text),
    };
    try {
      await exercise({ ...target, secrets, config: recording(target.config, '', used) });
    } catch {
      // A part that cannot be built: the real run reports it where it belongs.
    }
  }
  const placeholders = [...used]
    .map(([path, value]) => ({ path, value, reason: placeholderReason(value) }))
    .filter((p): p is { path: string; value: string; reason: string } => p.reason !== undefined);
  return { missingSecrets: [...missing], placeholders };
}

/**
 * Throws a PreflightError whose one-line message lists every missing secret and placeholder
 * setting `exercise` uses. `source` is the environment's YAML file, for the message.
 */
export async function preflight(
  target: OpsTarget,
  exercise: (target: OpsTarget) => unknown,
  source = `runbook/environments/${target.name}.yaml`,
): Promise<void> {
  const found = await preflightFindings(target, exercise);
  const problems: string[] = [];
  if (found.missingSecrets.length)
    problems.push(
      `missing secrets ${found.missingSecrets.join(', ')} (export them; in GitHub Actions pass the ` +
        `"${target.name}" environment's secrets to the step; see docs/ops.md#secrets)`,
    );
  if (found.placeholders.length)
    problems.push(
      `placeholders in ${displayPath(source)}: ` +
        found.placeholders.map((p) => `${p.path}=${p.value} (${p.reason})`).join(', ') +
        ' (replace them with the real values)',
    );
  if (problems.length)
    throw new PreflightError(
      `environment "${target.name}" is not ready, nothing was run: ${problems.join('; ')}`,
    );
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}

/** `value` seen through a proxy that records each string setting read, by its YAML path. */
function recording<T extends object>(value: T, path: string, used: Map<string, string>): T {
  return new Proxy(value, {
    get(obj, key, receiver) {
      const v: unknown = Reflect.get(obj, key, receiver);
      if (typeof key !== 'string' || typeof v === 'function') return v;
      const at = Array.isArray(obj) ? `${path}[${key}]` : path ? `${path}.${key}` : key;
      if (typeof v === 'string') used.set(at, v);
      return v !== null && typeof v === 'object' ? recording(v, at, used) : v;
    },
  });
}
