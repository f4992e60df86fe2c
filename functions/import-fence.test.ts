/**
 * The import fence of eslint.config.js, as `npx eslint` applies it: the Functions app reaches ops
 * only for its probe's checks, and ops never reaches the Functions app.
 */
import { ESLint } from 'eslint';
import { join } from 'node:path';
import { FUNCTIONS_DIR } from './bundle.js';

const ROOT = join(FUNCTIONS_DIR, '..');
const eslint = new ESLint({ cwd: ROOT });

async function refused(file: string, specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import '${specifier}';\n`, { filePath: join(ROOT, file) });
  return result!.messages.some((m) => m.ruleId === 'no-restricted-imports');
}

const probeModule = 'functions/src/probe/some-module.ts';

test.each([
  '../../../ops/engine/check.js',
  '../../../ops/engine/run-checks.js',
  '../../../ops/checks/bridge-backlog.js',
  '../../../ops/checks/broker-uptime.js',
  '../../../ops/checks/endpoints.js',
  '../../../ops/sources/bridge-status.js',
  '../../../ops/sources/http-probe.js',
  '../../../ops/sources/mqtt-round-trip.js',
  '../../../common/ingest-protocol.js',
  '../ingest/health.js',
  '@azure/functions',
  '@azure/storage-blob',
  'pg',
  'mqtt',
  'node:crypto',
])('the Functions app may import %s', async (specifier) => {
  expect(await refused(probeModule, specifier)).toBe(false);
});

test.each([
  '../../../ops/checks/registry.js',
  '../../../ops/checks/shared-sources.js',
  '../../../ops/checks/function-health.js',
  '../../../ops/sources/azure-cost.js',
  '../../../ops/sources/ssh-host.js',
  '../../../ops/config/runbook-config.js',
  '../../../ops/engine/nested/module.js',
  '../../../ops/cli.js',
  '../../../test/support/database.js',
  '../../../scripts/sandbox/platform.js',
  '../../../bridge/bridge.js',
  '@azure/identity',
  '@azure/arm-compute',
  '@actions/github',
  '@octokit/core',
  'ssh2',
])('the Functions app may not import %s', async (specifier) => {
  expect(await refused(probeModule, specifier)).toBe(true);
});

test('its tests may use the test support', async () => {
  expect(await refused('functions/src/probe/x.test.ts', '../../../test/support/database.js')).toBe(false);
});

test('ops reads the Functions app through common/ only', async () => {
  expect(await refused('ops/sources/x.ts', '../../functions/src/ingest/health.js')).toBe(true);
  expect(await refused('ops/checks/x.test.ts', '../../functions/src/ingest/health.js')).toBe(true);
  expect(await refused('ops/sources/x.ts', '../../common/ingest-protocol.js')).toBe(false);
});
