/**
 * Preflight item "placeholders": settings of the environment YAML that the chosen commands read
 * (found by workflow-secrets.ts's exercises) and the `azure` section, which the preflight itself
 * signs in to, still holding a value from before the infrastructure existed (config/placeholders.ts:
 * example hosts and e-mail addresses, documentation address ranges, all-zero ids, ...).
 */
import type { EnvironmentConfig } from '../config/environment-config.js';
import { placeholderReason } from '../config/placeholders.js';
import type { PreflightFindings } from '../config/preflight.js';
import type { PreflightItem } from './items.js';

type Placeholder = PreflightFindings['placeholders'][number];

/** Every string setting under `value` that holds a placeholder, by its YAML path. */
export function placeholdersIn(value: unknown, path: string): Placeholder[] {
  if (typeof value === 'string') {
    const reason = placeholderReason(value);
    return reason ? [{ path, value, reason }] : [];
  }
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, v]) =>
    placeholdersIn(v, Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`),
  );
}

export function placeholdersItem(
  config: EnvironmentConfig,
  used: readonly Placeholder[],
  source: string,
): PreflightItem {
  const all = new Map(used.map((p) => [p.path, p]));
  for (const p of placeholdersIn(config.azure, 'azure')) if (!all.has(p.path)) all.set(p.path, p);
  if (!all.size)
    return { item: 'placeholders', status: 'ok', detail: `none among the settings used from ${source}` };
  return {
    item: 'placeholders',
    status: 'fail',
    detail:
      `${all.size} settings in ${source} still hold placeholders: ` +
      [...all.values()].map((p) => `${p.path}=${p.value} (${p.reason})`).join(', ') +
      ': replace them with the real values (docs/adopt.md)',
  };
}
