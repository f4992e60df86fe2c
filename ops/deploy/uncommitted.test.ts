/**
 * The stages build from the work tree under HEAD's SHA, so the deploy refuses uncommitted sources
 * first: uncommittedSources lists them among each selected stage's paths and bundle inputs.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitIn } from './git.js';
import { uncommittedSources } from './uncommitted.js';

let repo: string;
beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'functions-sources-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  git('init', '-q');
  for (const f of [
    'functions/src/index.ts',
    'common/shared.ts',
    'common/unrelated.ts',
    'docs/x.md',
    'bridge/main.ts',
    'ansible/site.yml',
    'supabase/migrations/0001_init.sql',
  ]) {
    await mkdir(join(repo, f, '..'), { recursive: true });
    await writeFile(join(repo, f), 'export {};\n');
  }
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'init');
});
afterAll(() => rm(repo, { recursive: true, force: true }));

test("lists changed or new files under the stages' paths and among their bundle inputs, nothing else", async () => {
  const inputsOf = async (_root: string, entry: string) => ({
    files:
      entry === 'functions/src/index.ts'
        ? ['functions/src/index.ts', 'common/shared.ts']
        : ['bridge/main.ts'],
    packages: [],
  });
  const git = gitIn(repo);
  expect(await uncommittedSources(git, repo, ['database', 'functions', 'vm'], inputsOf)).toEqual([]);
  await writeFile(join(repo, 'common/shared.ts'), 'export const changed = 1;\n');
  await writeFile(join(repo, 'common/unrelated.ts'), 'export const changed = 1;\n');
  await writeFile(join(repo, 'functions/new.ts'), 'export {};\n');
  await writeFile(join(repo, 'functions/new.test.ts'), 'export {};\n');
  await writeFile(join(repo, 'docs/x.md'), 'changed\n');
  await writeFile(join(repo, 'ansible/site.yml'), '# changed\n');
  await writeFile(join(repo, 'supabase/migrations/0002_wip.sql'), 'select 1;\n');
  expect(await uncommittedSources(git, repo, ['functions'], inputsOf)).toEqual([
    'common/shared.ts',
    'functions/new.ts',
  ]);
  expect(await uncommittedSources(git, repo, ['vm'], inputsOf)).toEqual(['ansible/site.yml']);
  expect(await uncommittedSources(git, repo, ['database'], inputsOf)).toEqual([
    'supabase/migrations/0002_wip.sql',
  ]);
  expect(await uncommittedSources(git, repo, [], inputsOf)).toEqual([]);
});
