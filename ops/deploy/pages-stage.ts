/**
 * The pages stage (issue 10, 4): the dashboard built for the environment (its Supabase URL and
 * anon key baked in, the CSP's connect-src naming that URL's origin; a key that is not the anon
 * key is refused before anything is built), then `wrangler pages deploy` through the real wrangler
 * CLI to the project's production branch with the commit deployed, and the deployment read back
 * from the API (the commit recorded, its stage `deploy` a success). The production deployment
 * before it is kept for the rollback (rollbackPages: Cloudflare's rollback API).
 *
 * The local sandbox has no Pages (npm run dev serves the dashboard itself): skipped there.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configProblem } from '../../dashboard/src/lib/anon-key.js';
import { required, type OpsTarget } from '../config/ops-target.js';
import {
  CLOUDFLARE_API,
  getDeployment,
  getProject,
  PagesApiError,
  PROJECT_NOT_FOUND,
  rollbackTo,
  type PagesApi,
  type PagesDeploymentObject,
} from './pages-stage-api.js';
import { listFiles, wranglerPagesDeploy } from './pages-wrangler.js';

/** The secrets the stage reads besides the anon key (wrangler's own variable names). */
export const CLOUDFLARE_API_TOKEN = 'CLOUDFLARE_API_TOKEN';
export const CLOUDFLARE_ACCOUNT_ID = 'CLOUDFLARE_ACCOUNT_ID';

export interface PagesDeployment {
  id: string;
  url: string;
  environment: string;
  /** The commit the deployment records, when it records one. */
  commit: string | null;
}

export interface PagesStageResult {
  status: 'success' | 'skipped' | 'refused' | 'failure';
  summary: string;
  ms: number;
  project?: string;
  branch?: string;
  /** The production deployment before this deploy, and the one after it. */
  before: PagesDeployment | null;
  after: PagesDeployment | null;
  /** The files uploaded (dist, as wrangler walks it). */
  files: string[];
  timings: { buildMs: number; deployMs: number };
  /** wrangler's output (secrets redacted), for the report. */
  output?: string;
  error?: string;
}

export interface PagesStageOptions {
  target: OpsTarget;
  /** The checkout: its dashboard/ is built, its node_modules has vite and wrangler. */
  root: string;
  commitSha: string;
  log: (line: string) => void;
  /** Cloudflare's API; default CLOUDFLARE_API_BASE_URL of the run's environment, else Cloudflare's. */
  apiBaseUrl?: string;
  /** wrangler's whole run (upload and the deployment's status polls). */
  timeoutMs?: number;
  /** Keep the build directory (tests read it); default: removed. */
  keepWorkDir?: (dir: string) => void;
}

export const describeDeployment = (d: PagesDeploymentObject | null | undefined): PagesDeployment | null =>
  d
    ? {
        id: d.id,
        url: d.url,
        environment: d.environment,
        commit: d.deployment_trigger?.metadata?.commit_hash || null,
      }
    : null;

/** A deployment for reports: its commit and id. */
export const shortDeployment = (d: PagesDeployment | null): string | null =>
  d ? `${d.commit ? d.commit.slice(0, 7) : 'no commit'} (${d.id.slice(0, 8)})` : null;

export function apiOf(options: Pick<PagesStageOptions, 'target' | 'apiBaseUrl'>): PagesApi {
  const { target } = options;
  return {
    baseUrl: options.apiBaseUrl ?? target.env.CLOUDFLARE_API_BASE_URL ?? CLOUDFLARE_API,
    token: target.secrets.read(CLOUDFLARE_API_TOKEN),
    accountId: target.secrets.read(CLOUDFLARE_ACCOUNT_ID),
  };
}

