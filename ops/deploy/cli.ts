/**
 * `ops deploy --env <name> --plan [--from <sha>]`: what a deploy of HEAD would run, and why
 * (plan.ts), against the last successful deployment of the environment (GitHub Deployments:
 * GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL) or --from.
 *
 * `ops deploy --env <name> --stages database,smoke [--allow-destructive FILE]... [--from <sha>]`:
 * the plan restricted to the stages given, then those stages (run.ts), the smoke test (the golive
 * cadence, retried, smoke.ts) last, with a GitHub deployment record when GitHub is configured. Stages not built yet are refused by name (exit 2) before anything
 * runs, never pretended.
 */
import { backupStoreFor } from '../checks/shared-sources.js';
import { parseCommand, prefixOf, UsageError, type CommandSpec } from '../cli-args.js';
import { emitResult, loadCommandTarget, type CliIo } from '../cli-io.js';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import { databaseUrl } from '../config/ops-target.js';
import { loadRunbookConfig, type RunbookConfig } from '../config/runbook-config.js';
import { planCadence } from '../cadences.js';
import { createGitHubClient, readGitHubEnv } from '../incidents/github-client.js';
import type { DeploymentsRepo } from './deployments.js';
import { gitIn, repositoryRoot, type GitRunner } from './git.js';
import { planDeploy, type DeployPlan } from './plan.js';
import { planBases, UnknownBaseError } from './plan-base.js';
import { renderPlanJson, renderPlanMarkdown } from './plan-report.js';
import { exitCodeOf, runDeploy, type DeployRun, type RunStage } from './run.js';
import { renderRunJson, renderRunMarkdown } from './run-report.js';
import { SMOKE_CADENCE, SMOKE_DEFAULTS } from './smoke.js';
import { isStage, STAGES, type Stage } from './stages.js';

/** The stages this command can run today; the others are refused, never pretended. */
export const BUILT_STAGES: readonly Stage[] = ['plan', 'database', 'smoke'];
const NOT_BUILT = STAGES.filter((s) => !BUILT_STAGES.includes(s));
/** What --stages can run today. */
const BUILT_DEPLOY = STAGES.filter((s) => s !== 'plan' && BUILT_STAGES.includes(s));

export const DEPLOY_SPEC: CommandSpec = {
  name: 'deploy',
  synopsis: 'deploy --env NAME (--plan | --stages LIST [--allow-destructive FILE]...) [--from SHA] [options]',
  about: [
    'Deploys HEAD to an environment, or with --plan only says which stages would run and why, from',
    'the paths that changed since the last successful deployment of the environment (GitHub',
    'Deployments, read with GITHUB_TOKEN and GITHUB_REPOSITORY) or since --from. A first deploy, or',
    'the sandbox without --from, plans everything. --stages runs the plan restricted to the stages',
    'listed, then each of them the plan says runs, recording a GitHub deployment (in_progress, then',
    'success or failure) when GITHUB_TOKEN and GITHUB_REPOSITORY are set. Progress on stderr, the',
    'report on stdout. See docs/deploy.md.',
    '',
    `Stages, in order: ${STAGES.join(', ')}. Built so far: plan (--plan), ${BUILT_DEPLOY.join(', ')} (--stages).`,
    'database: pending migrations from the checkout (supabase db push), destructive ones refused',
    'unless allowed by --allow-destructive or an Allow-destructive-migration: trailer in the commits',
    'deployed, a backup into the backup store first. Forward only.',
    `smoke: after the other stages, the ${SMOKE_CADENCE} cadence against the environment (incidents off),`,
    'retried up to --smoke-attempts times, --smoke-interval seconds apart, until its verdict is',
    'better than error; runs when asked even if nothing else deployed. Rollback is not built yet.',
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
      help: 'print the plan and stop: changes nothing',
    },
    stages: {
      type: 'string',
      arg: 'LIST',
      help: `deploy these stages (comma-separated), as far as the plan says they run; built: ${BUILT_DEPLOY.join(', ')}`,
    },
    'allow-destructive': {
      type: 'string',
      arg: 'FILE',
      multiple: true,
      help: 'a migration file allowed to destroy data (with the commit trailers of the deploy)',
    },
    'smoke-attempts': {
      type: 'string',
      arg: 'N',
      default: String(SMOKE_DEFAULTS.attempts),
      help: 'smoke: at most N runs of the go-live checks',
    },
    'smoke-interval': {
      type: 'string',
      arg: 'SECONDS',
      default: String(SMOKE_DEFAULTS.intervalMs / 1000),
      help: 'smoke: the wait between two attempts',
    },
    'report-dir': {
      type: 'string',
      arg: 'DIR',
      default: 'reports',
      help: "where the smoke test's cadence reports are written",
    },
    from: {
      type: 'string',
      arg: 'SHA',
      defaultText: "the environment's last successful deployment; none for local",
      help: 'compare HEAD with this commit instead',
    },
    json: {
      type: 'boolean',
      default: false,
      help: 'the plan or report as one JSON object instead of Markdown',
    },
    output: {
      type: 'string',
      arg: 'FILE',
      defaultText: 'stdout',
      help: 'write the plan or report to FILE instead of stdout',
    },
  },
  exitCodes: {
    0: 'the plan is printed, or the stages succeeded (nothing pending included)',
    1: 'a stage failed or was refused, or no plan could be made (git or GitHub failed; see stderr)',
  },
  example: 'npm run -s ops -- deploy --env local --stages database,smoke --from HEAD~1',
};

