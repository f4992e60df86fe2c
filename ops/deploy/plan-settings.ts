/**
 * Which of a stage's settings changed in the deployed environment's YAML between two commits. A
 * stage deploys from its environment's file as well as from its paths (the Function App's archive
 * settings, the VM's ports and users, the dashboard's Supabase URL), so a change of those settings
 * alone must deploy it; a change of anything else in the file (prices, thresholds, another
 * environment's file) deploys nothing.
 */
import { isDeepStrictEqual } from 'node:util';
import { parse } from 'yaml';
import { fileAt, type GitRunner } from './git.js';

export const environmentFile = (env: string) => `runbook/environments/${env}.yaml`;

/** The value at a dotted path (`deploy.vm`), or undefined where the path stops. */
export function settingAt(document: unknown, path: string): unknown {
  let value = document;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** A parsed environment file; not ok when it is not YAML (every setting counts as changed). */
export type EnvironmentDocument = { ok: true; value: unknown } | { ok: false };

export async function environmentAt(git: GitRunner, sha: string, env: string): Promise<EnvironmentDocument> {
  const text = await fileAt(git, sha, environmentFile(env));
  if (text === undefined) return { ok: true, value: undefined };
  try {
    return { ok: true, value: parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/**
 * The settings (dotted paths) whose values differ between the two documents, in the order given.
 * A document that is not YAML changes them all: the plan cannot tell, so it deploys (and loading the
 * environment then stops the deploy with the parser's error).
 */
export function changedSettings(
  base: EnvironmentDocument,
  head: EnvironmentDocument,
  settings: readonly string[],
): string[] {
  if (!base.ok || !head.ok) return [...settings];
  return settings.filter((s) => !isDeepStrictEqual(settingAt(base.value, s), settingAt(head.value, s)));
}
