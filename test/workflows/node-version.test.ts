/**
 * One Node major everywhere: the release .ci/run pins (and installs where the machine has another)
 * and ci.yml and deploy.yml set up, package.json `engines` and `@types/node`, the Functions app's own
 * package.json, the Function App's runtime in docs/adopt.md and the README's prerequisite.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

interface Manifest {
  engines?: { node?: string };
  devDependencies?: Record<string, string>;
}

const pinned = /^NODE_VERSION=(\d+)\.(\d+)\.(\d+)$/m.exec(read('.ci/run'));
const major = Number(pinned?.[1]);

test('.ci/run pins one exact Node release, 22 or newer', () => {
  expect(pinned).not.toBeNull();
  expect(major).toBeGreaterThanOrEqual(22);
});

test.each(
  ['package.json', 'functions/package.json'].filter((f) => f === 'package.json' || existsSync(join(ROOT, f))),
)('%s requires that major in engines.node', (file) => {
  const engines = (JSON.parse(read(file)) as Manifest).engines?.node ?? '';
  expect({ file, engines }).toEqual({ file, engines: `>=${major}` });
});

test.each(['ci.yml', 'deploy.yml'])('%s sets up exactly that release', (file) => {
  const release = pinned!.slice(1, 4).join('.');
  const versions = [...read(`.github/workflows/${file}`).matchAll(/^\s+node-version: (\S+)/gm)].map(
    (m) => m[1],
  );
  expect(versions).toEqual([release]);
});

test('@types/node is pinned exactly, on the same major', () => {
  const types = (JSON.parse(read('package.json')) as Manifest).devDependencies?.['@types/node'] ?? '';
  expect(types).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
});

test('docs/adopt.md runs the Function App on that major, and the README asks for it', () => {
  const adopt = read('docs/adopt.md');
  expect(
    [...adopt.matchAll(/--runtime-version (\d+)|Node\|(\d+)/g)].map((m) => Number(m[1] ?? m[2])),
  ).toEqual([major, major]);
  expect(read('README.md')).toContain(`Node ${major}`);
});
