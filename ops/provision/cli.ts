/**
 * `ops provision --env <name> [--what-if]`: the environment's Azure resources from infra/ (docs/infra.md).
 * Builds infra/main.json's parameters from the environment YAML, checks template and parameters
 * offline, then asks Resource Manager for the what-if and prints the change list. Without
 * --what-if it then applies the deployment (Incremental), waits with progress on stderr, and prints
 * the deployment's outputs. Signs in as the ops commands do (DefaultAzureCredential: azure/login in
 * Actions, `az login` on a laptop); OPS_AZURE_ARM_URL points it at another Resource Manager.
 */
import type { TokenCredential } from '@azure/core-auth';
import { parseCommand, prefixOf, UsageError, type CommandSpec } from '../cli-args.js';
import { emitResult, type CliIo } from '../cli-io.js';
import {
  ENVIRONMENTS_DIR,
  loadEnvironmentConfig,
  type EnvironmentConfig,
} from '../config/environment-config.js';
import { armUrlFrom, ARM_URL_VARIABLE } from '../preflight/azure-access.js';
import { createAzureClients } from '../sources/azure-clients.js';
import { createAzureCredential } from '../sources/azure-credential.js';
import {
  apply,
  createDeploymentsClient,
  DeploymentError,
  deploymentName,
  existingBudgetStart,
  isSignInError,
  whatIf,
  type DeploymentRequest,
} from './deployment.js';
import { firstOfMonth, provisionParameters, ProvisionSettingsError } from './parameters.js';
import { templateProblems } from './template-check.js';
import {
  composeTemplate,
  INFRA_DIR,
  MAIN_TEMPLATE,
  plannedResources,
  type ArmTemplate,
} from './templates.js';
import { countChanges, renderWhatIf } from './what-if-report.js';

export const PROVISION_SPEC: CommandSpec = {
  name: 'provision',
  synopsis: 'provision --env NAME [--what-if] [--output FILE]',
  about: [
    "Creates or adopts the environment's Azure resources from infra/ (ARM templates), every name and",
    'size from runbook/environments/NAME.yaml (azure and infra sections): resource group, VM with',
    'its NSG, public IP and network, Function App and storage, Log Analytics and Application',
    'Insights, the backup container, the monthly budget. Existing resources with those names are',
    'adopted (Incremental mode: nothing the template omits is deleted). See docs/infra.md.',
    '',
    'Prints the change list (what-if) first; with --what-if that is all it does. Otherwise it then',
    "applies the deployment, shows progress on stderr and prints the deployment's outputs (public",
    'IP, DNS name, Function App host, Log Analytics workspace id).',
    `Signs in with DefaultAzureCredential (azure/login in Actions, \`az login\` on a laptop).`,
    `${ARM_URL_VARIABLE} points it at another Resource Manager (the tests' stand-in).`,
  ],
  options: {
    env: { type: 'string', arg: 'NAME', required: true, help: 'runbook/environments/NAME.yaml' },
    'what-if': {
      type: 'boolean',
      default: false,
      help: 'print what the deployment would change, and change nothing',
    },
    output: {
      type: 'string',
      arg: 'FILE',
      defaultText: 'stdout',
      help: 'write the change list (and the outputs) to FILE instead of stdout',
    },
  },
  exitCodes: {
    0: 'the change list is printed, and without --what-if the deployment succeeded',
    1: 'Azure refused the what-if or the deployment failed (its error details on stderr)',
  },
  example: 'npm run -s ops -- provision --env prod --what-if',
};

/** What tests inject; production signs in with DefaultAzureCredential and trusts the public roots. */
export interface ProvisionDeps {
  credential?: TokenCredential;
  ca?: string;
  pollIntervalMs?: number;
  heartbeatMs?: number;
  /** The templates' folder (default infra/). */
  infraDir?: string;
}

