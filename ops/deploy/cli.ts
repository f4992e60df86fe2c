/**
 * `ops deploy --env <name> --plan [--from <sha>]`: what a deploy of HEAD would run, and why
 * (plan.ts), against the last successful deployment of the environment (GitHub Deployments:
 * GITHUB_TOKEN, GITHUB_REPOSITORY, GITHUB_API_URL) or --from.
 *
 * `ops deploy --env <name> [--stages database,functions,vm,smoke] [--allow-destructive FILE]...`:
 * the deploy (run.ts): plan, preflight, the deploy stages the plan runs, the smoke test, the
 * rollback when it fails, with a GitHub deployment record when GitHub is configured and the
 * deploy's incident. What the workflow's action runs, the same code.
 */
import { parseCommand, prefixOf, UsageError, type CommandSpec } from '../cli-args.js';
import { emitResult, loadCommandTarget, type CliIo } from '../cli-io.js';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import { loadRunbookConfig, type RunbookConfig } from '../config/runbook-config.js';
import { createGitHubClient, readGitHubEnv } from '../incidents/github-client.js';
import type { DeploymentsRepo } from './deployments.js';
import { gitIn, repositoryRoot, type GitRunner } from './git.js';
import { planDeploy, type DeployPlan } from './plan.js';
import { planBases, UnknownBaseError } from './plan-base.js';
import { renderPlanJson, renderPlanMarkdown } from './plan-report.js';
import { exitCodeOf, runDeploy, type DeployRun, type RunStage } from './run.js';
import { renderRunJson, renderRunMarkdown } from './run-report.js';
import { SMOKE_CADENCE, SMOKE_DEFAULTS } from './smoke.js';
import { DEPLOY_STAGES } from './deployables.js';
import { runPreviewCommand } from './preview-cli.js';
import { azurePreflightProbe } from '../preflight/azure-access.js';
import { defaultStageRunners } from './stage-runners.js';
import { uncommittedSources } from './uncommitted.js';
import { isStage, SELECTABLE_STAGES, STAGES, type Stage } from './stages.js';
import { createIncidentStore } from '../incidents/create-incident-store.js';
import type { IncidentStore } from '../incidents/store.js';

const INCIDENT_MODES = ['github', 'local', 'off'] as const;
type IncidentMode = (typeof INCIDENT_MODES)[number];

