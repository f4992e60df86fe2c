/**
 * `ops preflight --env <name> [--for LIST] [--json]`: is the environment ready for its workflows?
 * One line per item on stdout as each is known (run-preflight.ts), then the verdict. Exit 0 when no
 * item failed (warnings and skipped items allowed), 1 when one did, 2 for bad arguments or an
 * environment that cannot be loaded. What the provision workflow runs first; the deploy's
 * preflight stage runs the same Azure check (azure-access.ts).
 */
import { parseCommand, prefixOf, table, UsageError, type CommandSpec } from '../cli-args.js';
import type { CliIo } from '../cli-io.js';
import { loadRunbookConfig } from '../config/runbook-config.js';
import { ARM_URL_VARIABLE, type AzureAccessOptions } from './azure-access.js';
import { formatItem, formatVerdict, isReady } from './items.js';
import { runEnvironmentPreflight } from './run-preflight.js';
import { WORKFLOW_COMMANDS, type WorkflowCommand } from './workflow-secrets.js';

export const PREFLIGHT_SPEC: CommandSpec = {
  name: 'preflight',
  synopsis: 'preflight --env NAME [--for LIST] [--json]',
  about: [
    'Checks that an environment is ready for its workflows, one line per item, before anything runs:',
    'Azure sign-in works (azure/login OIDC in GitHub Actions, `az login` on a laptop) and says which',
    'credential answered; the subscription of azure.subscriptionId is visible and Enabled; every secret',
    "the workflows' commands read is set (names only, never values); every resource name in azure and",
    'infra.names matches infra.naming; no setting they use still holds a placeholder. The sandbox',
    '(--env local) has no Azure: those items are skipped. See docs/preflight.md.',
  ],
  sections: [
    {
      heading: 'Environment',
      lines: table([
        ['AZURE_* / az login', 'how Azure is signed in to (docs/preflight.md)'],
        [ARM_URL_VARIABLE, 'Resource Manager, when not https://management.azure.com (tests)'],
      ]),
    },
  ],
  options: {
    env: {
      type: 'string',
      arg: 'NAME',
      required: true,
      help: 'runbook/environments/NAME.yaml',
    },
    for: {
      type: 'string',
      arg: 'LIST',
      defaultText: 'all',
      help: `whose secrets count, comma-separated: ${WORKFLOW_COMMANDS.join(', ')}`,
    },
    json: { type: 'boolean', default: false, help: 'one JSON object (env, ready, items) instead of lines' },
  },
  exitCodes: {
    0: 'ready: no item failed (warnings and skipped items allowed)',
    1: 'not ready: an item failed (each failing line says what to do)',
  },
  example: 'npm run ops -- preflight --env prod',
};

export interface PreflightCommandOptions {
  /** Tests: the credentials, Resource Manager and its CA. */
  azure?: AzureAccessOptions;
}

export async function runPreflightCommand(
  argv: string[],
  io: CliIo,
  command: PreflightCommandOptions = {},
): Promise<number> {
  const prefix = prefixOf(PREFLIGHT_SPEC);
  let commands: WorkflowCommand[] = [...WORKFLOW_COMMANDS];
  const parsed = parseCommand(argv, PREFLIGHT_SPEC, io, ({ values, positionals }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.env === undefined)
      throw new UsageError('--env NAME is required (runbook/environments/NAME.yaml)');
    if (values.for !== undefined) commands = parseFor(values.for as string);
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as { env: string; json: boolean };

  const lines = !values.json;
  let result;
  try {
    result = await runEnvironmentPreflight({
      envName: values.env,
      runbook: loadRunbookConfig(),
      commands,
      env: io.env ?? process.env,
      mask: io.mask,
      environmentsDir: io.environmentsDir,
      localEnvPath: io.envPath,
      azure: command.azure,
      onItem: (item) => {
        if (lines) io.out(`${formatItem(item)}\n`);
      },
    });
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }
  const ready = isReady(result.items);
  if (values.json)
    io.out(`${JSON.stringify({ env: result.env, source: result.source, ready, items: result.items })}\n`);
  else io.out(`${formatVerdict(result.env, result.items)}\n`);
  return ready ? 0 : 1;
}

function parseFor(list: string): WorkflowCommand[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!names.length) throw new UsageError('--for needs at least one command');
  const unknown = names.filter((n) => !(WORKFLOW_COMMANDS as readonly string[]).includes(n));
  if (unknown.length)
    throw new UsageError(
      `--for: unknown command ${unknown.join(', ')}: give some of ${WORKFLOW_COMMANDS.join(', ')}`,
    );
  return WORKFLOW_COMMANDS.filter((c) => names.includes(c));
}
