/**
 * How the Functions app becomes one ESM file (esbuild): src/index.ts to package.json's `main`.
 * The deploy builds with these options and functions/package.test.ts checks what they bundle.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions } from 'esbuild';

export const FUNCTIONS_DIR = dirname(fileURLToPath(import.meta.url));

export interface FunctionsManifest {
  type: string;
  main: string;
  engines: { node: string };
  dependencies: Record<string, string>;
}

export function functionsManifest(): FunctionsManifest {
  return JSON.parse(readFileSync(join(FUNCTIONS_DIR, 'package.json'), 'utf8')) as FunctionsManifest;
}

/** The identifier functions/src/build-info.ts reads the commit from. */
export const COMMIT_DEFINE = '__FUNCTIONS_COMMIT__';

/** `commitSha`: the commit the package is built from; /health reports it. */
export function functionsBuildOptions(options: { commitSha?: string } = {}): BuildOptions {
  return {
    entryPoints: [join(FUNCTIONS_DIR, 'src/index.ts')],
    outfile: join(FUNCTIONS_DIR, functionsManifest().main),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // The worker provides it to @azure/functions at run time; it is no package.
    external: ['@azure/functions-core'],
    // Bundled CommonJS dependencies call require(); ESM output has none of its own.
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
    ...(options.commitSha ? { define: { [COMMIT_DEFINE]: JSON.stringify(options.commitSha) } } : {}),
    logLevel: 'warning',
  };
}
