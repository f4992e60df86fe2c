/**
 * The ops-playbook action: `ops playbook <name> --env <environment>`, with `--dry-run` unless the
 * operator turned dry-run off, and `--incident <n>` so each step reports to the incident issue.
 */
import type { ActionCore } from '../../shared/src/action-core.js';
import { runCommand } from '../../shared/src/command-action.js';
import { InputReader } from '../../shared/src/inputs.js';
import { maskSecrets } from '../../shared/src/mask-secrets.js';
import type { RunCli } from '../../shared/src/run-ops-cli.js';
import { PLAYBOOKS, type Playbook } from './playbooks.js';

export interface PlaybookInputs {
  playbook: Playbook;
  environment: string;
  dryRun: boolean;
  incident: number | undefined;
}

export function readPlaybookInputs(core: Pick<ActionCore, 'getInput'>): PlaybookInputs {
  const inputs = new InputReader(core);
  const read: PlaybookInputs = {
    playbook: inputs.choice('playbook', PLAYBOOKS),
    environment: inputs.name('environment'),
    dryRun: inputs.boolean('dry-run', true),
    incident: inputs.optionalCount('incident'),
  };
  inputs.done();
  return read;
}

export function playbookArgv(i: PlaybookInputs): string[] {
  return [
    'playbook',
    i.playbook,
    '--env',
    i.environment,
    ...(i.dryRun ? ['--dry-run'] : []),
    ...(i.incident !== undefined ? ['--incident', String(i.incident)] : []),
  ];
}

export async function runPlaybookAction(deps: {
  core: ActionCore;
  runCli: RunCli;
  env: Record<string, string | undefined>;
}): Promise<void> {
  const { core, env } = deps;
  maskSecrets(core, env, [core.getInput('github-token')]);
  let inputs: PlaybookInputs;
  try {
    inputs = readPlaybookInputs(core);
  } catch (error) {
    core.setFailed((error as Error).message);
    return;
  }
  const token = core.getInput('github-token');
  if (token && !env.GITHUB_TOKEN) env.GITHUB_TOKEN = token;
  const mode = inputs.dryRun ? 'dry run' : 'applied';
  await runCommand(
    core,
    deps.runCli,
    playbookArgv(inputs),
    `Playbook ${inputs.playbook} (${inputs.environment}, ${mode})`,
  );
}
