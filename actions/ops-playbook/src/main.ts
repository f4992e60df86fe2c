/** Entry of the ops-playbook action (bundled to dist/index.js); the logic is in ops-playbook.ts. */
import * as core from '@actions/core';
import { runCli } from '../../../ops/cli.js';
import { githubCore } from '../../shared/src/github-core.js';
import { runPlaybookAction } from './ops-playbook.js';

try {
  await runPlaybookAction({ core: githubCore(core), runCli, env: process.env });
} catch (error) {
  core.setFailed(`ops-playbook: ${(error as Error).message}`);
}
// Exit even if a client left a timer or socket open; setFailed already set process.exitCode.
process.exit();
