/**
 * Each policy on a compliant fixture (no problems) and on a fixture broken in exactly one way (the
 * problem is found): proof that the checks applied to the real workflows in
 * repo-workflows.test.ts can fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  actionProblems,
  cacheProblems,
  checkoutProblems,
  injectionProblems,
  concurrencyProblems,
  cronProblems,
  loadAction,
  loadWorkflow,
  localActionProblems,
  oidcProblems,
  permissionProblems,
  pinningProblems,
  pullRequestProblems,
  pushTriggerProblems,
  reportArtifactProblems,
  secretProblems,
  timeoutProblems,
  workflowProblems,
  workflowRunProblems,
  workflowSchemaProblems,
} from './workflow-policy.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHECKOUT = 'actions/checkout@de0fac2e4500dabe0009e67214ff5f5447ce83dd # v6.0.2';
const UPLOAD = 'actions/upload-artifact@b7c566a772e6b6bfb58ed0dc250532a479d7789f # v6.0.0';
const LOGIN = 'azure/login@7ddb5af1ef8758cf1353cf3b42f940aee27ba21c # v3.0.2';
const SETUP_NODE = 'actions/setup-node@820762786026740c76f36085b0efc47a31fe5020 # v7.0.0';

const GOOD = `name: ops-daily
on:
  schedule:
    - cron: '17 0 * * *'
  workflow_dispatch:
permissions: {}
concurrency:
  group: ops-daily
  cancel-in-progress: false
jobs:
  daily:
    runs-on: ubuntu-24.04
    timeout-minutes: 15
    environment: prod
    permissions:
      contents: read
      issues: write
      actions: read
      id-token: write
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
      - uses: ${LOGIN}
        with:
          client-id: \${{ vars.AZURE_CLIENT_ID }}
          tenant-id: \${{ vars.AZURE_TENANT_ID }}
          subscription-id: \${{ vars.AZURE_SUBSCRIPTION_ID }}
      - id: ops
        uses: ./actions/ops-cadence
        with:
          cadence: daily
          environment: prod
        env:
          OPS_DATABASE_URL: \${{ secrets.OPS_DATABASE_URL }}
      - if: \${{ !cancelled() }}
        uses: ${UPLOAD}
        with:
          name: report
          path: reports/
`;

/** The good fixture with one text replacement (which must apply). */
function broken(from: string | RegExp, to: string) {
  const text = GOOD.replace(from, to);
  if (text === GOOD) throw new Error(`fixture edit did not apply: ${String(from)}`);
  return loadWorkflow('bad.yml', text);
}

describe('the compliant fixture', () => {
  it('has no problems at all', () => {
    expect(workflowProblems(loadWorkflow('good.yml', GOOD), ROOT)).toEqual([]);
  });
});

