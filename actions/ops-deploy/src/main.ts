/** Entry of the ops-deploy action (bundled to dist/index.js); the logic is in ops-deploy.ts. */
import * as core from '@actions/core';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../../ops/cli.js';
import { githubCore } from '../../shared/src/github-core.js';
import { runDeployAction } from './ops-deploy.js';

try {
  await runDeployAction({
    core: githubCore(core),
    runCli,
    env: process.env,
    // This file's own place (scripts/build-actions.ts keeps it through bundling): the checkout.
    repoRoot: fileURLToPath(new URL('../../..', import.meta.url)),
    workspace: process.cwd(),
  });
} catch (error) {
  core.setFailed(`ops-deploy: ${(error as Error).message}`);
}
// Exit even if a client left a timer or socket open; setFailed already set process.exitCode.
process.exit();