export const DEPLOY_SPEC: CommandSpec = {
  name: 'deploy',
  synopsis: 'deploy --env NAME [--plan | --stages LIST] [--allow-destructive FILE]... [--from SHA] [options]',
  about: [
    'Deploys HEAD to an environment, or with --plan only says which stages would run and why, from',
    'the paths that changed since the last successful deployment of the environment (GitHub',
    'Deployments, read with GITHUB_TOKEN and GITHUB_REPOSITORY) or since --from. A first deploy, or',
    'the sandbox without --from, plans everything. A deploy records a GitHub deployment (in_progress,',
    'then success or failure) when GITHUB_TOKEN and GITHUB_REPOSITORY are set. Progress on stderr,',
    'the report on stdout. See docs/deploy.md.',
    '',
    `Stages, in order: ${STAGES.join(', ')}.`,
    `--stages restricts a deploy to some of ${SELECTABLE_STAGES.join(', ')}; preflight runs before them`,
    'and rollback after them when needed.',
    'preflight: the secrets and settings the stages read, the targets reachable, the health before',
    '(one run of the smoke checks). A missing secret refuses the deploy by name.',
    'database: pending migrations from the checkout (supabase db push), destructive ones refused',
    'unless allowed by --allow-destructive or an Allow-destructive-migration: trailer in the commits',
    'deployed, a backup into the backup store first. Forward only.',
    'functions: the package built from the checkout, deployed unless the same package runs already,',
    "done when the app's /health reports HEAD. vm: Ansible (ansible/site.yml) applies the broker",
    'configuration and the bridge release, after a --check --diff run.',
    `smoke: the ${SMOKE_CADENCE} cadence against the environment (incidents off), up to --smoke-attempts`,
    'runs --smoke-interval seconds apart; checks failing before the deploy are not held against it.',
    'pages: the dashboard built for the environment and deployed with wrangler pages deploy.',
    'rollback: when the smoke test or the functions, vm or pages stage fails, what this deploy changed',
    'of those goes back to its previous release, the smoke test runs again and an incident',
    '(deploy/<env>) carries the report.',
    '',
    "`deploy preview ...` deploys a pull request's dashboard build as a Pages preview (--help there).",
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
      defaultText: SELECTABLE_STAGES.join(','),
      help: 'deploy only these stages (comma-separated), as far as the plan says they run',
    },
    'allow-destructive': {
      type: 'string',
      arg: 'FILE',
      multiple: true,
      help: 'a migration file allowed to destroy data (with the commit trailers of the deploy)',
    },
    check: {
      type: 'boolean',
      default: false,
      help: "with --stages vm: only Ansible's --check --diff (what the vm stage would change); changes nothing, records nothing",
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
    incidents: {
      type: 'string',
      arg: 'MODE',
      defaultText: 'github in GitHub Actions, else local',
      help: "where a failed deploy's incident goes: github (issues), local (.ops/<env>/incidents.json) or off",
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
    0: 'the plan is printed, or the deploy succeeded (nothing to deploy included)',
    1: 'a stage failed or was refused, the deploy was rolled back, or no plan could be made (see stderr)',
  },
  example: 'npm run -s ops -- deploy --env local',
};

export async function runDeployCommand(argv: string[], io: CliIo): Promise<number> {
  if (argv[0] === 'preview') return runPreviewCommand(argv.slice(1), io);
  const prefix = prefixOf(DEPLOY_SPEC);
  let selected: RunStage[] = [...SELECTABLE_STAGES];
  let smokeAttempts: number = SMOKE_DEFAULTS.attempts;
  let smokeIntervalMs: number = SMOKE_DEFAULTS.intervalMs;
  const parsed = parseCommand(argv, DEPLOY_SPEC, io, ({ positionals, values }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (values.plan && values.stages !== undefined) throw new UsageError('give --plan or --stages, not both');
    const allow = (values['allow-destructive'] as string[] | undefined) ?? [];
    if (allow.length && values.plan)
      throw new UsageError('--allow-destructive goes with a deploy, not --plan');
    if (values.stages !== undefined) selected = parseStages(values.stages as string);
    if (values.check && (values.stages === undefined || selected.join(',') !== 'vm'))
      throw new UsageError('--check goes with --stages vm (the other stages have no dry run)');
    const mode = values.incidents as string | undefined;
    if (mode !== undefined && !(INCIDENT_MODES as readonly string[]).includes(mode))
      throw new UsageError(
        `--incidents must be one of ${INCIDENT_MODES.join(', ')} (got ${JSON.stringify(mode)})`,
      );
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
    incidents?: IncidentMode;
    check: boolean;
  };
  let config: EnvironmentConfig;
  let root: string;
  let runbook: RunbookConfig | undefined;
  const processEnv = (io.env ?? process.env) as NodeJS.ProcessEnv;
  const git = gitIn(io.cwd ?? process.cwd());
  try {
    config = loadEnvironmentConfig(values.env, io.environmentsDir);
    root = await repositoryRoot(git);
    if (!values.plan) await refuseUncommitted(git, root, selected);
    if (!values.plan && selected.includes('smoke')) runbook = loadRunbookConfig();
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

  // What the stages need is checked by the preflight stage, for the stages the plan runs, and
  // reported (a missing secret refuses the deploy by name); here only the environment is loaded.
  const target = await loadCommandTarget(prefix, config.name, io, () => {});
  if (!target) return 2;
  // A check changes nothing: no incident to open or close, no deployment to record.
  const incidentMode: IncidentMode = values.check
    ? 'off'
    : (values.incidents ?? (processEnv.GITHUB_ACTIONS === 'true' ? 'github' : 'local'));
  let incidents: IncidentStore;
  try {
    incidents = createIncidentStore({
      mode: incidentMode,
      env: config.name,
      rootDir: io.incidentsRoot,
      environment: processEnv,
      now: io.now,
    });
  } catch (error) {
    io.err(`${prefix}: incidents: ${(error as Error).message}\n`);
    return 2;
  }
  const redact = (text: string) => target.secrets.redact(text);
  let github: DeploymentsRepo | undefined;
  let noRecordReason: string | undefined;
  try {
    github = deploymentsRepo(processEnv);
    if (values.check) {
      github = undefined;
      noRecordReason = '--check changes nothing';
    }
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
      runners: defaultStageRunners({ vm: { checkOnly: values.check } }),
      // Azure as the functions stage will sign in to it, checked like `ops preflight` does.
      preflight: { probes: { azure: azurePreflightProbe() } },
      incidents,
      github,
      noRecordReason,
      logUrl: runUrl(processEnv),
      now: io.now,
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
  if (names.length === 1 && names[0] === 'plan') throw new UsageError('--stages plan: use --plan');
  const around = names.filter((n) => !(SELECTABLE_STAGES as readonly string[]).includes(n));
  if (around.length)
    throw new UsageError(
      `--stages ${around.join(', ')}: ${around.join(' and ')} run${around.length === 1 ? 's' : ''} with the other stages, not on ${around.length === 1 ? 'its' : 'their'} own; name some of ${SELECTABLE_STAGES.join(', ')}`,
    );
  // Kept in the deploy's order, whatever the order given.
  return SELECTABLE_STAGES.filter((s) => names.includes(s));
}

/** A deploy applies HEAD: uncommitted migrations or sources would ship without being in any commit. */
async function refuseUncommitted(git: GitRunner, root: string, selected: readonly Stage[]): Promise<void> {
  const dirty = await uncommittedSources(
    git,
    root,
    DEPLOY_STAGES.filter((s) => selected.includes(s)),
  );
  if (dirty.length)
    throw new Error(
      `uncommitted changes to what the deploy ships (${dirty.join(', ')}): commit or stash them; a deploy applies HEAD`,
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
