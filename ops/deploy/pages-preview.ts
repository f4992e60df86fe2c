/**
 * A pull request's dashboard preview on Cloudflare Pages (issue 10, 4; docs/deploy.md "Previews").
 *
 * Pull request jobs get no secrets (test/workflows/workflow-policy.ts), and the deploy must not
 * run the pull request's code where a token is. So the pull request's own workflow builds the
 * dashboard without any configuration (the app then reads config.json at start) and uploads the
 * files; a second workflow, triggered by it and running main's code in the `preview` GitHub
 * environment, deploys those files with this module:
 * - the files are checked as untrusted (pages-preview-files.ts: static only, no symlinks);
 * - config.json is written with the preview's Supabase URL and anon key (deploy.pages.preview, else
 *   production's; a key that is not the anon key is refused), and _headers is main's, rendered for
 *   that URL: a pull request cannot loosen the CSP its own preview is served with;
 * - wrangler deploys to the branch `pr-<number>`, never the production branch, so the deployment is
 *   a preview with the alias https://pr-<number>.<project>.pages.dev;
 * - the deployment is read back (a preview, stage deploy success, the commit recorded) and
 *   production's deployment is read before and after: it must not have moved.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configProblem } from '../../dashboard/src/lib/anon-key.js';
import { renderHeaders } from '../../dashboard/src/lib/pages-headers.js';
import { required, type OpsTarget } from '../config/ops-target.js';
import { checkPreviewFiles, PreviewFilesError } from './pages-preview-files.js';
import { apiOf, describeDeployment, shortDeployment, type PagesDeployment } from './pages-stage.js';
import { getDeployment, getProject, PagesApiError, PROJECT_NOT_FOUND } from './pages-stage-api.js';
import { wranglerPagesDeploy } from './pages-wrangler.js';

export interface PagesPreviewOptions {
  target: OpsTarget;
  /** main's checkout: its node_modules has wrangler, its dashboard/public/_headers is used. */
  root: string;
  /** The pull request's build (dashboard/dist of a build without VITE_SUPABASE_*). */
  dist: string;
  pullRequest: number;
  /** The pull request's head commit the build was made from. */
  commitSha: string;
  log: (line: string) => void;
  apiBaseUrl?: string;
  timeoutMs?: number;
}

export interface PagesPreviewResult {
  status: 'success' | 'refused' | 'failure';
  summary: string;
  ms: number;
  project?: string;
  branch?: string;
  /** The deployment's own URL and its stable alias (the branch's). */
  url?: string;
  alias?: string;
  deployment?: PagesDeployment | null;
  /** The Supabase origin the preview talks to. */
  supabaseOrigin?: string;
  files: number;
  bytes: number;
  error?: string;
}

/** The Pages branch of a pull request's preview; its alias is https://<branch>.<project>.pages.dev */
export const previewBranch = (pullRequest: number) => `pr-${pullRequest}`;