describe('workflow policies find what is wrong', () => {
  it('schema: an unknown job key', () => {
    expect(
      workflowSchemaProblems(broken('timeout-minutes: 15', 'timeout-minutes: 15\n    runs_on: x')).length,
    ).toBe(1);
  });

  it('permissions: missing at the top level', () => {
    expect(permissionProblems(broken('permissions: {}\n', ''))).toEqual([
      'no top-level permissions (default token permissions may be write-all)',
    ]);
  });

  it('permissions: write at the top level', () => {
    expect(permissionProblems(broken('permissions: {}', 'permissions: write-all'))).toEqual([
      'top-level permissions: write-all',
    ]);
    expect(permissionProblems(broken('permissions: {}', 'permissions:\n  contents: write'))).toEqual([
      'top-level permissions: contents: write',
    ]);
  });

  it('permissions: a job without its own', () => {
    expect(permissionProblems(broken(/ {4}permissions:\n( {6}.*\n){4}/, ''))).toEqual([
      'job daily: no permissions map of its own',
    ]);
  });

  it('permissions: a write scope nothing needs', () => {
    expect(permissionProblems(broken('contents: read', 'contents: write'))).toEqual([
      'job daily: contents: write is not allowed',
      'job daily: checks out without contents: read',
    ]);
  });

  it('permissions: id-token without azure/login, and azure/login without id-token', () => {
    const noLogin = broken(/ {6}- uses: azure\/login@.*\n( {8}.*\n){4}/, '');
    expect(permissionProblems(noLogin)).toEqual(['job daily: id-token: write without azure/login']);
    expect(permissionProblems(broken('      id-token: write\n', ''))).toEqual([
      'job daily: azure/login without id-token: write',
    ]);
  });

  it('permissions: issues write without incidents, incidents without issues write', () => {
    expect(permissionProblems(broken('cadence: daily', 'cadence: daily\n          incidents: off'))).toEqual([
      'job daily: issues: write but no incident work or preview comment',
    ]);
    expect(permissionProblems(broken('      issues: write\n', ''))).toEqual([
      'job daily: reconciles incidents without issues: write',
    ]);
  });

  it('permissions: actions read outside the daily cadence', () => {
    expect(permissionProblems(broken('cadence: daily', 'cadence: weekly'))).toEqual([
      "job daily: actions: read is only for the daily error check and another run's artifact",
    ]);
  });

  it('concurrency: missing, without a group, or cancelling', () => {
    expect(concurrencyProblems(broken(/concurrency:\n( {2}.*\n){2}/, ''))).toEqual(['no concurrency group']);
    expect(concurrencyProblems(broken('  group: ops-daily\n', ''))).toEqual(['concurrency without a group']);
    expect(concurrencyProblems(broken('cancel-in-progress: false', 'cancel-in-progress: true'))).toEqual([
      'concurrency: cancel-in-progress must be false',
    ]);
  });

  it('timeouts: missing or too long', () => {
    expect(timeoutProblems(broken('    timeout-minutes: 15\n', ''))).toEqual([
      'job daily: no timeout-minutes (default 360)',
    ]);
    expect(timeoutProblems(broken('timeout-minutes: 15', 'timeout-minutes: 240'))).toEqual([
      'job daily: timeout-minutes 240 is outside 1-60',
    ]);
  });

  it('pinning: a tag, a short SHA, a SHA without its version comment', () => {
    expect(pinningProblems(broken(CHECKOUT, 'actions/checkout@v6'))).toEqual([
      'actions/checkout@v6: not pinned to a full commit SHA',
    ]);
    expect(pinningProblems(broken(UPLOAD, 'actions/upload-artifact@b7c566a # v6.0.0'))).toEqual([
      'actions/upload-artifact@b7c566a: not pinned to a full commit SHA',
    ]);
    expect(pinningProblems(broken(' # v3.0.2', ''))).toEqual([
      'azure/login@7ddb5af1ef8758cf1353cf3b42f940aee27ba21c: no "# vX.Y.Z" comment',
    ]);
  });

  it('OIDC: creds, or ids from secrets', () => {
    expect(
      oidcProblems(
        broken('client-id: ${{ vars.AZURE_CLIENT_ID }}', 'creds: ${{ secrets.AZURE_CREDENTIALS }}'),
      ),
    ).toEqual([
      'job daily: azure/login with creds (a stored secret), not OIDC',
      'job daily: azure/login client-id must come from vars (got nothing)',
    ]);
    expect(oidcProblems(broken('${{ vars.AZURE_TENANT_ID }}', '${{ secrets.AZURE_TENANT_ID }}'))).toEqual([
      'job daily: azure/login tenant-id must come from vars (got ${{ secrets.AZURE_TENANT_ID }})',
    ]);
  });

  it('secrets: in a script, in with:, at job level, or without an environment', () => {
    expect(
      secretProblems(
        broken('      - id: ops\n', '      - run: echo ${{ secrets.OPS_DATABASE_URL }}\n      - id: ops\n'),
      ),
    ).toEqual(['job daily step 3: secret in a script']);
    expect(
      secretProblems(
        broken('environment: prod\n        env:', 'environment: ${{ secrets.X }}\n        env:'),
      ),
    ).toEqual(['job daily step ops: secret in with.environment']);
    expect(secretProblems(broken('    environment: prod\n', ''))).toEqual([
      'job daily: uses secrets without an environment',
    ]);
    expect(
      secretProblems(
        broken('    environment: prod\n', '    environment: prod\n    env:\n      X: ${{ secrets.X }}\n'),
      ),
    ).toEqual(['job daily: secrets in job-level env']);
  });

  it('injection: an input or event value inside a script', () => {
    expect(
      injectionProblems(
        broken(
          '      - id: ops\n',
          '      - name: greet\n        run: echo "${{ inputs.environment }}"\n      - id: ops\n',
        ),
      ),
    ).toEqual(['job daily step greet: untrusted value in a script']);
    expect(
      injectionProblems(
        broken(
          '      - id: ops\n',
          '      - run: echo "${{ github.event.client_payload.x }}"\n      - id: ops\n',
        ),
      ),
    ).toEqual(['job daily step 3: untrusted value in a script']);
  });

  it('checkout: credentials left in .git/config', () => {
    expect(checkoutProblems(broken('        with:\n          persist-credentials: false\n', ''))).toEqual([
      'job daily: actions/checkout without persist-credentials: false',
    ]);
  });

  it('local actions: one that does not exist, or an input it does not have', () => {
    expect(localActionProblems(broken('./actions/ops-cadence', './actions/ops-nope'), ROOT)).toEqual([
      'job daily: ./actions/ops-nope has no action.yml',
    ]);
    expect(localActionProblems(broken('cadence: daily', 'cadense: daily'), ROOT)).toEqual([
      'job daily: ./actions/ops-cadence has no input cadense',
    ]);
  });

  it('cron: invalid, or more often than every 5 minutes', () => {
    expect(cronProblems(broken("'17 0 * * *'", "'17 25 * * *'"))).toEqual([
      'cron "17 25 * * *": hour "25": 25 is outside 0-23',
    ]);
    expect(cronProblems(broken("'17 0 * * *'", "'*/2 * * * *'"))).toEqual([
      'cron "*/2 * * * *": runs every 2 min; GitHub\'s minimum is 5',
    ]);
  });

  it('report artifact: not uploaded, the wrong path, or skipped when the checks fail', () => {
    expect(reportArtifactProblems(broken(/ {6}- if: .*\n( {8}.*\n){4}/, ''))).toEqual([
      'job daily: the report is not uploaded as an artifact',
    ]);
    expect(reportArtifactProblems(broken('path: reports/', 'path: out/'))).toEqual([
      'job daily: uploads out/, not the report directory reports',
    ]);
    expect(
      reportArtifactProblems(broken('      - if: ${{ !cancelled() }}\n        uses', '      - uses')),
    ).toEqual(['job daily: the report upload must run when the checks fail (if: ${{ !cancelled() }})']);
  });
});

