/**
 * The house fence of eslint.config.js, as `npx eslint .` applies it: production code (the actions'
 * sources, bridge/, broker/, common/, functions/, ops/, runbook/; tests apart) never imports test,
 * sandbox or bench code, nor a test file, fixture, harness or stand-in wherever it is; tests, the
 * sandbox and the benches may import test/support/. The Functions app's own fence is proven in
 * functions/import-fence.test.ts.
 */
import { ESLint } from 'eslint';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const eslint = new ESLint({ cwd: ROOT });

/** The rules that refuse `source` in a synthetic file at `file` (repository-relative). */
async function refusedBy(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: join(ROOT, file) });
  expect(result!.messages.filter((m) => m.fatal)).toEqual([]);
  return result!.messages.map((m) => m.ruleId ?? '');
}
const importOf = (specifier: string) => `import '${specifier}';\n`;

test.each([
  ['bridge/x.ts', '../test/support/bridge-harness.js'],
  ['broker/x.ts', '../test/support/mosquitto-process.js'],
  ['common/x.ts', '../test/support/free-port.js'],
  ['ops/checks/x.ts', '../../test/support/database.js'],
  ['ops/backup/x.ts', '../../scripts/bench/ops-seed.js'],
  ['functions/src/alerts/x.ts', '../../../test/support/alert-fixture.js'],
  ['functions/src/probe/x.ts', '../../../scripts/sandbox/platform.js'],
  ['runbook/x.ts', '../scripts/bench/bridge.js'],
  ['actions/ops-cadence/src/x.ts', '../../../test/support/github-standin.js'],
  ['actions/shared/src/x.ts', '../../../scripts/lib/latency.js'],
  // Test code that is not under test/ or scripts/ is refused by its name.
  ['ops/playbooks/x.ts', './cli.test.js'],
  ['ops/backup/x.ts', './test-fixture.js'],
  ['broker/x.ts', './mqtt-test-client.js'],
  ['bridge/x.ts', './test-support.js'],
  ['common/x.ts', './some-harness.js'],
  ['common/x.ts', './auth-standin.js'],
  ['functions/src/alerts/x.ts', './test-fixtures.js'],
])('production %s may not import %s', async (file, specifier) => {
  expect(await refusedBy(file, importOf(specifier))).toEqual(['no-restricted-imports']);
});

test('re-exports, type-only imports and import() are refused too', async () => {
  expect(
    await refusedBy('bridge/x.ts', "export { tempDir } from '../test/support/bridge-harness.js';\n"),
  ).toEqual(['no-restricted-imports']);
  expect(
    await refusedBy(
      'ops/x.ts',
      "import type { TestCa } from '../test/support/test-ca.js';\nexport type T = TestCa;\n",
    ),
  ).toEqual(['no-restricted-imports']);
  expect(
    await refusedBy('common/x.ts', "export const load = () => import('../scripts/bench/bridge.js');\n"),
  ).toEqual(['no-restricted-syntax']);
});

test.each([
  ['bridge/x.ts', '../common/topics.js'],
  ['broker/x.ts', './render-config.js'],
  ['ops/checks/x.ts', './restore-test.js'],
  ['ops/checks/x.ts', '../../common/storable-text.js'],
  ['functions/src/probe/x.ts', '../../../ops/engine/check.js'],
  ['actions/ops-cadence/src/x.ts', '../../shared/src/command-action.js'],
  ['runbook/x.ts', '../ops/config/runbook-config.js'],
])('production %s may import %s', async (file, specifier) => {
  expect(await refusedBy(file, importOf(specifier))).toEqual([]);
});

test.each([
  ['bridge/x.test.ts', '../test/support/bridge-harness.js'],
  ['ops/playbooks/x.test.ts', '../../test/support/playbook-fixture.js'],
  ['functions/src/alerts/x.test.ts', '../../../test/support/alert-fixture.js'],
  ['actions/ops-cadence/src/x.test.ts', '../../../test/support/github-standin.js'],
  ['actions/ops-cadence/dist-e2e.test.ts', '../../test/support/mosquitto-process.js'],
  ['test/e2e/x.test.ts', '../support/free-port.js'],
  ['test/support/x.ts', '../../broker/render-config.js'],
  ['scripts/sandbox/x.ts', '../../test/support/test-ca.js'],
  ['scripts/bench/x.ts', '../../test/support/bridge-harness.js'],
])('%s (test, sandbox or bench) may import %s', async (file, specifier) => {
  expect(await refusedBy(file, importOf(specifier))).toEqual([]);
});

test('the fences of ops and the Functions app still apply where the house fence does', async () => {
  // Flat config replaces a rule's options per block: each block must carry every pattern.
  expect(await refusedBy('ops/sources/x.ts', importOf('../../functions/src/ingest/health.js'))).toEqual([
    'no-restricted-imports',
  ]);
  expect(await refusedBy('ops/sources/x.test.ts', importOf('../../functions/src/ingest/health.js'))).toEqual([
    'no-restricted-imports',
  ]);
  expect(await refusedBy('functions/src/probe/x.ts', importOf('../../../ops/checks/registry.js'))).toEqual([
    'no-restricted-imports',
  ]);
  expect(await refusedBy('functions/src/probe/x.ts', importOf('@azure/identity'))).toEqual([
    'no-restricted-imports',
  ]);
});