export async function runProvisionCommand(
  argv: string[],
  io: CliIo,
  deps: ProvisionDeps = {},
): Promise<number> {
  const prefix = prefixOf(PROVISION_SPEC);
  const parsed = parseCommand(argv, PROVISION_SPEC, io, ({ values, positionals }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.env === undefined) throw new UsageError('give --env NAME (runbook/environments/NAME.yaml)');
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as { env: string; 'what-if': boolean; output?: string };
  const progress = (line: string) => io.err(`${prefix}: ${line}\n`);
  const now = new Date((io.now ?? Date.now)());

  // Everything that can be wrong without Azure is found first (exit 2).
  let config: EnvironmentConfig;
  let template: ArmTemplate;
  let armUrl: string | undefined;
  try {
    config = loadEnvironmentConfig(values.env, io.environmentsDir ?? ENVIRONMENTS_DIR);
    template = composeTemplate(MAIN_TEMPLATE, deps.infraDir ?? INFRA_DIR);
    armUrl = armUrlFrom(io.env ?? process.env);
    // The parameters once with a placeholder start date: the settings are checked before signing in.
    provisionParameters(config, { budgetStartDate: firstOfMonth(now) });
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }
  const azure = config.azure!;
  const connection = {
    credential: deps.credential ?? createAzureCredential(),
    subscriptionId: azure.subscriptionId,
    armUrl,
    ca: deps.ca,
  };

  let request: DeploymentRequest;
  let subscriptionId: string;
  try {
    progress(`reading the budget ${azure.budgetName} (an existing one keeps its start date)`);
    const consumption = createAzureClients({
      credential: connection.credential,
      subscriptionId: azure.subscriptionId,
      armEndpoint: armUrl,
      ca: deps.ca,
    }).consumption;
    const start = await existingBudgetStart(consumption, azure.subscriptionId, azure.budgetName);
    const built = provisionParameters(config, { budgetStartDate: start ?? firstOfMonth(now) });
    subscriptionId = built.subscriptionId;
    request = {
      name: deploymentName(config.name, now),
      location: built.location,
      template,
      parameters: built.parameters,
    };
  } catch (error) {
    if (isSignInError(error)) {
      io.err(
        `${prefix}: no Azure sign-in: run \`az login\` (a laptop) or azure/login (GitHub Actions); ` +
          `\`npm run ops -- preflight --env ${config.name}\` says what each credential answered\n`,
      );
      return 2;
    }
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return error instanceof ProvisionSettingsError ? 2 : 1;
  }
  const problems = templateProblems(template, request.parameters, `infra/${MAIN_TEMPLATE}`);
  if (problems.length) {
    io.err(`${prefix}: the template and its parameters do not fit; nothing was sent:\n`);
    for (const p of problems) io.err(`  ${p}\n`);
    return 2;
  }

  const client = createDeploymentsClient(connection);
  const poll = { pollIntervalMs: deps.pollIntervalMs };
  let report: string;
  try {
    progress(`what-if of ${request.name} (subscription ${subscriptionId}, ${request.location})`);
    const result = await whatIf(client, request, poll);
    const c = countChanges(result);
    progress(`what-if: ${c.create} to create, ${c.modify} to modify, ${c.delete} to delete`);
    report = renderWhatIf(result, {
      env: config.name,
      subscriptionId,
      location: request.location,
      deploymentName: request.name,
      planned: plannedResources(template, request.parameters, {
        deploymentName: request.name,
        subscriptionId,
      }),
    });
  } catch (error) {
    return failed(prefix, error, io);
  }
  if (values['what-if']) return (await emitResult(prefix, report, values.output, io)) ? 0 : 2;

  try {
    progress(`applying ${request.name} (Incremental: nothing the template omits is deleted)`);
    const applied = await apply(client, request, {
      ...poll,
      heartbeatMs: deps.heartbeatMs,
      log: progress,
    });
    progress(
      `deployment ${applied.name} ${applied.provisioningState}${applied.duration ? ` in ${applied.duration}` : ''}`,
    );
    report += renderOutputs(applied.outputs, config);
  } catch (error) {
    // The change list was made: it goes out with the failure, so the summary shows what was tried.
    await emitResult(prefix, report, values.output, io);
    return failed(prefix, error, io);
  }
  return (await emitResult(prefix, report, values.output, io)) ? 0 : 2;
}

function failed(prefix: string, error: unknown, io: CliIo): number {
  if (error instanceof DeploymentError) {
    io.err(`${prefix}: ${error.message}\n`);
    for (const line of error.details) io.err(`  ${line}\n`);
  } else io.err(`${prefix}: ${(error as Error).message}\n`);
  return 1;
}

const OUTPUT_NAMES: Record<string, string> = {
  publicIpAddress: "public IP (the broker's address)",
  fqdn: 'DNS name (the static IP’s label)',
  functionAppHost: 'Function App host',
  logAnalyticsCustomerId: 'Log Analytics workspace id (azure.logAnalyticsWorkspaceId)',
};

function renderOutputs(outputs: Record<string, unknown>, config: EnvironmentConfig): string {
  const lines = ['', '## Applied', ''];
  for (const [key, value] of Object.entries(outputs))
    lines.push(
      `- ${OUTPUT_NAMES[key] ?? key}: \`${typeof value === 'string' ? value : JSON.stringify(value)}\``,
    );
  const id = outputs.logAnalyticsCustomerId;
  if (typeof id === 'string' && config.azure && id !== config.azure.logAnalyticsWorkspaceId)
    lines.push(
      '',
      `azure.logAnalyticsWorkspaceId in the environment YAML is ${config.azure.logAnalyticsWorkspaceId}: set it to ${id}.`,
    );
  return `${lines.join('\n')}\n`;
}