export async function runPagesStage(options: PagesStageOptions): Promise<PagesStageResult> {
  const started = Date.now();
  const { target, log } = options;
  const result: PagesStageResult = {
    status: 'success',
    summary: '',
    ms: 0,
    before: null,
    after: null,
    files: [],
    timings: { buildMs: 0, deployMs: 0 },
  };
  const done = (status: PagesStageResult['status'], summary: string, error?: string) => {
    Object.assign(result, { status, summary, ms: Date.now() - started });
    if (error) result.error = target.secrets.redact(error);
    return result;
  };
  if (target.local)
    return done(
      'skipped',
      'the local sandbox has no Cloudflare Pages: npm run dev serves the dashboard itself',
    );

  const pages = required(target, 'deploy.pages (the Cloudflare Pages project)', target.config.deploy?.pages);
  result.project = pages.project;
  result.branch = pages.productionBranch;
  const anonKey = target.secrets.read(pages.anonKeyEnv);
  const problem = configProblem({ supabaseUrl: pages.supabaseUrl, supabaseAnonKey: anonKey });
  if (problem)
    return done('refused', `${pages.anonKeyEnv} / deploy.pages.supabaseUrl: ${problem}; nothing built`);
  const api = apiOf(options);

  try {
    const project = await getProject(api, pages.project);
    if (project.production_branch !== pages.productionBranch)
      return done(
        'refused',
        `Pages project ${pages.project} publishes branch ${project.production_branch}, the YAML says ` +
          `${pages.productionBranch}: fix deploy.pages.productionBranch; nothing deployed`,
      );
    result.before = describeDeployment(project.canonical_deployment);
  } catch (error) {
    if (error instanceof PagesApiError && error.codes.includes(PROJECT_NOT_FOUND))
      return done(
        'refused',
        `the Pages project ${pages.project} does not exist: create it once with \`npx wrangler pages ` +
          `project create ${pages.project} --production-branch ${pages.productionBranch}\`; nothing deployed`,
      );
    return done(
      'failure',
      `reading the Pages project: ${(error as Error).message}`,
      (error as Error).message,
    );
  }
  log(`production serves ${shortDeployment(result.before) ?? 'nothing yet'}`);

  const work = await mkdtemp(join(tmpdir(), 'ops-pages-'));
  try {
    const dist = join(work, 'dist');
    let t0 = Date.now();
    try {
      await buildDashboard(options.root, dist, {
        VITE_SUPABASE_URL: pages.supabaseUrl,
        VITE_SUPABASE_ANON_KEY: anonKey,
      });
    } catch (error) {
      result.timings.buildMs = Date.now() - t0;
      return done('failure', 'building the dashboard failed', (error as Error).message);
    }
    // Vite's manifest is for the bundle budget, not for visitors.
    await rm(join(dist, '.vite'), { recursive: true, force: true });
    result.files = await listFiles(dist);
    result.timings.buildMs = Date.now() - t0;
    log(
      `built ${result.files.length} files for ${new URL(pages.supabaseUrl).origin} in ${result.timings.buildMs} ms`,
    );

    t0 = Date.now();
    const run = await wranglerPagesDeploy(
      { root: options.root, secrets: target.secrets, log, timeoutMs: options.timeoutMs },
      {
        work,
        api,
        dist,
        project: pages.project,
        branch: pages.productionBranch,
        commitSha: options.commitSha,
        commitMessage: `ops deploy ${options.commitSha.slice(0, 7)}`,
      },
    );
    result.timings.deployMs = Date.now() - t0;
    result.output = target.secrets.redact(run.output);
    if (!run.deploymentId) return done('failure', run.error!, run.output);
    const deployed = run.deploymentId;
    const read = await getDeployment(api, pages.project, deployed);
    result.after = describeDeployment(read);
    if (read.latest_stage?.name !== 'deploy' || read.latest_stage.status !== 'success')
      return done(
        'failure',
        `deployment ${deployed} is ${read.latest_stage ? `${read.latest_stage.name} ${read.latest_stage.status}` : 'without a stage'}, not deployed`,
      );
    if (result.after?.commit !== options.commitSha)
      return done(
        'failure',
        `deployment ${deployed} records commit ${result.after?.commit ?? 'none'}, not ${options.commitSha}`,
      );
    log(`deployed ${shortDeployment(result.after)} at ${read.url} in ${result.timings.deployMs} ms`);
    return done('success', `${options.commitSha.slice(0, 7)} on ${pages.project} (${read.url})`);
  } finally {
    if (options.keepWorkDir) options.keepWorkDir(work);
    else await rm(work, { recursive: true, force: true });
  }
}

export interface PagesRollbackOptions {
  target: OpsTarget;
  log: (line: string) => void;
  apiBaseUrl?: string;
  /** The deployment this deploy made: production must still serve it, else nothing is touched. */
  shipped: string | undefined;
  /** The production deployment before it: what production goes back to. */
  previous: string | undefined;
}

export async function rollbackPages(options: PagesRollbackOptions): Promise<PagesStageResult> {
  const started = Date.now();
  const { target } = options;
  const result: PagesStageResult = {
    status: 'success',
    summary: '',
    ms: 0,
    before: null,
    after: null,
    files: [],
    timings: { buildMs: 0, deployMs: 0 },
  };
  const done = (status: PagesStageResult['status'], summary: string) =>
    Object.assign(result, { status, summary: target.secrets.redact(summary), ms: Date.now() - started });
  if (!options.shipped) return done('refused', 'this deploy made no Pages deployment: nothing to put back');
  if (!options.previous)
    return done('refused', 'production had no deployment before this one: nothing to go back to');
  const pages = required(target, 'deploy.pages (the Cloudflare Pages project)', target.config.deploy?.pages);
  result.project = pages.project;
  try {
    const api = apiOf(options);
    const project = await getProject(api, pages.project);
    result.before = describeDeployment(project.canonical_deployment);
    if (project.canonical_deployment?.id !== options.shipped)
      return done(
        'refused',
        `production serves ${shortDeployment(result.before) ?? 'nothing'}, not this deploy's ${options.shipped}: left as it is`,
      );
    await rollbackTo(api, pages.project, options.previous);
    // What production serves now, as the API says (not what the rollback call answered).
    result.after = describeDeployment((await getProject(api, pages.project)).canonical_deployment);
    if (result.after?.id !== options.previous)
      return done(
        'failure',
        `rolled back, yet production serves ${shortDeployment(result.after) ?? 'nothing'}`,
      );
    options.log(`production serves ${shortDeployment(result.after)} again`);
    return done('success', `production back on ${shortDeployment(result.after)}`);
  } catch (error) {
    return done('failure', `rolling back: ${(error as Error).message}`);
  }
}

/** The vite build of dashboard/ (as npm run build:dashboard) into `outDir`. */
async function buildDashboard(root: string, outDir: string, env: Record<string, string>): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    execFile(
      process.execPath,
      [
        join(root, 'node_modules/vite/bin/vite.js'),
        'build',
        '--config',
        join(root, 'dashboard/vite.config.ts'),
        '--outDir',
        outDir,
        '--emptyOutDir',
        '--logLevel',
        'warn',
      ],
      { cwd: root, env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${error.message}\n${stdout}${stderr}`.trim()));
        else resolve();
      },
    );
  });
}
