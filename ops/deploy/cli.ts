/**
 * `ops deploy --env <name> --plan [--from <sha>] [--json] [--output FILE]`: what a deploy of HEAD
 * would run, and why (plan.ts), against the last successful deployment of the environment (GitHub
 * Deployments: GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL) or --from. Only the plan stage is
 * built: without --plan the command says so and exits 2, having deployed nothing.
 */
import { parseCommand, prefixOf, UsageError, type CommandSpec } from '../cli-args.js';
import { emitResult, type CliIo } from '../cli-io.js';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import { createGitHubClient, readGitHubEnv } from '../incidents/github-client.js';
import type { DeploymentsRepo } from './deployments.js';
import { gitIn, repositoryRoot } from './git.js';
import { planDeploy, type DeployPlan } from './plan.js';
import { planBases, UnknownBaseError } from './plan-base.js';
import { renderPlanJson, renderPlanMarkdown } from './plan-report.js';
import { STAGES, type Stage } from './stages.js';

/** The stages this command can run today; the others are refused, never pretended. */
export const BUILT_STAGES: readonly Stage[] = ['plan'];
const NOT_BUILT = STAGES.filter((s) => !BUILT_STAGES.includes(s));

export const DEPLOY_SPEC: CommandSpec = {
  name: 'deploy',
  synopsis: 'deploy --env NAME --plan [--from SHA] [options]',
  about: [
    'Plans a deploy of HEAD to an environment: which stages would run and why, from the paths that',
    'changed since the last successful deployment of the environment (GitHub Deployments, read with',
    'GITHUB_TOKEN and GITHUB_REPOSITORY) or since --from. Changes nothing. A first deploy, or the',
    'sandbox without --from, plans everything. See docs/deploy.md.',
    '',
    `Stages, in order: ${STAGES.join(', ')}. Built so far: ${BUILT_STAGES.join(', ')} (--plan).`,
  ],
  options: {
    env: {
      type: 'string',
      arg: 'NAME',
      default: 'local',
      help: 'runbook/environments/NAME.yaml; also the GitHub environment of its deployments',
    },
    plan: {
      type: 'boolean',
      default: false,
      help: 'print the plan and stop (required: nothing else is built)',
    },
    from: {
      type: 'string',
      arg: 'SHA',
      defaultText: "the environment's last successful deployment; none for local",
      help: 'compare HEAD with this commit instead',
    },
    json: { type: 'boolean', default: false, help: 'the plan as one JSON object instead of Markdown' },
    output: {
      type: 'string',
      arg: 'FILE',
      defaultText: 'stdout',
      help: 'write the plan to FILE instead of stdout',
    },
  },
  exitCodes: { 0: 'the plan is printed', 1: 'no plan could be made (git or GitHub failed; see stderr)' },
  example: 'npm run -s ops -- deploy --env prod --plan --from origin/main',
};

export async function runDeployCommand(argv: string[], io: CliIo): Promise<number> {
  const prefix = prefixOf(DEPLOY_SPEC);
  const parsed = parseCommand(argv, DEPLOY_SPEC, io, ({ positionals }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as {
    env: string;
    plan: boolean;
    from?: string;
    json: boolean;
    output?: string;
  };
  if (!values.plan) {
    io.err(
      `${prefix}: only the plan is built so far: add --plan to see what a deploy of ${values.env} would run; not built yet: ${NOT_BUILT.join(', ')}. Nothing was deployed.\n`,
    );
    return 2;
  }
  let config: EnvironmentConfig;
  let root: string;
  const processEnv = (io.env ?? process.env) as NodeJS.ProcessEnv;
  const git = gitIn(io.cwd ?? process.cwd());
  try {
    config = loadEnvironmentConfig(values.env, io.environmentsDir);
    root = await repositoryRoot(git);
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }

  let plan: DeployPlan;
  try {
    const bases = await planBases({
      env: config.name,
      sandbox: config.sandbox,
      from: values.from,
      git,
      github: () => deploymentsRepo(processEnv),
    }).catch((error: unknown) => {
      if (error instanceof UnknownBaseError || error instanceof SettingsError) throw error;
      throw new Error(`reading the deployments of ${config.name}: ${(error as Error).message}`);
    });
    io.err(`${prefix}: planning HEAD against ${describeBases(Object.values(bases).map((b) => b.sha))}\n`);
    plan = await planDeploy({ env: config.name, git, root, bases });
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return error instanceof UnknownBaseError || error instanceof SettingsError ? 2 : 1;
  }
  const text = values.json ? renderPlanJson(plan) : renderPlanMarkdown(plan);
  return (await emitResult(prefix, text, values.output, io)) ? 0 : 2;
}

class SettingsError extends Error {}

function deploymentsRepo(env: NodeJS.ProcessEnv): DeploymentsRepo {
  try {
    const gh = readGitHubEnv(env);
    return { octokit: createGitHubClient(gh, env), owner: gh.owner, repo: gh.repo };
  } catch (error) {
    throw new SettingsError(
      `${(error as Error).message}: reading the last successful deployment needs them (or give --from <sha>)`,
    );
  }
}

function describeBases(shas: (string | null)[]): string {
  const distinct = [...new Set(shas.map((s) => (s ? s.slice(0, 7) : 'nothing (everything)')))];
  return distinct.join(', ');
}
