/**
 * README.md's Layout picture matches the repository: every folder it names exists, every top-level
 * folder is in it, and so is every folder directly under the ones listed in CHILDREN_LISTED. The
 * repository is what git tracks or would track (ignored folders such as node_modules/ and .ops/
 * are not part of it; a folder is there when a file is).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHILDREN_LISTED = ['test', 'scripts', 'ops', 'functions', 'bridge', 'broker', 'common'];

interface Entry {
  path: string;
  description: string;
}

/** The folders of the first fenced block under `## Layout`: `├── name/  what it is` lines of a tree. */
export function layoutEntries(readme: string): Entry[] {
  const section = /^## Layout\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  const block = section && /^```\n([\s\S]*?)^```$/m.exec(section)?.[1];
  if (!block) throw new Error('README.md: no fenced block in the Layout section');
  const entries: Entry[] = [];
  const parents: string[] = [];
  for (const line of block.split('\n')) {
    const m = /^([│ ]*)[├└]── ([^\s/]+)\/(?:\s+(.*))?$/.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    if (!Number.isInteger(depth) || depth > parents.length) throw new Error(`Layout: misaligned: ${line}`);
    parents.length = depth;
    parents.push(m[2]!);
    entries.push({ path: parents.join('/'), description: (m[3] ?? '').trim() });
  }
  return entries;
}

/** Every folder that holds a file git tracks or would track, as `a`, `a/b`, `a/b/c`. */
function repositoryFolders(): Set<string> {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  })
    .split('\0')
    .filter((f) => f !== '' && existsSync(join(ROOT, f)));
  const folders = new Set<string>();
  for (const file of files) {
    const parts = file.split('/').slice(0, -1);
    for (let i = 1; i <= parts.length; i++) folders.add(parts.slice(0, i).join('/'));
  }
  return folders;
}

const entries = layoutEntries(readFileSync(join(ROOT, 'README.md'), 'utf8'));
const named = new Set(entries.map((e) => e.path));
const folders = repositoryFolders();

test('the picture is parsed', () => {
  expect(entries.length).toBeGreaterThan(CHILDREN_LISTED.length);
  expect(named.size).toBe(entries.length);
});

test('every folder in the picture exists and says what it is', () => {
  expect(entries.filter((e) => !folders.has(e.path)).map((e) => e.path)).toEqual([]);
  expect(entries.filter((e) => e.description === '').map((e) => e.path)).toEqual([]);
});

test('every top-level folder is in the picture', () => {
  const top = [...folders].filter((f) => !f.includes('/'));
  expect(top.filter((f) => !named.has(f)).sort()).toEqual([]);
});

test.each(CHILDREN_LISTED)('every folder in %s/ is in the picture', (parent) => {
  const children = [...folders].filter((f) => f.startsWith(`${parent}/`) && f.split('/').length === 2);
  expect(children.filter((f) => !named.has(f)).sort()).toEqual([]);
});

test('the parser reads nesting, and refuses a misaligned line', () => {
  const readme = [
    '## Layout',
    '',
    '```',
    '.',
    '├── a/       first',
    '│   │        more about a',
    '│   └── b/   inside a',
    '│       └── c/',
    '└── d/       last',
    '```',
    '',
    '## Next',
  ].join('\n');
  expect(layoutEntries(readme)).toEqual([
    { path: 'a', description: 'first' },
    { path: 'a/b', description: 'inside a' },
    { path: 'a/b/c', description: '' },
    { path: 'd', description: 'last' },
  ]);
  expect(() => layoutEntries(readme.replace('│       └── c/', '│         └── c/'))).toThrow(/misaligned/);
  expect(() => layoutEntries('## Layout\n\nno picture\n')).toThrow(/no fenced block/);
});
