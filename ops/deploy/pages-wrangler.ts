/**
 * Running the real wrangler CLI for the pages stage and the pull requests' previews: in a
 * directory of its own, with only the variables it needs, its machine-readable output read back.
 */
import { execFile } from 'node:child_process';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { SecretReader } from '../config/secrets.js';
import type { PagesApi } from './pages-stage-api.js';

export interface WranglerRun {
  /** The checkout whose node_modules has wrangler. */
  root: string;
  secrets: Pick<SecretReader, 'redact'>;
  log: (line: string) => void;
  /** wrangler's whole run (upload and the deployment's status polls). */
  timeoutMs?: number;
}

/**
 * wrangler in a directory of its own: not the checkout, whose functions/ (the Azure Functions app)
 * wrangler would take for Pages Functions, and whose git state it would read. Only what it needs
 * of the environment: the token and account, the API base, proxies and CAs.
 */
export async function runWrangler(
  options: WranglerRun,
  work: string,
  api: PagesApi,
  outputFile: string,
  args: string[],
): Promise<{ output: string; error?: string }> {
  const passed = [
    'PATH',
    'HTTPS_PROXY',
    'HTTP_PROXY',
    'NO_PROXY',
    'https_proxy',
    'http_proxy',
    'no_proxy',
    'NODE_EXTRA_CA_CERTS',
  ];
  const env: Record<string, string> = {};
  for (const k of passed) if (process.env[k]) env[k] = process.env[k]!;
  Object.assign(env, {
    HOME: work,
    XDG_CONFIG_HOME: join(work, 'config'),
    CLOUDFLARE_API_TOKEN: api.token,
    CLOUDFLARE_ACCOUNT_ID: api.accountId,
    CLOUDFLARE_API_BASE_URL: api.baseUrl,
    WRANGLER_OUTPUT_FILE_PATH: outputFile,
    WRANGLER_SEND_METRICS: 'false',
    CI: 'true',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
  });
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(options.root, 'node_modules/wrangler/bin/wrangler.js'), ...args],
      { cwd: work, env, timeout: options.timeoutMs ?? 600_000, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const output = `${stdout}${stderr}`;
        for (const line of options.secrets.redact(output).split('\n'))
          if (line.trim()) options.log(`wrangler: ${line.trimEnd()}`);
        if (!error) return resolve({ output });
        const last = output.split('\n').find((l) => /ERROR|Error:/.test(l));
        resolve({
          output,
          error: options.secrets.redact(
            (last ?? (error.killed ? 'timed out' : `exit ${String(error.code)}`)).replace(
              /^\W*(\[ERROR\])?\s*/,
              '',
            ),
          ),
        });
      },
    );
  });
}

/** The deployment id from wrangler's machine-readable output (WRANGLER_OUTPUT_FILE_PATH). */
export async function deploymentFromOutput(file: string): Promise<string | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n').reverse()) {
    if (!line.trim()) continue;
    const entry = JSON.parse(line) as { type?: string; deployment_id?: string };
    if (entry.type === 'pages-deploy' || entry.type === 'pages-deploy-detailed') return entry.deployment_id;
  }
  return undefined;
}

export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const name of await readdir(d)) {
      const path = join(d, name);
      if ((await stat(path)).isDirectory()) await walk(path);
      else out.push(relative(dir, path));
    }
  };
  await walk(dir);
  return out.sort();
}

export interface PagesDeployCall {
  work: string;
  api: PagesApi;
  dist: string;
  project: string;
  branch: string;
  commitSha: string;
  commitMessage: string;
}

/**
 * `wrangler pages deploy` of `dist` to `branch` recording the commit, and the deployment's id from
 * wrangler's machine-readable output; `error` (redacted) when wrangler failed or reported none.
 */
export async function wranglerPagesDeploy(
  options: WranglerRun,
  call: PagesDeployCall,
): Promise<{ output: string; deploymentId?: string; error?: string }> {
  const outputFile = join(call.work, 'wrangler-output.ndjson');
  const run = await runWrangler(options, call.work, call.api, outputFile, [
    'pages',
    'deploy',
    call.dist,
    '--project-name',
    call.project,
    '--branch',
    call.branch,
    '--commit-hash',
    call.commitSha,
    '--commit-message',
    call.commitMessage,
    '--commit-dirty=false',
  ]);
  if (run.error) return { output: run.output, error: `wrangler pages deploy failed: ${run.error}` };
  const deploymentId = await deploymentFromOutput(outputFile);
  if (!deploymentId)
    return { output: run.output, error: 'wrangler reported no deployment (no pages-deploy output)' };
  return { output: run.output, deploymentId };
}
