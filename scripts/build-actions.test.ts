import { stop } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { bundleActions, compareDist, listActions, REPO_ROOT, type BuiltActions } from './build-actions.js';

const run = promisify(execFile);

describe('the committed actions dist', () => {
  let built: BuiltActions;
  beforeAll(async () => {
    built = await bundleActions();
  }, 30_000);
  afterAll(() => stop());

  it('is what the sources bundle to now', async () => {
    const diff = await compareDist(built);
    const stale = [...diff.changed, ...diff.missing, ...diff.extra];
    if (stale.length > 0) throw new Error(`dist is stale: run npm run build:actions (${stale.join(', ')})`);
  });

  it('has one entry per action and shares the rest, bundled quickly and compactly', async () => {
    const actions = await listActions();
    expect(actions).toEqual(
      expect.arrayContaining(['ops-backup', 'ops-cadence', 'ops-playbook', 'ops-deploy']),
    );
    for (const name of actions) expect(built.files.has(`${name}/dist/index.js`)).toBe(true);
    for (const path of built.files.keys()) expect(path).toMatch(/^[a-z0-9-]+\/dist\/[\w.-]+\.js$/);
    const total = [...built.files.values()].reduce((n, f) => n + f.byteLength, 0);
    expect(total).toBeLessThan(15e6);
    for (const name of actions)
      expect(built.files.get(`${name}/dist/index.js`)!.byteLength).toBeLessThan(20e3);
    expect(built.ms).toBeLessThan(20_000);
  });

  it('holds no absolute paths of this machine', () => {
    for (const [path, contents] of built.files) {
      const text = Buffer.from(contents).toString('utf8');
      expect({ path, hasRoot: text.includes(REPO_ROOT) }).toEqual({ path, hasRoot: false });
    }
  });

  it('finds our files through the repository root, not the bundle’s own URL', () => {
    const text = [...built.files.values()].map((f) => Buffer.from(f).toString('utf8')).join('\n');
    expect(text).toContain('new URL("supabase/migrate.ts",__opsRepoRootUrl)');
  });

  it("loads PostgreSQL's parser from node_modules, where its WASM sits next to its loader", () => {
    const text = [...built.files.values()].map((f) => Buffer.from(f).toString('utf8')).join('\n');
    expect(text).toContain('import("@libpg-query/parser")');
    // Bundled, its loader would look for libpg-query.wasm next to the chunk, where nothing puts it.
    expect(text).not.toContain('libpg-query.wasm');
  });

  it('is deterministic', async () => {
    const again = await bundleActions();
    expect([...again.files.keys()].sort()).toEqual([...built.files.keys()].sort());
    for (const [path, contents] of again.files)
      expect(Buffer.from(contents).equals(Buffer.from(built.files.get(path)!))).toBe(true);
  }, 30_000);

  it('runs on this Node: ops-cadence refuses a bad input with a clear error and exit code 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ops-cadence-dist-'));
    try {
      const output = join(dir, 'output');
      await writeFile(output, '');
      const failure = await run(process.execPath, [join(REPO_ROOT, 'actions/ops-cadence/dist/index.js')], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          GITHUB_OUTPUT: output,
          INPUT_CADENCE: 'hourly',
          INPUT_ENVIRONMENT: 'prod',
        },
      }).then(
        () => null,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stdout).toContain(
        '::error::invalid inputs: "cadence" must be one of daily, weekly, monthly, golive, uptime (got "hourly")',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('runs on this Node: ops-cadence calls the bundled CLI and fails with what it said', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ops-cadence-dist-'));
    try {
      const failure = await run(process.execPath, [join(REPO_ROOT, 'actions/ops-cadence/dist/index.js')], {
        cwd: dir,
        env: {
          PATH: process.env.PATH,
          INPUT_CADENCE: 'daily',
          INPUT_ENVIRONMENT: 'no-such-env',
          INPUT_INCIDENTS: 'off',
          'INPUT_FAIL-ON': 'fail',
          'INPUT_REPORT-DIR': 'reports',
          OPS_DATABASE_URL: 'postgres://ops:hunter2-secret@127.0.0.1:1/postgres',
        },
      }).then(
        () => null,
        (error: { code: number; stdout: string }) => error,
      );
      expect(failure?.code).toBe(1);
      expect(failure?.stdout).toContain('::add-mask::hunter2-secret');
      expect(failure?.stdout).toContain('ops daily --env no-such-env --json --incidents off');
      expect(failure?.stdout).toMatch(/::error::ops daily exited 2: ops daily: no environment "no-such-env"/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('compareDist', () => {
  it('names changed, missing and extra files', async () => {
    const root = await mkdtemp(join(tmpdir(), 'build-actions-'));
    try {
      await mkdir(join(root, 'actions/a/dist'), { recursive: true });
      await mkdir(join(root, 'actions/shared/dist'), { recursive: true });
      await writeFile(join(root, 'actions/a/dist/index.js'), 'old');
      await writeFile(join(root, 'actions/shared/dist/chunk-OLD.js'), 'x');
      await writeFile(join(root, 'actions/shared/dist/chunk-SAME.js'), 'same');
      const built: BuiltActions = {
        ms: 0,
        files: new Map([
          ['a/dist/index.js', Buffer.from('new')],
          ['b/dist/index.js', Buffer.from('b')],
          ['shared/dist/chunk-SAME.js', Buffer.from('same')],
        ]),
      };
      expect(await compareDist(built, root)).toEqual({
        changed: ['a/dist/index.js'],
        missing: ['b/dist/index.js'],
        extra: ['shared/dist/chunk-OLD.js'],
      });
      expect(await readFile(join(root, 'actions/a/dist/index.js'), 'utf8')).toBe('old');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
