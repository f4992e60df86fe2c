/** Entry of the ops-backup action (bundled to dist/index.js); the logic is in ops-backup.ts. */
import * as core from '@actions/core';
import { runCli } from '../../../ops/cli.js';
import { githubCore } from '../../shared/src/github-core.js';
import { runBackupAction } from './ops-backup.js';

try {
  await runBackupAction({ core: githubCore(core), runCli, env: process.env });
} catch (error) {
  core.setFailed(`ops-backup: ${(error as Error).message}`);
}
// Exit even if a client left a timer or socket open; setFailed already set process.exitCode.
process.exit();