const PULL_REQUEST = `name: ci
on:
  pull_request:
permissions: {}
concurrency:
  group: ci-\${{ github.event.pull_request.number }}
  cancel-in-progress: true
jobs:
  test:
    runs-on: ubuntu-24.04
    timeout-minutes: 45
    permissions:
      contents: read
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
          fetch-depth: 0
      - uses: ${SETUP_NODE}
        with:
          node-version: 22.23.3
      - run: npm ci
      - name: Deploy plan
        env:
          BASE_SHA: \${{ github.event.pull_request.base.sha }}
        run: npm run -s ops -- deploy --env prod --plan --from "$BASE_SHA"
`;

describe('pull request workflows', () => {
  const pr = (from: string, to: string) => {
    const text = PULL_REQUEST.replace(from, to);
    if (text === PULL_REQUEST) throw new Error(`fixture edit did not apply: ${from}`);
    return loadWorkflow('bad.yml', text);
  };

  it('the compliant one has no problems, cancelling superseded runs included', () => {
    expect(workflowProblems(loadWorkflow('ci.yml', PULL_REQUEST), ROOT)).toEqual([]);
  });

  it('refuse a secret, an environment or a write scope, and then may not cancel either', () => {
    const secret = pr('BASE_SHA: ${{', 'TOKEN: ${{ secrets.NPM_TOKEN }}\n          BASE_SHA: ${{');
    expect(pullRequestProblems(secret)).toEqual([
      'a pull request workflow with secrets, an environment or a write scope',
    ]);
    expect(concurrencyProblems(secret)).toEqual(['concurrency: cancel-in-progress must be false']);
    expect(
      pullRequestProblems(
        pr('    timeout-minutes: 45\n', '    timeout-minutes: 45\n    environment: prod\n'),
      ),
    ).toEqual(['a pull request workflow with secrets, an environment or a write scope']);
    const write = pr('      contents: read\n', '      contents: read\n      pull-requests: write\n');
    expect(pullRequestProblems(write)).toEqual([
      'a pull request workflow with secrets, an environment or a write scope',
    ]);
    expect(permissionProblems(write)).toEqual(['job test: pull-requests: write is not allowed']);
  });

  it('refuse pull_request_target', () => {
    expect(pullRequestProblems(pr('  pull_request:\n', '  pull_request_target:\n'))).toEqual([
      'pull_request_target runs with the secrets: use pull_request',
    ]);
  });

  it('keep the policies of every workflow: no event value in a script, pinned actions', () => {
    expect(
      injectionProblems(pr('--from "$BASE_SHA"', '--from ${{ github.event.pull_request.base.sha }}')),
    ).toEqual(['job test step Deploy plan: untrusted value in a script']);
    expect(pinningProblems(pr(SETUP_NODE, 'actions/setup-node@v7'))).toEqual([
      'actions/setup-node@v7: not pinned to a full commit SHA',
    ]);
  });
});

