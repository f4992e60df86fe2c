/**
 * The ops-cadence action: runs one cadence through the ops CLI with --json, writes the Markdown
 * report to the job summary, and sets the verdict, report path and counts as outputs. The CLI
 * decides the exit code from --fail-on; the action fails the step when it is non-zero.
 */
import { fitSummary, type ActionCore } from '../../shared/src/action-core.js';
import { InputReader } from '../../shared/src/inputs.js';
import { maskSecrets } from '../../shared/src/mask-secrets.js';
import { runOpsCli, tailLines, type RunCli } from '../../shared/src/run-ops-cli.js';

export const CADENCE_NAMES = ['daily', 'weekly', 'monthly', 'golive', 'uptime'] as const;
export const INCIDENT_MODES = ['github', 'local', 'off'] as const;
export const FAIL_ON = ['fail', 'warn', 'never'] as const;
export const STATUSES = ['ok', 'warn', 'fail', 'error', 'skipped'] as const;

export interface CadenceInputs {
  cadence: (typeof CADENCE_NAMES)[number];
  environment: string;
  incidents: (typeof INCIDENT_MODES)[number];
  failOn: (typeof FAIL_ON)[number];
  reportDir: string;
  githubToken: string;
}

export interface CadenceActionDeps {
  core: ActionCore;
  runCli: RunCli;
  /** process.env; GITHUB_TOKEN is set here from the input when incidents go to GitHub. */
  env: Record<string, string | undefined>;
  readFile: (path: string) => Promise<string>;
}

export function readCadenceInputs(core: Pick<ActionCore, 'getInput'>): CadenceInputs {
  const inputs = new InputReader(core);
  const read: CadenceInputs = {
    cadence: inputs.choice('cadence', CADENCE_NAMES),
    environment: inputs.name('environment'),
    incidents: inputs.choice('incidents', INCIDENT_MODES, 'github'),
    failOn: inputs.choice('fail-on', FAIL_ON, 'fail'),
    reportDir: inputs.relativePath('report-dir', 'reports'),
    githubToken: core.getInput('github-token'),
  };
  inputs.done();
  return read;
}

export function cadenceArgv(i: CadenceInputs): string[] {
  return [
    i.cadence,
    '--env',
    i.environment,
    '--json',
    '--incidents',
    i.incidents,
    '--fail-on',
    i.failOn,
    '--report-dir',
    i.reportDir,
  ];
}

/** What `ops <cadence> --json` prints (ops/cli.ts), as far as the action relies on it. */
export interface CadenceJson {
  verdict: string;
  results: { id: string; status: string }[];
  /** Where the CLI wrote the Markdown report. */
  report: string;
  markdown?: string;
}

export function parseCadenceJson(out: string): CadenceJson {
  let value: unknown;
  try {
    value = JSON.parse(out);
  } catch {
    throw new Error(`the ops CLI did not print JSON (got ${JSON.stringify(out.slice(0, 120))})`);
  }
  const v = value as Partial<CadenceJson> | null;
  if (!v || typeof v.verdict !== 'string' || !Array.isArray(v.results) || typeof v.report !== 'string') {
    throw new Error('the ops CLI printed JSON without verdict, results and report');
  }
  return v as CadenceJson;
}

export function countStatuses(
  results: readonly { status: string }[],
): Record<(typeof STATUSES)[number], number> {
  const counts = { ok: 0, warn: 0, fail: 0, error: 0, skipped: 0 };
  for (const r of results) if (r.status in counts) counts[r.status as keyof typeof counts] += 1;
  return counts;
}

export async function runCadenceAction({ core, runCli, env, readFile }: CadenceActionDeps): Promise<void> {
  maskSecrets(core, env, [core.getInput('github-token')]);
  let inputs: CadenceInputs;
  try {
    inputs = readCadenceInputs(core);
    if (inputs.incidents === 'github' && !inputs.githubToken && !env.GITHUB_TOKEN) {
      throw new Error(
        'incidents: github needs a token: give the "github-token" input (default github.token)',
      );
    }
  } catch (error) {
    core.setFailed((error as Error).message);
    return;
  }
  if (inputs.githubToken && !env.GITHUB_TOKEN) env.GITHUB_TOKEN = inputs.githubToken;

  const argv = cadenceArgv(inputs);
  core.info(`ops ${argv.join(' ')}`);
  const run = await runOpsCli(
    runCli,
    argv,
    (line) => core.info(line),
    (value) => core.setSecret(value),
  );
  let json: CadenceJson;
  try {
    json = parseCadenceJson(run.out);
  } catch (error) {
    core.setFailed(
      `ops ${inputs.cadence} exited ${run.code}: ${tailLines(run.err) || (error as Error).message}`,
    );
    return;
  }

  const counts = countStatuses(json.results);
  core.setOutput('verdict', json.verdict);
  core.setOutput('report-path', json.report);
  core.setOutput('counts', JSON.stringify(counts));
  for (const status of STATUSES) core.setOutput(`${status}-count`, counts[status]);

  let markdown = json.markdown;
  if (markdown === undefined) {
    try {
      markdown = await readFile(json.report);
    } catch (error) {
      core.warning(`report ${json.report} could not be read: ${(error as Error).message}`);
    }
  }
  if (markdown !== undefined) {
    try {
      await core.writeSummary(fitSummary(markdown));
    } catch (error) {
      core.warning(`job summary not written: ${(error as Error).message}`);
    }
  }

  if (run.code !== 0) {
    core.setFailed(
      `${inputs.cadence} on ${inputs.environment}: verdict ${json.verdict} (fail-on: ${inputs.failOn})`,
    );
  } else {
    core.info(`${inputs.cadence} on ${inputs.environment}: verdict ${json.verdict}`);
  }
}