export async function runDeployCommand(argv: string[], io: CliIo): Promise<number> {
  const prefix = prefixOf(DEPLOY_SPEC);
  let selected: RunStage[] = [];
  let smokeAttempts: number = SMOKE_DEFAULTS.attempts;
  let smokeIntervalMs: number = SMOKE_DEFAULTS.intervalMs;
  const parsed = parseCommand(argv, DEPLOY_SPEC, io, ({ positionals, values }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.plan && values.stages !== undefined) throw new UsageError('give --plan or --stages, not both');
    const allow = (values['allow-destructive'] as string[] | undefined) ?? [];
    if (allow.length && values.stages === undefined)
      throw new UsageError('--allow-destructive goes with --stages');
    if (values.stages !== undefined) selected = parseStages(values.stages as string);
    const attempts = values['smoke-attempts'] as string;
    if (!/^[1-9]\d*$/.test(attempts) || Number(attempts) > 100)
      throw new UsageError(
        `--smoke-attempts must be a whole number from 1 to 100 (got ${JSON.stringify(attempts)})`,
      );
    smokeAttempts = Number(attempts);
    const interval = values['smoke-interval'] as string;
    if (!/^\d+(\.\d+)?$/.test(interval) || Number(interval) > 600)
      throw new UsageError(
        `--smoke-interval must be seconds from 0 to 600 (got ${JSON.stringify(interval)})`,
      );
    smokeIntervalMs = Math.round(Number(interval) * 1000);
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as {
    env: string;
    plan: boolean;
    stages?: string;
    'allow-destructive'?: string[];
    from?: string;
    json: boolean;
    output?: string;
    'report-dir': string;
  };
  if (!values.plan && values.stages === undefined) {
    io.err(
      `${prefix}: a whole deploy is not built yet: add --plan to see what a deploy of ${values.env} would run, or --stages ${BUILT_DEPLOY.join(',')} to run what is built; not built yet: ${NOT_BUILT.join(', ')}. Nothing was deployed.\n`,
    );
    return 2;
  }
  const notBuilt = selected.filter((s) => !BUILT_STAGES.includes(s));
  if (notBuilt.length) {
    io.err(
      `${prefix}: not built yet: ${notBuilt.join(', ')} (built: ${BUILT_DEPLOY.join(', ')}; --plan shows what they would deploy). Nothing was deployed.\n`,
    );
    return 2;
  }
  let config: EnvironmentConfig;
  let root: string;
  let runbook: RunbookConfig | undefined;
  const processEnv = (io.env ?? process.env) as NodeJS.ProcessEnv;
  const git = gitIn(io.cwd ?? process.cwd());
  try {
    config = loadEnvironmentConfig(values.env, io.environmentsDir);
    root = await repositoryRoot(git);
    if (!values.plan) await refuseUncommitted(git, selected);
    if (selected.includes('smoke')) runbook = loadRunbookConfig();
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }

  if (values.plan) {
    const made = await makePlan(prefix, config, values.from, git, root, processEnv, io);
    if (typeof made === 'number') return made;
    const text = values.json ? renderPlanJson(made.plan) : renderPlanMarkdown(made.plan);
    return (await emitResult(prefix, text, values.output, io)) ? 0 : 2;
  }

  // The environment is ready for what the stages read, or nothing runs (exit 2).
  const target = await loadCommandTarget(prefix, config.name, io, (t) => {
    if (selected.includes('database')) {
      databaseUrl(t);
      backupStoreFor(t);
    }
    if (runbook) return planCadence(SMOKE_CADENCE, t, runbook).close();
  });
  if (!target) return 2;
  const redact = (text: string) => target.secrets.redact(text);
  let github: DeploymentsRepo | undefined;
  let noRecordReason: string | undefined;
  try {
    github = deploymentsRepo(processEnv);
  } catch {
    noRecordReason = `GITHUB_TOKEN and GITHUB_REPOSITORY are not set${config.sandbox ? ` (${config.name} keeps no deployment records)` : ''}`;
    io.err(`${prefix}: no deployment record: ${noRecordReason}\n`);
  }

  const made = await makePlan(prefix, config, values.from, git, root, processEnv, io);
  if (typeof made === 'number') return made;
  let run: DeployRun;
  try {
    run = await runDeploy({
      target,
      plan: made.plan,
      planMs: made.ms,
      selected,
      git,
      root,
      allowDestructive: (values['allow-destructive'] ?? []).map((f) => f.split('/').at(-1)!),
      smoke: {
        attempts: smokeAttempts,
        intervalMs: smokeIntervalMs,
        reportDir: values['report-dir'],
        runbook,
        now: io.now,
      },
      github,
      noRecordReason,
      logUrl: runUrl(processEnv),
      log: (line) => io.err(redact(`${prefix}: ${line}\n`)),
    });
  } catch (error) {
    io.err(redact(`${prefix}: ${(error as Error).message}; nothing was deployed\n`));
    return 1;
  }
  const text = redact(values.json ? renderRunJson(run) : renderRunMarkdown(run));
  const written = await emitResult(prefix, text, values.output, io);
  return written ? exitCodeOf(run) : 2;
}

/** `--stages a,b`: stage names (plan is implied and dropped); unknown names are a usage error. */
function parseStages(list: string): RunStage[] {
  const names = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!names.length) throw new UsageError('--stages needs at least one stage');
  const unknown = names.filter((n) => !isStage(n));
  if (unknown.length)
    throw new UsageError(`unknown stage ${unknown.join(', ')}: the stages are ${STAGES.join(', ')}`);
  const stages = names.filter((n) => n !== 'plan') as Stage[];
  if (!stages.length) throw new UsageError('--stages plan: use --plan');
  // Kept in the deploy's order, whatever the order given.
  return STAGES.filter((s) => stages.includes(s)) as RunStage[];
}