const WHAT_IF = `name: provision what-if
on:
  pull_request:
    paths: ['infra/**']
permissions: {}
concurrency:
  group: provision-what-if-\${{ github.event.pull_request.number }}
  cancel-in-progress: false
jobs:
  what-if:
    if: github.event.pull_request.head.repo.full_name == github.repository
    runs-on: ubuntu-24.04
    timeout-minutes: 15
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
      - run: npm ci
      - uses: ${LOGIN}
        with:
          client-id: \${{ vars.AZURE_WHATIF_CLIENT_ID }}
          tenant-id: \${{ vars.AZURE_TENANT_ID }}
          subscription-id: \${{ vars.AZURE_SUBSCRIPTION_ID }}
      - shell: bash
        run: npm run -s ops -- provision --env prod --what-if | tee -a "$GITHUB_STEP_SUMMARY"
`;

describe('the pull requests’ what-if: an Azure token for the what-if identity, nothing more', () => {
  const whatIf = (from: string, to: string) => {
    const text = WHAT_IF.replace(from, to);
    if (text === WHAT_IF) throw new Error(`fixture edit did not apply: ${from}`);
    return loadWorkflow('bad.yml', text);
  };
  const REFUSED = ['a pull request workflow with secrets, an environment or a write scope'];

  it('is compliant as it is', () => {
    expect(workflowProblems(loadWorkflow('provision-what-if.yml', WHAT_IF), ROOT)).toEqual([]);
  });

  it('refuses another identity, an environment, a secret or another write scope', () => {
    expect(pullRequestProblems(whatIf('AZURE_WHATIF_CLIENT_ID', 'AZURE_CLIENT_ID'))).toEqual(REFUSED);
    expect(
      pullRequestProblems(
        whatIf('    timeout-minutes: 15\n', '    timeout-minutes: 15\n    environment: prod\n'),
      ),
    ).toEqual(REFUSED);
    expect(
      pullRequestProblems(
        whatIf('      - run: npm ci\n', '      - run: npm ci\n        env:\n          X: ${{ secrets.X }}\n'),
      ),
    ).toEqual(REFUSED);
    expect(
      pullRequestProblems(whatIf('      contents: read\n', '      contents: read\n      issues: write\n')),
    ).toEqual(REFUSED);
  });

  it("refuses a job that would take forks' pull requests", () => {
    expect(
      pullRequestProblems(
        whatIf('    if: github.event.pull_request.head.repo.full_name == github.repository\n', ''),
      ),
    ).toEqual(REFUSED);
  });

  it('and, holding a token, never cancels in progress nor restores a cache', () => {
    expect(concurrencyProblems(whatIf('cancel-in-progress: false', 'cancel-in-progress: true'))).toEqual([
      'concurrency: cancel-in-progress must be false',
    ]);
  });
});

const ACTION = `name: Ops cadence
description: Runs a cadence.
inputs:
  cadence:
    description: Which cadence.
    required: true
  fail-on:
    description: When to fail.
    required: false
    default: fail
outputs:
  verdict:
    description: The verdict.
runs:
  using: node24
  main: dist/index.js
`;

