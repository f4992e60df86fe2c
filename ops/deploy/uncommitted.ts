/**
 * A deploy ships HEAD, but the stages build from the work tree (the Functions package, the bridge
 * bundle, Ansible's role files, the migrations): what a stage would ship that is not committed is
 * refused before anything runs. "What it ships" is the deployables table (deployables.ts): its
 * paths and every repository file its bundles pull in, minus what is never deployed.
 */
import { DEPLOYABLES, matchesAny, NOT_DEPLOYED, type DeployStage } from './deployables.js';
import type { GitRunner } from './git.js';
import { esbuildBundleInputs, type BundleInputsOf } from './plan-bundles.js';

export async function uncommittedSources(
  git: GitRunner,
  root: string,
  stages: readonly DeployStage[],
  inputsOf: BundleInputsOf = esbuildBundleInputs,
): Promise<string[]> {
  const paths = new Set<string>();
  const globs: string[] = [];
  for (const d of DEPLOYABLES.filter((x) => stages.includes(x.stage))) {
    globs.push(...d.paths);
    // `dir/**` as a git pathspec is the directory.
    for (const p of d.paths) paths.add(p.replace(/\/\*\*$/, '/'));
    for (const entry of d.bundles) for (const f of (await inputsOf(root, entry)).files) paths.add(f);
  }
  if (!paths.size) return [];
  const out = await git(['status', '--porcelain', '--untracked-files=all', '--', ...paths]);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => line.slice(3))
    .filter((p) => !matchesAny(p, NOT_DEPLOYED))
    .sort();
}
