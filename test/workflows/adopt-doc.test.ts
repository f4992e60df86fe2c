/**
 * docs/adopt.md lists every name an operator has to provide, with its kind: each secret and
 * variable a workflow reads and each env name it passes to an action, each secret variable
 * runbook/environments/prod.yaml names, and each Function App setting functions/src reads. The
 * failure names the missing ones and where they are read.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  documentedNames,
  environmentSecretNames,
  functionSettingNames,
  undocumented,
  workflowNames,
  type NameUse,
} from './adopt-doc.js';
import { loadWorkflow, writesNothing } from './workflow-policy.js';
import { build } from 'esbuild';
import { functionsBuildOptions } from '../../functions/bundle.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');
const DOC = 'docs/adopt.md';

function filesUnder(dir: string, keep: (path: string) => boolean): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .filter(keep)
    .sort();
}

const workflowFiles = filesUnder('.github/workflows', (p) => /\.ya?ml$/.test(p));
const actionFiles = filesUnder('actions', (p) => /^actions\/[^/]+\/action\.ya?ml$/.test(p));
// The Function App's settings are what its deployed bundle reads: the sources esbuild puts in it
// (the local hosts beside them, for the sandbox and tests, are not deployed).
const bundled = await build({
  ...functionsBuildOptions(),
  absWorkingDir: ROOT,
  write: false,
  metafile: true,
  logLevel: 'silent',
});
const functionSources = Object.keys(bundled.metafile!.inputs)
  .filter((p) => p.startsWith('functions/src/') && p.endsWith('.ts'))
  .sort();

const fromWorkflows = [...workflowFiles, ...actionFiles].flatMap((f) => workflowNames(f, read(f)));
const fromEnvironment = environmentSecretNames(
  'runbook/environments/prod.yaml',
  read('runbook/environments/prod.yaml'),
);
const fromFunctions = functionSources.flatMap((f) => functionSettingNames(f, read(f)));
const documented = documentedNames(read(DOC));

test('the workflows read the Azure variables and the ops secrets (the scan finds them)', () => {
  const names = new Set(fromWorkflows.map((u) => u.name));
  for (const name of ['AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_SUBSCRIPTION_ID', 'OPS_DATABASE_URL'])
    expect(names).toContain(name);
  expect(new Set(fromFunctions.map((u) => u.name))).toContain('DATABASE_URL');
  expect(new Set(fromEnvironment.map((u) => u.name))).toContain('OPS_SSH_PRIVATE_KEY');
});

test.each([
  ['every secret and variable a workflow reads, and the env it passes to actions', fromWorkflows],
  ['every secret variable runbook/environments/prod.yaml names', fromEnvironment],
  ['every Function App setting functions/src reads', fromFunctions],
] as [string, NameUse[]][])(`${DOC} lists %s`, (_what, uses) => {
  expect(undocumented(uses, documented)).toEqual([]);
});

test(`${DOC} names the OIDC subject every ops job's token carries`, () => {
  const doc = read(DOC);
  expect(doc).toContain('repo:<owner>/<repo>:environment:prod');
  expect(doc).toContain('api://AzureADTokenExchange');
  // Every ops job runs in that environment, so that subject is the one their tokens carry. The
  // pull requests' CI and preview build have none: they get no token to exchange and no secret.
  // The previews' deploy runs in `preview`, which holds only Cloudflare's token and needs no Azure.
  const PREVIEW_DEPLOY = '.github/workflows/dashboard-preview-deploy.yml';
  // The pull requests' what-if signs in as the what-if identity, in no environment
  // (docs/infra.md: the federated credential's subject is the pull_request one).
  const WHAT_IF = '.github/workflows/provision-what-if.yml';
  const ops = workflowFiles.filter(
    (f) => !writesNothing(loadWorkflow(f, read(f))) && f !== PREVIEW_DEPLOY && f !== WHAT_IF,
  );
  expect(read(WHAT_IF)).not.toMatch(/environment:/);
  expect(read(WHAT_IF)).toContain('client-id: ${{ vars.AZURE_WHATIF_CLIENT_ID }}');
  expect(read('docs/infra.md')).toContain('repo:<owner>/<repo>:pull_request');
  expect(read('docs/infra.md')).toContain('repo:<owner>/<repo>:environment:prod-infra');
  expect(workflowFiles.filter((f) => !ops.includes(f) && f !== PREVIEW_DEPLOY && f !== WHAT_IF)).toEqual([
    '.github/workflows/ci.yml',
    '.github/workflows/dashboard-preview.yml',
  ]);
  for (const f of ops) expect(read(f)).toMatch(/environment: \$\{\{ inputs\.environment( \|\| 'prod')? \}\}/);
  expect(read(PREVIEW_DEPLOY)).toMatch(/environment:\n\s+#[^\n]*\n\s+name: preview\n/);
  expect(read(PREVIEW_DEPLOY)).not.toMatch(/azure\/login|id-token/);
  expect(read(DOC)).toContain('## 4b. GitHub: the environment `preview`');
});

describe('the scan', () => {
  const workflow = `on: workflow_dispatch
env:
  TOP: x
jobs:
  a:
    env:
      JOB_LEVEL: \${{ vars.JOB_VAR }}
    steps:
      - run: echo
        env:
          RUN_ONLY: \${{ vars.A || secrets['B'] }}
      - uses: ./actions/ops-cadence
        env:
          PASSED: \${{ secrets.C }}
`;

  it('finds secrets, variables and the env of action steps, and names what is missing', () => {
    const uses = workflowNames('w.yml', workflow);
    expect(uses.map((u) => u.name).sort()).toEqual(['A', 'B', 'C', 'JOB_LEVEL', 'JOB_VAR', 'PASSED', 'TOP']);
    const doc = `<!-- adopt-names:start -->
| Name | Kind | Read by | What |
| --- | --- | --- | --- |
| \`A\`, \`JOB_VAR\` | variable | w | x |
| \`B\` | variable | w | x |
| \`C\`, \`PASSED\`, \`TOP\` | secret | w | x |
<!-- adopt-names:end -->`;
    expect(undocumented(uses, documentedNames(doc))).toEqual([
      'B (w.yml: secrets.B; documented as variable, not secret or automatic)',
      'JOB_LEVEL (w.yml: env of ./actions/ops-cadence in job a; not in the table)',
    ]);
  });

  it('finds the ...Env fields of an environment and the settings a function reads', () => {
    expect(
      environmentSecretNames('e.yaml', 'a:\n  urlEnv: X_URL\n  list:\n    - keyEnv: Y_KEY\n').map(
        (u) => u.where,
      ),
    ).toEqual(['e.yaml: a.urlEnv', 'e.yaml: a.list[0].keyEnv']);
    expect(
      functionSettingNames('f.ts', "read('ONE'); process.env.TWO; env['THREE']; const x = env.FOUR;").map(
        (u) => u.name,
      ),
    ).toEqual(['ONE', 'TWO', 'THREE', 'FOUR']);
  });

  it('refuses a table row without a kind', () => {
    expect(() =>
      documentedNames(
        '<!-- adopt-names:start -->\n| N | K |\n| - | - |\n| `X` | secrets |\n<!-- adopt-names:end -->',
      ),
    ).toThrow(/has no kind/);
  });
});