describe('action policies find what is wrong', () => {
  const dir = 'actions/ops-cadence';
  // A repository root holding a built action, so these tests do not depend on the real dist.
  let ROOT: string;
  beforeAll(() => {
    ROOT = mkdtempSync(join(tmpdir(), 'action-policy-'));
    for (const file of ['dist/index.js', 'src/main.ts']) {
      mkdirSync(join(ROOT, dir, file, '..'), { recursive: true });
      writeFileSync(join(ROOT, dir, file), '');
    }
  });
  afterAll(() => rmSync(ROOT, { recursive: true, force: true }));
  const bad = (from: string, to: string) => {
    const text = ACTION.replace(from, to);
    if (text === ACTION) throw new Error(`fixture edit did not apply: ${from}`);
    return loadAction(dir, text);
  };

  it('accepts the compliant action (node24 passes the schema pass)', () => {
    expect(actionProblems(loadAction(dir, ACTION), ROOT)).toEqual([]);
  });

  it('refuses another runtime', () => {
    expect(actionProblems(bad('using: node24', 'using: node20'), ROOT)).toEqual([
      'runs.using is node20, not node24',
    ]);
    expect(actionProblems(bad('using: node24', 'using: node99'), ROOT)[0]).toMatch(/^schema: \/runs/);
  });

  it('refuses another entry point, or one that was not built', () => {
    expect(actionProblems(bad('main: dist/index.js', 'main: src/main.ts'), ROOT)).toEqual([
      'runs.main is src/main.ts, not dist/index.js',
    ]);
    expect(actionProblems(loadAction('actions/ops-nope', ACTION), ROOT)).toEqual([
      'dist/index.js is missing',
      'src/main.ts is missing',
    ]);
  });

  it('refuses undocumented inputs and outputs', () => {
    expect(actionProblems(bad('    description: Which cadence.\n', ''), ROOT)).toEqual([
      'schema: /inputs/cadence/description This property is required',
      'input cadence: no description',
    ]);
    expect(actionProblems(bad('    required: true\n', ''), ROOT)).toEqual([
      'input cadence: required must be true or false',
    ]);
    expect(actionProblems(bad('    default: fail\n', ''), ROOT)).toEqual([
      'input fail-on: optional without a default',
    ]);
    expect(actionProblems(bad('    description: The verdict.\n', '    value: x\n'), ROOT)).toContain(
      'output verdict: no description',
    );
  });
});

const DEPLOY = `name: deploy
on:
  push:
    branches: [main]
  workflow_dispatch:
permissions: {}
concurrency:
  group: deploy-prod
  cancel-in-progress: false
jobs:
  deploy:
    runs-on: ubuntu-24.04
    timeout-minutes: 45
    environment:
      name: prod
      url: \${{ steps.deploy.outputs.environment-url }}
    permissions:
      contents: read
      deployments: write
      issues: write
      id-token: write
    steps:
      - uses: ${CHECKOUT}
        with:
          persist-credentials: false
          fetch-depth: 0
      - uses: ${SETUP_NODE}
        with:
          node-version: 22.23.3
      - run: npm ci
      - uses: ${LOGIN}
        with:
          client-id: \${{ vars.AZURE_CLIENT_ID }}
          tenant-id: \${{ vars.AZURE_TENANT_ID }}
          subscription-id: \${{ vars.AZURE_SUBSCRIPTION_ID }}
      - id: deploy
        uses: ./actions/ops-deploy
        with:
          environment: prod
        env:
          OPS_DATABASE_URL: \${{ secrets.OPS_DATABASE_URL }}
      - if: \${{ always() }}
        uses: ${UPLOAD}
        with:
          name: report
          path: reports/
`;

