/**
 * The repository files a bundle is built from, and the packages they import, from esbuild's
 * metafile: exactly what the deployed bundle contains (type-only imports dropped, as in the build),
 * so the plan needs no hand-kept list of the ops modules the Functions probe shares. Packages stay
 * external here; package-lock.json changes are weighed separately (plan-lockfile.ts).
 */
import { isBuiltin } from 'node:module';
import { join } from 'node:path';

export interface BundleInputs {
  /** Repository-relative paths of the source files in the bundle. */
  files: string[];
  /** Bare package names those files import (`mqtt`, `@azure/functions`). */
  packages: string[];
}

export type BundleInputsOf = (root: string, entry: string) => Promise<BundleInputs>;

export const esbuildBundleInputs: BundleInputsOf = async (root, entry) => {
  // Loaded only when a plan needs it: the ops actions bundle this module but never plan.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const files = Object.keys(result.metafile.inputs).sort();
  const packages = new Set<string>();
  for (const input of Object.values(result.metafile.inputs))
    for (const i of input.imports) {
      if (!i.external || isBuiltin(i.path)) continue;
      const name = /^(?:@[^/]+\/)?[^/]+/.exec(i.path)?.[0];
      if (name && !name.startsWith('.')) packages.add(name);
    }
  return { files, packages: [...packages].sort() };
};
