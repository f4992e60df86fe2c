/**
 * The common tail of the ops-backup and ops-playbook actions: run one CLI command, put what it
 * printed in the job summary, set `summary` (its last line) and `exit-code`, fail on non-zero.
 */
import { fitSummary, type ActionCore } from './action-core.js';
import { runOpsCli, tailLines, type RunCli } from './run-ops-cli.js';

export async function runCommand(
  core: ActionCore,
  runCli: RunCli,
  argv: string[],
  /** The job summary's heading; a function gets the command's last line (a playbook's outcome). */
  heading: string | ((lastLine: string) => string),
): Promise<number> {
  core.info(`ops ${argv.join(' ')}`);
  const run = await runOpsCli(
    runCli,
    argv,
    (line) => core.info(line),
    (value) => core.setSecret(value),
  );
  const lastLine = run.out.trim().split('\n').pop() ?? '';
  core.setOutput('summary', lastLine);
  core.setOutput('exit-code', run.code);
  const body = run.out.trim() || '_(no output)_';
  try {
    const title = typeof heading === 'string' ? heading : heading(lastLine);
    await core.writeSummary(fitSummary(`## ${title}\n\n${body}\n`));
  } catch (error) {
    core.warning(`job summary not written: ${(error as Error).message}`);
  }
  if (run.code !== 0) core.setFailed(`ops ${argv[0]} exited ${run.code}: ${tailLines(run.err) || lastLine}`);
  return run.code;
}
