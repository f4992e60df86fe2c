/**
 * `ops preflight` for one environment (seed section 1): Azure sign-in, the subscription, the
 * workflows' secrets, the resource names against the naming convention, placeholders left in the
 * YAML. Each item is handed to `onItem` as soon as it is known (the Azure ones take a moment).
 */
import { relative } from 'node:path';
import { localSandboxStatus, LOCAL_ENV_PATH } from '../../common/local-env.js';
import { loadEnvironmentConfig, ENVIRONMENTS_DIR } from '../config/environment-config.js';
import { loadOpsTarget, SandboxNotRunningError } from '../config/ops-target.js';
import type { RunbookConfig } from '../config/runbook-config.js';
import { azureAccessItems, type AzureAccessOptions } from './azure-access.js';
import type { PreflightItem } from './items.js';
import { namingItems } from './naming.js';
import { placeholdersItem } from './placeholder-settings.js';
import {
  secretsItem,
  WORKFLOW_COMMANDS,
  workflowSecretFindings,
  type WorkflowCommand,
} from './workflow-secrets.js';

export interface EnvironmentPreflightOptions {
  envName: string;
  runbook: RunbookConfig;
  /** Whose secrets count; default every command the workflows run. */
  commands?: readonly WorkflowCommand[];
  /** Where secrets and OPS_AZURE_ARM_URL come from (default process.env), and how values are masked. */
  env?: Record<string, string | undefined>;
  mask?: (value: string) => void;
  environmentsDir?: string;
  /** The sandbox's env.json (for a sandbox environment). */
  localEnvPath?: string;
  azure?: AzureAccessOptions;
  onItem?: (item: PreflightItem) => void;
}

export interface EnvironmentPreflight {
  env: string;
  /** The YAML file, as the messages name it. */
  source: string;
  items: PreflightItem[];
}

/** Throws only when the environment cannot be loaded at all (unknown name, invalid YAML). */
export async function runEnvironmentPreflight(
  options: EnvironmentPreflightOptions,
): Promise<EnvironmentPreflight> {
  const env = options.env ?? process.env;
  const dir = options.environmentsDir ?? ENVIRONMENTS_DIR;
  const config = loadEnvironmentConfig(options.envName, dir);
  const source = displayPath(`${dir}/${config.name}.yaml`);
  const commands = options.commands ?? WORKFLOW_COMMANDS;
  const target = config.sandbox
    ? undefined
    : await loadOpsTarget(config.name, { env, mask: options.mask, environmentsDir: dir });
  // No item quotes a secret; should an error message carry one, it is blanked all the same.
  const redact = (text: string) => target?.secrets.redact(text) ?? text;
  const items: PreflightItem[] = [];
  const emit = (...found: PreflightItem[]) => {
    for (const item of found.map((i) => ({ ...i, detail: redact(i.detail) }))) {
      items.push(item);
      options.onItem?.(item);
    }
  };

  emit(...(await azureAccessItems(config, env, source, options.azure)));

  if (!target) {
    // The sandbox's credentials are its own (env.json); what matters is that it runs.
    const envPath = options.localEnvPath ?? LOCAL_ENV_PATH;
    const status = await localSandboxStatus(envPath);
    emit(
      status.running
        ? {
            item: 'sandbox',
            status: 'ok',
            detail: `running: the commands use its own credentials (${envPath}), no secret from the environment`,
          }
        : { item: 'sandbox', status: 'fail', detail: new SandboxNotRunningError(status.reason).message },
      ...namingItems(config, source),
      { item: 'placeholders', status: 'skip', detail: `the sandbox's endpoints come from ${envPath}` },
    );
    return { env: config.name, source, items };
  }

  const found = await workflowSecretFindings(target, options.runbook, commands);
  emit(
    secretsItem(found, config.name, commands),
    ...namingItems(config, source),
    placeholdersItem(config, found.placeholders, source),
  );
  return { env: config.name, source, items };
}

function displayPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith('..') ? rel : path;
}
