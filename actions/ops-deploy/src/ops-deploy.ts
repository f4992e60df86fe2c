/**
 * The ops-deploy action: runs `ops deploy` (ops/deploy/cli.ts, the same command and argv as
 * `npm run ops -- deploy`) with --json, so the CLI stays the one place that decides what is
 * deployed; this adapter only turns inputs into argv and the CLI's result into the job summary,
 * a report file for upload-artifact, outputs, and the step's exit. New stages need no change here.
 */
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fitSummary, type ActionCore } from '../../shared/src/action-core.js';
import { InputError, InputReader } from '../../shared/src/inputs.js';
import { secretValues } from '../../shared/src/mask-secrets.js';
import { runOpsCli, tailLines, type RunCli } from '../../shared/src/run-ops-cli.js';
import { loadEnvironmentConfig } from '../../../ops/config/environment-config.js';
import { renderRunMarkdown } from '../../../ops/deploy/run-report.js';
import type { DeployRun } from '../../../ops/deploy/run.js';
import { SELECTABLE_STAGES } from '../../../ops/deploy/stages.js';

/** What the `stages` input may name: what `ops deploy --stages` takes (preflight and rollback come with them). */
export const STAGE_INPUTS: readonly string[] = SELECTABLE_STAGES;

/**
 * Packages the deploy loads at run time from the checkout's node_modules rather than the bundle:
 * esbuild (the plan's bundle inputs; it cannot be bundled), PostgreSQL's parser with its WASM (the
 * migration guard; kept external in scripts/build-actions.ts) and the supabase CLI (db push).
 */
export const CHECKOUT_PACKAGES = ['esbuild', '@libpg-query/parser', 'supabase'] as const;

export interface DeployInputs {
  environment: string;
  /** Empty: the whole deploy (no --stages). */
  stages: string[];
  from?: string;
  smokeAttempts?: number;
  smokeInterval?: string;
  reportDir: string;
  githubToken: string;
}

export type DeployResult = 'success' | 'nothing' | 'failure';

export interface DeployActionDeps {
  core: ActionCore;
  runCli: RunCli;
  /** process.env; GITHUB_TOKEN is set here from the github-token input when it is not set. */
  env: Record<string, string | undefined>;
  /** The repository the action runs from: its node_modules must hold CHECKOUT_PACKAGES. */
  repoRoot: string;
  /** The workspace the report file is written under (the runner's working directory). */
  workspace: string;
  /** The environment's URL for the `environment-url` output (default: its ingest.healthUrl). */
  environmentUrl?: (environment: string) => string | undefined;
}

const SHA = /^[0-9a-f]{7,40}$/;
const SECONDS = /^\d{1,3}(\.\d{1,3})?$/;

/** Every input checked at once; throws one InputError naming each bad one. */
export function readDeployInputs(core: Pick<ActionCore, 'getInput'>): DeployInputs {
  const reader = new InputReader(core);
  const problems: string[] = [];
  const environment = reader.name('environment', 'prod');
  const stagesRaw = core.getInput('stages');
  const stages = stagesRaw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = stages.filter((s) => !(STAGE_INPUTS as readonly string[]).includes(s));
  if (unknown.length || (stagesRaw !== '' && stages.length === 0))
    problems.push(
      `"stages" must be empty (the whole deploy) or a comma-separated list of ${STAGE_INPUTS.join(', ')} (got ${JSON.stringify(stagesRaw)})`,
    );
  const from = core.getInput('from');
  if (from !== '' && !SHA.test(from))
    problems.push(
      `"from" must be a commit SHA (7 to 40 lower-case hex digits) (got ${JSON.stringify(from)})`,
    );
  const smokeAttempts = reader.optionalCount('smoke-attempts');
  if (smokeAttempts !== undefined && smokeAttempts > 100)
    problems.push(`"smoke-attempts" must be at most 100 (got ${smokeAttempts})`);
  const interval = core.getInput('smoke-interval');
  if (interval !== '' && (!SECONDS.test(interval) || Number(interval) > 600))
    problems.push(`"smoke-interval" must be seconds from 0 to 600 (got ${JSON.stringify(interval)})`);
  const reportDir = reader.relativePath('report-dir', 'reports');
  try {
    reader.done();
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    problems.unshift(...error.problems);
  }
  if (problems.length) throw new InputError(problems);
  return {
    environment,
    stages: [...new Set(stages)],
    ...(from ? { from } : {}),
    ...(smokeAttempts !== undefined ? { smokeAttempts } : {}),
    ...(interval ? { smokeInterval: interval } : {}),
    reportDir,
    githubToken: core.getInput('github-token'),
  };
}

/** The CLI's argv: --stages only when stages were given (none: the whole deploy). */
export function deployArgv(i: DeployInputs): string[] {
  return [
    'deploy',
    '--env',
    i.environment,
    ...(i.stages.length ? ['--stages', i.stages.join(',')] : []),
    ...(i.from ? ['--from', i.from] : []),
    ...(i.smokeAttempts !== undefined ? ['--smoke-attempts', String(i.smokeAttempts)] : []),
    ...(i.smokeInterval !== undefined ? ['--smoke-interval', i.smokeInterval] : []),
    '--report-dir',
    i.reportDir,
    '--json',
  ];
}

/** What `ops deploy --stages ... --json` prints (ops/deploy/run-report.ts), as far as the action relies on it. */
export interface DeployJson {
  env: string;
  head: string;
  stages: { stage: string; status: string; summary: string; ms: number }[];
  deployment: { id?: number; state?: string; note?: string };
  /** The Markdown report, when the CLI includes it; otherwise rendered here from the JSON. */
  markdown?: string;
}