export async function deployPagesPreview(options: PagesPreviewOptions): Promise<PagesPreviewResult> {
  const started = Date.now();
  const { target, log } = options;
  const result: PagesPreviewResult = { status: 'success', summary: '', ms: 0, files: 0, bytes: 0 };
  const done = (status: PagesPreviewResult['status'], summary: string, error?: string) => {
    Object.assign(result, { status, summary: target.secrets.redact(summary), ms: Date.now() - started });
    if (error) result.error = target.secrets.redact(error);
    return result;
  };
  if (target.local)
    return done('refused', 'the local sandbox has no Cloudflare Pages: npm run dev serves the dashboard');
  if (!Number.isSafeInteger(options.pullRequest) || options.pullRequest < 1)
    return done('refused', `pull request number ${String(options.pullRequest)} is not a positive integer`);
  if (!/^[0-9a-f]{40}$/.test(options.commitSha))
    return done('refused', `commit ${JSON.stringify(options.commitSha)} is not a full commit SHA`);
  const pages = required(target, 'deploy.pages (the Cloudflare Pages project)', target.config.deploy?.pages);
  const branch = previewBranch(options.pullRequest);
  Object.assign(result, { project: pages.project, branch });
  // Cannot happen with pr-<n> unless the production branch is named so: then a preview would be production.
  if (branch === pages.productionBranch)
    return done('refused', `${branch} is the project's production branch: no preview may be deployed to it`);
  const supabase = pages.preview ?? { supabaseUrl: pages.supabaseUrl, anonKeyEnv: pages.anonKeyEnv };
  const anonKey = target.secrets.read(supabase.anonKeyEnv);
  const problem = configProblem({ supabaseUrl: supabase.supabaseUrl, supabaseAnonKey: anonKey });
  if (problem) return done('refused', `${supabase.anonKeyEnv} / the preview's Supabase URL: ${problem}`);
  result.supabaseOrigin = new URL(supabase.supabaseUrl).origin;

  let checked;
  try {
    checked = await checkPreviewFiles(options.dist);
  } catch (error) {
    if (error instanceof PreviewFilesError) return done('refused', `${error.message}; nothing deployed`);
    throw error;
  }
  Object.assign(result, { files: checked.files.length, bytes: checked.bytes });
  const api = apiOf(options);
  let productionBefore: string | null;
  try {
    const project = await getProject(api, pages.project);
    productionBefore = project.canonical_deployment?.id ?? null;
  } catch (error) {
    if (error instanceof PagesApiError && error.codes.includes(PROJECT_NOT_FOUND))
      return done(
        'refused',
        `the Pages project ${pages.project} does not exist (docs/deploy.md, "Pages stage")`,
      );
    return done(
      'failure',
      `reading the Pages project: ${(error as Error).message}`,
      (error as Error).message,
    );
  }

  const work = await mkdtemp(join(tmpdir(), 'ops-pages-preview-'));
  try {
    const dist = join(work, 'dist');
    // A copy: the files checked are the files sent, and the build's folder is left as it was.
    await cp(options.dist, dist, { recursive: true, verbatimSymlinks: true });
    await checkPreviewFiles(dist);
    const config = { supabaseUrl: supabase.supabaseUrl, supabaseAnonKey: anonKey };
    await writeFile(join(dist, 'config.json'), `${JSON.stringify(config)}\n`);
    const template = await readFile(join(options.root, 'dashboard/public/_headers'), 'utf8');
    await writeFile(join(dist, '_headers'), renderHeaders(template, supabase.supabaseUrl));
    log(
      `${checked.files.length} files (${checked.bytes} bytes) of pull request #${options.pullRequest} ` +
        `(${options.commitSha.slice(0, 7)}) for ${result.supabaseOrigin}, main's headers`,
    );

    const run = await wranglerPagesDeploy(
      { root: options.root, secrets: target.secrets, log, timeoutMs: options.timeoutMs },
      {
        work,
        api,
        dist,
        project: pages.project,
        branch,
        commitSha: options.commitSha,
        commitMessage: `preview of pull request #${options.pullRequest}`,
      },
    );
    if (!run.deploymentId) return done('failure', run.error!, run.output);
    const id = run.deploymentId;
    const read = await getDeployment(api, pages.project, id);
    result.deployment = describeDeployment(read);
    result.url = read.url;
    result.alias = read.aliases?.[0];
    const productionAfter = (await getProject(api, pages.project)).canonical_deployment?.id ?? null;
    if (productionAfter !== productionBefore)
      return done(
        'failure',
        `production moved from ${productionBefore ?? 'nothing'} to ${productionAfter ?? 'nothing'} during a preview deploy: ` +
          `check deploy.pages.productionBranch and the project's production branch`,
      );
    if (read.environment !== 'preview')
      return done('failure', `deployment ${id} is a ${read.environment} deployment, not a preview`);
    if (read.latest_stage?.name !== 'deploy' || read.latest_stage.status !== 'success')
      return done('failure', `deployment ${id} is not deployed (${read.latest_stage?.name ?? 'no stage'})`);
    if (result.deployment?.commit !== options.commitSha)
      return done('failure', `deployment ${id} records commit ${result.deployment?.commit ?? 'none'}`);
    log(
      `preview ${shortDeployment(result.deployment)} at ${read.url}${result.alias ? ` and ${result.alias}` : ''}`,
    );
    return done('success', `pull request #${options.pullRequest} previewed at ${result.alias ?? read.url}`);
  } catch (error) {
    return done('failure', `preview deploy: ${(error as Error).message}`, (error as Error).message);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
