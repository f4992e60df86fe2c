/**
 * `ops deploy preview --env NAME --dist DIR --pull-request N --commit SHA [--comment MODE]`: a pull
 * request's dashboard build deployed as a Cloudflare Pages preview (pages-preview.ts), and one
 * comment on the pull request with its address. What .github/workflows/dashboard-preview-deploy.yml
 * runs, from main's checkout, with the files the pull request's own workflow built.
 */
import { appendFile } from 'node:fs/promises';
import { parseCommand, prefixOf, UsageError, type CommandSpec } from '../cli-args.js';
import { loadCommandTarget, type CliIo } from '../cli-io.js';
import { required, type OpsTarget } from '../config/ops-target.js';
import { createGitHubClient, readGitHubEnv } from '../incidents/github-client.js';
import { gitIn, repositoryRoot } from './git.js';
import { previewCommentBody, upsertPreviewComment } from './pages-preview-comment.js';
import { deployPagesPreview } from './pages-preview.js';
import { CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN } from './pages-stage.js';

const COMMENT_MODES = ['github', 'off'] as const;

export const PREVIEW_SPEC: CommandSpec = {
  name: 'deploy preview',
  synopsis: 'deploy preview --env NAME --dist DIR --pull-request N --commit SHA [--comment github|off]',
  about: [
    "Deploys a pull request's dashboard build (built without VITE_SUPABASE_*, so the app reads",
    'config.json) to Cloudflare Pages as a preview on the branch pr-N: the files are checked as',
    "untrusted (static only), config.json gets the preview's Supabase URL and anon key",
    "(deploy.pages.preview, else production's), _headers is this checkout's. Production is read",
    'before and after and must not move. With --comment github (GITHUB_TOKEN, GITHUB_REPOSITORY)',
    'the pull request gets one comment with the address, edited by later previews. See',
    'docs/deploy.md, "Previews of pull requests".',
  ],
  options: {
    env: {
      type: 'string',
      arg: 'NAME',
      required: true,
      help: 'runbook/environments/NAME.yaml (its deploy.pages)',
    },
    dist: { type: 'string', arg: 'DIR', required: true, help: "the pull request's dashboard build" },
    'pull-request': { type: 'string', arg: 'N', required: true, help: 'the pull request number' },
    commit: {
      type: 'string',
      arg: 'SHA',
      required: true,
      help: "the pull request's head commit (40 hex digits)",
    },
    comment: {
      type: 'string',
      arg: 'MODE',
      defaultText: 'github in GitHub Actions, else off',
      help: 'github: one comment on the pull request with the preview; off: none',
    },
  },
  exitCodes: {
    0: 'the preview is deployed',
    1: 'it was refused or failed (the reason on stderr, and in the comment)',
  },
  example:
    'npm run -s ops -- deploy preview --env prod --dist dashboard/dist --pull-request 12 --commit $(git rev-parse HEAD)',
};

/** What the preview reads, for the preflight: wrangler's token and account, the anon key. */
function previewUses(target: OpsTarget): void {
  const pages = required(target, 'deploy.pages (the Cloudflare Pages project)', target.config.deploy?.pages);
  target.secrets.read(CLOUDFLARE_API_TOKEN);
  target.secrets.read(CLOUDFLARE_ACCOUNT_ID);
  target.secrets.read((pages.preview ?? pages).anonKeyEnv);
}

export interface PreviewCommandOptions {
  /** Cloudflare's API (tests: the stand-in); default CLOUDFLARE_API_BASE_URL, else Cloudflare's. */
  apiBaseUrl?: string;
  /** Whose comment is edited (tests: the stand-in's user). */
  commentAuthor?: string;
}

export async function runPreviewCommand(
  argv: string[],
  io: CliIo,
  options: PreviewCommandOptions = {},
): Promise<number> {
  const prefix = prefixOf(PREVIEW_SPEC);
  const parsed = parseCommand(argv, PREVIEW_SPEC, io, ({ positionals, values }) => {
    if (positionals.length) throw new UsageError(`unexpected argument ${positionals[0]}`);
    if (!/^[1-9]\d{0,9}$/.test(String(values['pull-request'])))
      throw new UsageError(
        `--pull-request must be a pull request number (got ${JSON.stringify(values['pull-request'])})`,
      );
    if (!/^[0-9a-f]{40}$/.test(String(values.commit)))
      throw new UsageError(`--commit must be a full commit SHA (got ${JSON.stringify(values.commit)})`);
    const mode = values.comment as string | undefined;
    if (mode !== undefined && !(COMMENT_MODES as readonly string[]).includes(mode))
      throw new UsageError(
        `--comment must be one of ${COMMENT_MODES.join(', ')} (got ${JSON.stringify(mode)})`,
      );
  });
  if ('exit' in parsed) return parsed.exit;
  const values = parsed.values as {
    env: string;
    dist: string;
    'pull-request': string;
    commit: string;
    comment?: string;
  };
  const processEnv = (io.env ?? process.env) as NodeJS.ProcessEnv;
  const comment = values.comment ?? (processEnv.GITHUB_ACTIONS === 'true' ? 'github' : 'off');
  let github: ReturnType<typeof readGitHubEnv> | undefined;
  if (comment === 'github') {
    try {
      github = readGitHubEnv(processEnv);
    } catch (error) {
      io.err(`${prefix}: --comment github: ${(error as Error).message}\n`);
      return 2;
    }
  }
  const target = await loadCommandTarget(prefix, values.env, io, previewUses);
  if (!target) return 2;
  let root: string;
  try {
    root = await repositoryRoot(gitIn(io.cwd ?? process.cwd()));
  } catch (error) {
    io.err(`${prefix}: ${(error as Error).message}\n`);
    return 2;
  }
  const pullRequest = Number(values['pull-request']);
  const result = await deployPagesPreview({
    target,
    root,
    dist: values.dist,
    pullRequest,
    commitSha: values.commit,
    log: (line) => io.err(`${prefix}: ${line}\n`),
    apiBaseUrl: options.apiBaseUrl,
  });
  io.out(`${result.status}: ${result.summary}\n`);
  // In Actions: the address for the job's environment URL, the outcome in the job summary.
  if (processEnv.GITHUB_OUTPUT && result.status === 'success')
    await appendFile(processEnv.GITHUB_OUTPUT, `url=${result.alias ?? result.url ?? ''}\n`);
  if (processEnv.GITHUB_STEP_SUMMARY)
    await appendFile(
      processEnv.GITHUB_STEP_SUMMARY,
      `${target.secrets.redact(previewCommentBody(result, values.commit))}\n`,
    );
  if (result.error && result.status === 'failure') io.err(`${prefix}: ${result.error}\n`);
  if (github) {
    const runUrl =
      processEnv.GITHUB_RUN_ID && github.serverUrl
        ? `${github.serverUrl}/${github.repository}/actions/runs/${processEnv.GITHUB_RUN_ID}`
        : undefined;
    try {
      const url = await upsertPreviewComment(
        {
          client: createGitHubClient(github, processEnv),
          owner: github.owner,
          repo: github.repo,
          pullRequest,
          author: options.commentAuthor,
        },
        target.secrets.redact(previewCommentBody(result, values.commit, runUrl)),
      );
      io.err(`${prefix}: comment ${url}\n`);
    } catch (error) {
      // The preview is deployed either way; a comment that could not be written is said, not fatal.
      io.err(`${prefix}: the pull request comment could not be written: ${(error as Error).message}\n`);
    }
  }
  return result.status === 'success' ? 0 : 1;
}
