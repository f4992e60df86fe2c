/** Entry of the ops-cadence action (bundled to dist/index.js); the logic is in ops-cadence.ts. */
import * as core from '@actions/core';
import { readFile } from 'node:fs/promises';
import { runCli } from '../../../ops/cli.js';
import { githubCore } from '../../shared/src/github-core.js';
import { runCadenceAction } from './ops-cadence.js';

try {
  await runCadenceAction({
    core: githubCore(core),
    runCli,
    env: process.env,
    readFile: (path) => readFile(path, 'utf8'),
  });
} catch (error) {
  core.setFailed(`ops-cadence: ${(error as Error).message}`);
}
// Exit even if a client left a timer or socket open; setFailed already set process.exitCode.
process.exit();
