/**
 * The incident store for a run: `github` (issues of GITHUB_REPOSITORY through GITHUB_API_URL with
 * GITHUB_TOKEN), `local` (`.ops/<env>/incidents.json`) or `off`. Settings are checked here, before
 * any check runs, so a missing token fails fast with a clear message.
 */
import { createGitHubClient, readGitHubEnv, type GitHubClient } from './github-client.js';
import { createGitHubIncidentStore } from './github-store.js';
import { createLocalIncidentStore } from './local-store.js';
import { playbookWorkflowUrl, type IncidentMode, type IncidentStore } from './store.js';

export interface CreateIncidentStoreOptions {
  mode: IncidentMode;
  /** Environment name (`local`, `staging`, `production`): issues and counters are kept per environment. */
  env: string;
  /** Local mode: directory holding `.ops/` (default the working directory). */
  rootDir?: string;
  /** Where GITHUB_* settings are read; default process.env. */
  environment?: NodeJS.ProcessEnv;
  /** GitHub mode: a ready client (tests); default one built from the environment. */
  octokit?: GitHubClient;
  now?: () => number;
}

export function createIncidentStore(options: CreateIncidentStoreOptions): IncidentStore {
  const environment = options.environment ?? process.env;
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(options.env ?? ''))
    throw new Error(`incident store: env must be a plain name (got ${JSON.stringify(options.env)})`);
  switch (options.mode) {
    case 'off':
      return {
        mode: 'off',
        env: options.env,
        playbookWorkflowUrl: null,
        session: () => Promise.reject(new Error('incidents are off')),
      };
    case 'local':
      return createLocalIncidentStore({
        env: options.env,
        rootDir: options.rootDir,
        playbookWorkflowUrl: playbookWorkflowUrl(
          environment['GITHUB_SERVER_URL'],
          environment['GITHUB_REPOSITORY'],
        ),
        now: options.now,
      });
    case 'github': {
      const gh = readGitHubEnv(environment);
      return createGitHubIncidentStore({
        octokit: options.octokit ?? createGitHubClient(gh, environment),
        owner: gh.owner,
        repo: gh.repo,
        env: options.env,
        serverUrl: gh.serverUrl,
        now: options.now,
      });
    }
    default:
      throw new Error(
        `incident store: mode must be github, local or off (got ${JSON.stringify(options.mode)})`,
      );
  }
}
