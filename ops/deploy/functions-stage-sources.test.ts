/**
 * The package is built from the work tree with HEAD's SHA, so the deploy refuses uncommitted
 * sources first: uncommittedFunctionsSources lists them among functions/ and the bundle's inputs.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gitIn } from './git.js';
import { uncommittedFunctionsSources } from './functions-stage.js';

let repo: string;
beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'functions-sources-'));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, stdio: 'ignore' });
  git('init', '-q');
  for (const f of ['functions/src/index.ts', 'common/shared.ts', 'common/unrelated.ts', 'docs/x.md']) {
    await mkdir(join(repo, f, '..'), { recursive: true });
    await writeFile(join(repo, f), 'export {};\n');
  }
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', 'init');
});
afterAll(() => rm(repo, { recursive: true, force: true }));

test('lists changed or new files under functions/ and among the bundle inputs, nothing else', async () => {
  const inputsOf = async () => ({ files: ['functions/src/index.ts', 'common/shared.ts'], packages: [] });
  expect(await uncommittedFunctionsSources(gitIn(repo), repo, inputsOf)).toEqual([]);
  await writeFile(join(repo, 'common/shared.ts'), 'export const changed = 1;\n');
  await writeFile(join(repo, 'common/unrelated.ts'), 'export const changed = 1;\n');
  await writeFile(join(repo, 'functions/new.ts'), 'export {};\n');
  await writeFile(join(repo, 'functions/new.test.ts'), 'export {};\n');
  await writeFile(join(repo, 'docs/x.md'), 'changed\n');
  expect(await uncommittedFunctionsSources(gitIn(repo), repo, inputsOf)).toEqual([
    'common/shared.ts',
    'functions/new.ts',
  ]);
});
