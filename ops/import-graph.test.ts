/**
 * The ops engine's modules import each other without cycles, and only entry points import the CLI
 * router (ops/cli.ts imports every command; a command importing it back, even for a type, is how
 * the last cycle came in). Read from the import lines, type-only ones included.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OPS = join(ROOT, 'ops');

function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** `import ... from './x.js'`, `export ... from`, `import './x.js'`, `import('./x.js')`: relative ones. */
export function importsOf(text: string): string[] {
  const found = [
    ...text.matchAll(/^\s*(?:import|export)\b[^;'"]*?\bfrom\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm),
    ...text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g),
  ];
  return found.map((m) => m[1]!).filter((s) => s.startsWith('.'));
}

/** Module graph over `files`, as paths relative to the repository, `.js` specifiers mapped to `.ts`. */
function graph(files: string[]): Map<string, string[]> {
  const known = new Set(files);
  const edges = new Map<string, string[]>();
  for (const file of files) {
    const to = importsOf(readFileSync(file, 'utf8'))
      .map((spec) => resolve(dirname(file), spec.replace(/\.js$/, '.ts')))
      .filter((path) => known.has(path));
    edges.set(rel(file), [...new Set(to.map(rel))]);
  }
  return edges;
}

const rel = (path: string) => relative(ROOT, path);

/** Every cycle as a path `a -> b -> a` (one per strongly connected component is enough to fail). */
export function cycles(edges: Map<string, string[]>): string[] {
  const found: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next].join(' -> '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...edges.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

const edges = graph(tsFiles(OPS));

test('the ops modules import each other without a cycle', () => {
  expect(edges.size).toBeGreaterThan(50);
  expect(cycles(edges)).toEqual([]);
});

test('only ops/main.ts and tests import ops/cli.ts', () => {
  const importers = [...edges]
    .filter(([, to]) => to.includes('ops/cli.ts'))
    .map(([from]) => from)
    .filter((from) => !from.endsWith('.test.ts'));
  expect(importers).toEqual(['ops/main.ts']);
});

test('the check itself sees cycles and every import form', () => {
  expect(
    cycles(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', ['a']],
        ['d', ['a']],
      ]),
    ),
  ).toEqual(['a -> b -> c -> a']);
  const text = [
    "import type { CliIo } from '../cli.js';",
    'import {',
    '  a,',
    '  b,',
    "} from './multi.js';",
    "export { c } from './re-export.js';",
    "import './side-effect.js';",
    "const m = await import('./dynamic.js');",
    "import { parseArgs } from 'node:util';",
  ].join('\n');
  expect(importsOf(text)).toEqual([
    '../cli.js',
    './multi.js',
    './re-export.js',
    './side-effect.js',
    './dynamic.js',
  ]);
});
