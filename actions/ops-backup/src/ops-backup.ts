/** The ops-backup action: `ops backup --env <environment>` (pg_dump to where the restore test finds it). */
import type { ActionCore } from '../../shared/src/action-core.js';
import { runCommand } from '../../shared/src/command-action.js';
import { InputReader } from '../../shared/src/inputs.js';
import { maskSecrets } from '../../shared/src/mask-secrets.js';
import type { RunCli } from '../../shared/src/run-ops-cli.js';

export function backupArgv(environment: string): string[] {
  return ['backup', '--env', environment];
}

export async function runBackupAction(deps: {
  core: ActionCore;
  runCli: RunCli;
  env: Readonly<Record<string, string | undefined>>;
}): Promise<void> {
  const { core } = deps;
  maskSecrets(core, deps.env);
  let environment: string;
  try {
    const inputs = new InputReader(core);
    environment = inputs.name('environment');
    inputs.done();
  } catch (error) {
    core.setFailed((error as Error).message);
    return;
  }
  await runCommand(core, deps.runCli, backupArgv(environment), `Backup (${environment})`);
}
