/**
 * Whether a package-lock.json change reaches a bundle: the packages its sources import and
 * everything those depend on (resolved as npm lays out node_modules, from the lockfile alone), with
 * their locked version, source or integrity compared between two commits. A dev-dependency bump
 * then deploys nothing; neither do type packages (@types/*), which no bundle contains.
 */

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
export interface Lockfile {
  packages?: Record<string, LockEntry>;
}

/** Where npm finds `name` for the package installed at `from` (a lockfile key, '' for the root). */
function resolveKey(lock: Lockfile, from: string, name: string): string | undefined {
  const packages = lock.packages ?? {};
  let dir = from;
  for (;;) {
    const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[key]) return key;
    if (!dir) return undefined;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut === -1 ? '' : dir.slice(0, cut);
  }
}

/** Lockfile keys of `roots` and their dependencies, transitively. */
export function lockedClosure(lock: Lockfile, roots: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const queue = roots.map((name) => resolveKey(lock, '', name)).filter((k): k is string => !!k);
  while (queue.length) {
    const key = queue.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const entry = lock.packages?.[key] ?? {};
    const names = Object.keys({
      ...entry.dependencies,
      ...entry.optionalDependencies,
      ...entry.peerDependencies,
    });
    for (const name of names.filter((n) => !n.startsWith('@types/'))) {
      const dep = resolveKey(lock, key, name);
      if (dep && !seen.has(dep)) queue.push(dep);
    }
  }
  return seen;
}

const nameOf = (key: string) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length);
const identity = (e: LockEntry | undefined) =>
  e ? JSON.stringify([e.version, e.resolved, e.integrity, e.link]) : 'absent';

/**
 * The packages `roots` reach (at either commit) whose locked identity differs, as
 * `name old -> new`, sorted.
 */
export function changedLockedPackages(base: Lockfile, head: Lockfile, roots: readonly string[]): string[] {
  const keys = new Set([...lockedClosure(base, roots), ...lockedClosure(head, roots)]);
  const changes: string[] = [];
  for (const key of keys) {
    const [a, b] = [base.packages?.[key], head.packages?.[key]];
    if (identity(a) === identity(b)) continue;
    changes.push(`${nameOf(key)} ${a?.version ?? 'absent'} -> ${b?.version ?? 'absent'}`);
  }
  return changes.sort();
}
