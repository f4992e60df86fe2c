/**
 * The ops-playbook action: `ops playbook <name> --env <environment>`, a dry run unless the `apply`
 * input is true (then `--apply`, as on the command line), and `--incident <n>` so each step reports
 * to the incident issue. The job summary's heading says what happened, from the outcome line.
 */
import type { ActionCore } from '../../shared/src/action-core.js';
import { runCommand } from '../../shared/src/command-action.js';
import { InputError, InputReader } from '../../shared/src/inputs.js';
import { maskSecrets } from '../../shared/src/mask-secrets.js';
import type { RunCli } from '../../shared/src/run-ops-cli.js';
import { PLAYBOOKS, type Playbook } from './playbooks.js';

export interface PlaybookInputs {
  playbook: Playbook;
  environment: string;
  apply: boolean;
  incident: number | undefined;
  /** resize-vm's --size. */
  size: string | undefined;
  /** The playbooks' own options (--tenant, --retention-days, ...), by CLI name, when given. */
  options: [string, string][];
}

/** An Azure VM size, as the CLI's --size takes it. */
const VM_SIZE = /^Standard_[A-Za-z0-9_]+$/;

/**
 * Inputs passed on as the CLI option of the same name, and what each may hold (only what can be
 * an argument: the CLI checks ranges and which playbook takes which, and says so by name).
 */
const PASSED: Record<string, { pattern: RegExp; what: string }> = {
  tenant: { pattern: /^[a-z0-9][a-z0-9._-]{1,63}$/, what: 'a tenant slug' },
  'retention-days': { pattern: /^\d{1,5}$/, what: 'a whole number of days' },
  'max-metrics': { pattern: /^\d{1,5}$/, what: 'a whole number' },
  'max-string-length': { pattern: /^\d{1,5}$/, what: 'a whole number' },
};

export function readPlaybookInputs(core: Pick<ActionCore, 'getInput'>): PlaybookInputs {
  const inputs = new InputReader(core);
  const read: PlaybookInputs = {
    playbook: inputs.choice('playbook', PLAYBOOKS),
    environment: inputs.name('environment'),
    apply: inputs.boolean('apply', false),
    incident: inputs.optionalCount('incident'),
    size: core.getInput('size') || undefined,
    options: Object.keys(PASSED)
      .map((name): [string, string] => [name, core.getInput(name).trim()])
      .filter(([, value]) => value !== ''),
  };
  inputs.done();
  const problems: string[] = [];
  if (read.size !== undefined && !VM_SIZE.test(read.size))
    problems.push(`"size" must be an Azure VM size like Standard_B2s (got ${JSON.stringify(read.size)})`);
  for (const [name, value] of read.options)
    if (!PASSED[name]!.pattern.test(value))
      problems.push(`"${name}" must be ${PASSED[name]!.what} (got ${JSON.stringify(value.slice(0, 60))})`);
  if (problems.length) throw new InputError(problems);
  return read;
}

export function playbookArgv(i: PlaybookInputs): string[] {
  return [
    'playbook',
    i.playbook,
    '--env',
    i.environment,
    ...(i.apply ? ['--apply'] : []),
    ...(i.incident !== undefined ? ['--incident', String(i.incident)] : []),
    ...(i.size !== undefined ? ['--size', i.size] : []),
    ...i.options.flatMap(([name, value]) => [`--${name}`, value]),
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
  await runCommand(
    core,
    deps.runCli,
    playbookArgv(inputs),
    (lastLine) => `Playbook ${inputs.playbook} (${inputs.environment}, ${modeOf(lastLine, inputs.apply)})`,
  );
}

/** `dry run`, `applied` or `nothing applied` from the CLI's outcome line; the request without one. */
export function modeOf(outcome: string, apply: boolean): string {
  const said = /^Outcome: \S+ on \S+ \(([^)]+)\)/.exec(outcome)?.[1];
  return said ?? `${apply ? 'apply' : 'dry run'}, no outcome`;
}
