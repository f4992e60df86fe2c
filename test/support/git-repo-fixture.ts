/**
 * A scratch git repository for the deploy plan's tests: a miniature of this repository's layout
 * (a Functions entry that imports common/ and one ops probe module, a bridge entry, the broker,
 * Ansible, migrations, docs and a lockfile), committed as `base`, so a test can commit a change on
 * top and plan it with real git and real esbuild.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export const lockfile = (versions: { mqtt?: string; debug?: string; eslint?: string } = {}) =>
  `${JSON.stringify(
    {
      name: 'mini',
      lockfileVersion: 3,
      packages: {
        '': { name: 'mini', dependencies: { mqtt: '*' }, devDependencies: { eslint: '*' } },
        'node_modules/mqtt': {
          version: versions.mqtt ?? '5.16.0',
          integrity: `sha512-mqtt${versions.mqtt ?? '5.16.0'}`,
          dependencies: { debug: '^4', '@types/ws': '*' },
        },
        'node_modules/debug': {
          version: versions.debug ?? '4.4.1',
          integrity: `sha512-debug${versions.debug ?? '4.4.1'}`,
        },
        'node_modules/@types/ws': { version: '8.18.1' },
        'node_modules/eslint': { version: versions.eslint ?? '9.39.5', dev: true },
      },
    },
    null,
    2,
  )}\n`;

/** A miniature environment file, in sections (the plan compares the settings its stages read). */
const PROD_SECTIONS = [
  'name: prod',
  'prices:\n  blobHotPerGbMonth: 0.018',
  'archive:\n  mode: disabled\n  reason: not in this phase',
  'infra:\n  vm:\n    adminUsername: azureops\n  network:\n    plainMqtt: false',
  'deploy:\n  pages:\n    project: dash\n    supabaseUrl: https://a.supabase.co',
];
export const PROD_YAML = `${PROD_SECTIONS.join('\n')}\n`;
/** The same settings in another order, with a comment. */
export const PROD_YAML_REORDERED = `# the same settings, another order\n${[...PROD_SECTIONS].reverse().join('\n')}\n`;

export const BASE_FILES: Record<string, string> = {
  'runbook/environments/prod.yaml': PROD_YAML,
  'functions/src/index.ts':
    "import { a } from '../../common/a.js';\nimport { probe } from '../../ops/checks/probe.js';\nimport type { Only } from '../../common/types-only.js';\nexport const x: Only = a + probe;\n",
  'functions/src/index.test.ts': 'export {};\n',
  'functions/src/test-fixtures.ts': 'export const f = 1;\n',
  'functions/host.json': '{ "version": "2.0" }\n',
  'common/a.ts': 'export const a = 1;\n',
  'common/types-only.ts': 'export type Only = number;\n',
  'common/unused.ts': 'export const u = 1;\n',
  'ops/checks/probe.ts': 'export const probe = 2;\n',
  'ops/checks/ssh.ts': 'export const ssh = 3;\n',
  'bridge/main.ts': "import mqtt from 'mqtt';\nimport { a } from '../common/a.js';\nconsole.log(mqtt, a);\n",
  'bridge/README.md': '# bridge\n',
  'broker/render-config.ts': 'export const config = 1;\n',
  'ansible/site.yml': '- hosts: all\n',
  'supabase/migrations/0001_init.sql': 'create table t (id int);\n',
  'supabase/local/shim.sql': 'select 1;\n',
  'docs/deploy.md': '# Deploy\n',
  'README.md': '# mini\n',
  'package-lock.json': lockfile(),
};

export interface GitRepoFixture {
  dir: string;
  /** The full SHA of the `base` commit. */
  base: string;
  git(...args: string[]): string;
  /** Writes (string) or deletes (null) files, commits, and returns the new HEAD's SHA. */
  commit(changes: Record<string, string | null>, message?: string): string;
  /** Back to `base` on a fresh branch. */
  reset(): void;
  remove(): void;
}

export function createGitRepoFixture(files: Record<string, string> = BASE_FILES): GitRepoFixture {
  const dir = mkdtempSync(join(tmpdir(), 'deploy-plan-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'Test',
        GIT_AUTHOR_EMAIL: 'test@example.com',
        GIT_COMMITTER_NAME: 'Test',
        GIT_COMMITTER_EMAIL: 'test@example.com',
        GIT_CONFIG_NOSYSTEM: '1',
        HOME: dir,
      },
    });
  const write = (changes: Record<string, string | null>) => {
    for (const [path, text] of Object.entries(changes)) {
      const full = join(dir, path);
      if (text === null) rmSync(full, { force: true });
      else {
        mkdirSync(dirname(full), { recursive: true });
        writeFileSync(full, text);
      }
    }
  };
  git('init', '-q', '-b', 'main');
  write(files);
  git('add', '-A');
  git('commit', '-q', '-m', 'base');
  git('tag', 'base');
  const base = git('rev-parse', 'HEAD').trim();
  let branch = 0;
  return {
    dir,
    base,
    git,
    commit(changes, message = 'change') {
      write(changes);
      git('add', '-A');
      git('commit', '-q', '--allow-empty', '-m', message);
      return git('rev-parse', 'HEAD').trim();
    },
    reset() {
      git('checkout', '-q', '-B', `case-${++branch}`, 'base');
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