/** A deploy applies HEAD: uncommitted migrations would be applied without being in any commit. */
async function refuseUncommitted(git: GitRunner, selected: readonly Stage[]): Promise<void> {
  if (!selected.includes('database')) return;
  const dirty = (await git(['status', '--porcelain', '--untracked-files=all', '--', 'supabase/migrations/']))
    .split('\n')
    .filter(Boolean);
  if (dirty.length)
    throw new Error(
      `uncommitted changes under supabase/migrations/ (${dirty.map((l) => l.slice(3)).join(', ')}): commit or stash them; a deploy applies HEAD`,
    );
}

async function makePlan(
  prefix: string,
  config: EnvironmentConfig,
  from: string | undefined,
  git: GitRunner,
  root: string,
  processEnv: NodeJS.ProcessEnv,
  io: CliIo,
): Promise<{ plan: DeployPlan; ms: number } | number> {
  const started = Date.now();
  try {
    const bases = await planBases({
      env: config.name,
      sandbox: config.sandbox,
      from,
      git,
      github: () => deploymentsRepo(processEnv),
    }).catch((error: unknown) => {
      if (error instanceof UnknownBaseError || error instanceof SettingsError) throw error;
      throw new Error(`reading the deployments of ${config.name}: ${(error as Error).message}`);
    });
    io.err(`${prefix}: planning HEAD against ${describeBases(Object.values(bases).map((b) => b.sha))}\n`);
    const plan = await planDeploy({ env: config.name, git, root, bases });
    return { plan, ms: Date.now() - started };
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return error instanceof UnknownBaseError || error instanceof SettingsError ? 2 : 1;
  }
}

/** The workflow run's page, for the deployment statuses' log URL (in GitHub Actions only). */
function runUrl(env: NodeJS.ProcessEnv): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = env;
  return server && repo && id ? `${server.replace(/\/+$/, '')}/${repo}/actions/runs/${id}` : undefined;
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