export function parseDeployJson(out: string): DeployJson {
  let value: unknown;
  try {
    value = JSON.parse(out);
  } catch {
    throw new Error(`the ops CLI printed no JSON report (got ${JSON.stringify(out.slice(0, 120))})`);
  }
  const v = value as Partial<DeployJson> | null;
  if (
    !v ||
    typeof v.env !== 'string' ||
    typeof v.head !== 'string' ||
    !Array.isArray(v.stages) ||
    typeof v.deployment !== 'object' ||
    v.deployment === null
  )
    throw new Error('the ops CLI printed JSON without env, head, stages and deployment');
  return v as DeployJson;
}

/** Stages that deploy nothing themselves: the checks around the deploy, and putting it back. */
const CHECKS_ONLY = new Set(['plan', 'preflight', 'smoke', 'rollback']);

export function deployResult(code: number, json: DeployJson | undefined): DeployResult {
  if (code !== 0 || !json) return 'failure';
  if (json.stages.some((s) => s.status === 'failure' || s.status === 'refused')) return 'failure';
  return json.stages.some((s) => !CHECKS_ONLY.has(s.stage) && s.status === 'success') ? 'success' : 'nothing';
}

/** The report when the CLI printed none (bad arguments, environment not ready, no plan). */
export function notRunMarkdown(
  argv: readonly string[],
  environment: string,
  code: number,
  err: string,
): string {
  return [
    `# Deploy of ${environment}: failure`,
    '',
    `\`ops ${argv.join(' ')}\` exited ${code} without a deploy report; its last lines:`,
    '',
    '```text',
    tailLines(err, 15) || '(nothing on stderr)',
    '```',
    '',
  ].join('\n');
}

export function reportFileName(environment: string, head: string | undefined): string {
  return `deploy-${environment}${head ? `-${head.slice(0, 12)}` : ''}.md`;
}

export function defaultEnvironmentUrl(environment: string): string | undefined {
  try {
    return loadEnvironmentConfig(environment).ingest?.healthUrl;
  } catch {
    return undefined; // the CLI says what is wrong with the environment
  }
}

export async function runDeployAction(deps: DeployActionDeps): Promise<DeployResult | undefined> {
  const { core, env } = deps;
  // Every value masked is also cut from what this action writes: the runner masks logs and the
  // job summary, but not the report file uploaded as an artifact.
  const secrets = new Set<string>();
  const mask = (value: string) => {
    if (!value || secrets.has(value)) return;
    secrets.add(value);
    core.setSecret(value);
  };
  for (const value of secretValues(env)) mask(value);
  mask(core.getInput('github-token'));
  const redact = (text: string) =>
    [...secrets].sort((a, b) => b.length - a.length).reduce((t, s) => t.split(s).join('***'), text);

  let inputs: DeployInputs;
  try {
    inputs = readDeployInputs(core);
    const missing = CHECKOUT_PACKAGES.filter(
      (p) => !existsSync(join(deps.repoRoot, 'node_modules', p, 'package.json')),
    );
    if (missing.length)
      throw new Error(
        `the deploy loads ${missing.join(', ')} from the checkout's node_modules (${join(deps.repoRoot, 'node_modules')}), which does not have them: run \`npm ci\` before this step`,
      );
  } catch (error) {
    core.setOutput('result', 'failure');
    core.setFailed((error as Error).message);
    return undefined;
  }
  if (inputs.githubToken && !env.GITHUB_TOKEN) env.GITHUB_TOKEN = inputs.githubToken;

  const argv = deployArgv(inputs);
  core.info(`ops ${argv.join(' ')}`);
  const run = await runOpsCli(deps.runCli, argv, (line) => core.info(line), mask);

  let json: DeployJson | undefined;
  let markdown: string;
  try {
    json = parseDeployJson(run.out);
    markdown = json.markdown ?? renderRunMarkdown(json as unknown as DeployRun);
  } catch {
    json = undefined;
    markdown = notRunMarkdown(argv, inputs.environment, run.code, run.err);
  }
  markdown = redact(markdown);
  const result = deployResult(run.code, json);

  const reportPath = join(inputs.reportDir, reportFileName(inputs.environment, json?.head));
  try {
    await mkdir(join(deps.workspace, inputs.reportDir), { recursive: true });
    await writeFile(join(deps.workspace, reportPath), markdown);
    if (json) await writeFile(join(deps.workspace, reportPath.replace(/\.md$/, '.json')), redact(run.out));
  } catch (error) {
    core.warning(`report ${reportPath} not written: ${(error as Error).message}`);
  }
  try {
    await core.writeSummary(fitSummary(markdown));
  } catch (error) {
    core.warning(`job summary not written: ${(error as Error).message}`);
  }

  core.setOutput('result', result);
  core.setOutput('deployment-id', json?.deployment.id !== undefined ? String(json.deployment.id) : '');
  core.setOutput('report-path', reportPath);
  core.setOutput('environment-url', (deps.environmentUrl ?? defaultEnvironmentUrl)(inputs.environment) ?? '');

  const what = inputs.stages.length ? inputs.stages.join(', ') : 'the whole deploy';
  if (result === 'failure') {
    const failed = json?.stages.find((s) => s.status === 'failure' || s.status === 'refused');
    core.setFailed(
      redact(
        failed
          ? `deploy of ${inputs.environment} (${what}): ${failed.stage} ${failed.status}: ${failed.summary}`
          : `deploy of ${inputs.environment} (${what}): ops deploy exited ${run.code}: ${tailLines(run.err) || 'no report'}`,
      ),
    );
  } else {
    core.info(`deploy of ${inputs.environment} (${what}): ${result}`);
  }
  return result;
}