describe('deploy workflows', () => {
  const deploy = (from: string | RegExp, to: string) => {
    const text = DEPLOY.replace(from, to);
    if (text === DEPLOY) throw new Error(`fixture edit did not apply: ${String(from)}`);
    return loadWorkflow('bad.yml', text);
  };

  it('the compliant one has no problems', () => {
    expect(workflowProblems(loadWorkflow('deploy.yml', DEPLOY), ROOT)).toEqual([]);
  });

  it('deployments: write only with the ops-deploy action, and the action only with it', () => {
    expect(permissionProblems(deploy('      deployments: write\n', ''))).toEqual([
      "job deploy: ops-deploy without deployments: write (its records, and the plan's base)",
    ]);
    expect(
      permissionProblems(broken('      issues: write\n', '      issues: write\n      deployments: write\n')),
    ).toEqual(['job daily: deployments: write is only for the ops-deploy action']);
    expect(
      permissionProblems(
        deploy('      contents: read\n', '      contents: read\n      pull-requests: write\n'),
      ),
    ).toEqual(['job deploy: pull-requests: write is not allowed']);
    // The rollback's incident issue.
    expect(permissionProblems(deploy('      issues: write\n', ''))).toEqual([
      'job deploy: reconciles incidents without issues: write',
    ]);
  });

  it('never cancels a deploy in progress', () => {
    expect(concurrencyProblems(deploy('cancel-in-progress: false', 'cancel-in-progress: true'))).toEqual([
      'concurrency: cancel-in-progress must be false',
    ]);
  });

  it('pushes deploy from main only, every merge', () => {
    expect(pushTriggerProblems(deploy('branches: [main]', 'branches: [main, develop]'))).toEqual([
      'push: branches must be [main] (got ["main","develop"])',
    ]);
    expect(pushTriggerProblems(deploy('  push:\n    branches: [main]\n', '  push:\n'))).toEqual([
      'push: branches must be [main] (got "every branch")',
    ]);
    expect(
      pushTriggerProblems(deploy('branches: [main]', "branches: [main]\n    paths-ignore: ['docs/**']")),
    ).toEqual(['push: paths-ignore is not allowed (main only, every merge)']);
    expect(pushTriggerProblems(deploy('branches: [main]', "branches: [main]\n    tags: ['v*']"))).toEqual([
      'push: tags is not allowed (main only, every merge)',
    ]);
  });

  it('azure/login through OIDC: no client secret, no creds', () => {
    expect(
      oidcProblems(
        deploy(
          '          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}',
          '          subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}\n          creds: ${{ secrets.AZURE_CREDENTIALS }}',
        ),
      ),
    ).toEqual(['job deploy: azure/login with creds (a stored secret), not OIDC']);
    expect(oidcProblems(deploy('${{ vars.AZURE_CLIENT_ID }}', '${{ secrets.AZURE_CLIENT_ID }}'))).toEqual([
      'job deploy: azure/login client-id must come from vars (got ${{ secrets.AZURE_CLIENT_ID }})',
    ]);
  });

  it('restores no cache a pull request could have written', () => {
    expect(
      cacheProblems(deploy('node-version: 22.23.3', 'node-version: 22.23.3\n          cache: npm')),
    ).toEqual(['job deploy: actions/setup-node with cache in a privileged workflow']);
    expect(
      cacheProblems(
        loadWorkflow(
          'ci.yml',
          PULL_REQUEST.replace('node-version: 22.23.3', 'node-version: 22.23.3\n          cache: npm'),
        ),
      ),
    ).toEqual([]);
  });

  it('uploads the deploy report even when the deploy failed', () => {
    expect(
      reportArtifactProblems(deploy('      - if: ${{ always() }}\n        uses', '      - uses')),
    ).toEqual(['job deploy: the report upload must run when the checks fail (if: ${{ !cancelled() }})']);
  });
});

describe('workflow_run workflows (the dashboard preview deploy)', () => {
  const PREVIEW = readFileSync(join(ROOT, '.github/workflows/dashboard-preview-deploy.yml'), 'utf8');
  const broken = (from: string | RegExp, to: string) => {
    const text = PREVIEW.replace(from, to);
    expect(text).not.toBe(PREVIEW);
    return loadWorkflow('bad.yml', text);
  };

  it('the real one complies', () => {
    expect(workflowProblems(loadWorkflow('dashboard-preview-deploy.yml', PREVIEW), ROOT)).toEqual([]);
  });

  it("finds a job that runs for forks' pull requests", () => {
    const w = broken(
      / &&\n\s+github\.event\.workflow_run\.head_repository\.full_name == github\.repository/,
      '',
    );
    expect(workflowRunProblems(w)).toEqual([
      "job deploy: runs for forks' pull requests (check head_repository.full_name)",
    ]);
  });

  it('finds a job that runs after a failed build', () => {
    const w = broken("github.event.workflow_run.conclusion == 'success' &&", '');
    expect(workflowRunProblems(w)).toEqual(['job deploy: runs after a triggering run that did not succeed']);
  });

  it("finds a checkout of the triggering run's commit", () => {
    const w = broken(
      '          persist-credentials: false\n      - uses: actions/setup-node',
      '          persist-credentials: false\n          ref: ${{ github.event.workflow_run.head_sha }}\n      - uses: actions/setup-node',
    );
    expect(workflowRunProblems(w)).toEqual(["job deploy: checks out the triggering run's code"]);
  });

  it('allows issues: write only for the preview comment, actions: read only for the other run', () => {
    const noComment = broken('--comment github', '--comment off');
    expect(permissionProblems(noComment)).toEqual([
      'job deploy: issues: write but no incident work or preview comment',
    ]);
    const ownRun = broken(/\n {10}run-id: .*/, '');
    expect(permissionProblems(ownRun)).toEqual([
      "job deploy: actions: read is only for the daily error check and another run's artifact",
    ]);
  });
});
