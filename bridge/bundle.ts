/**
 * The bridge as one ESM file (esbuild), as it runs on the VM: no loader overhead, no node_modules.
 * Benchmarks run this bundle in its own process; the deploy ships it.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const BRIDGE_DIR = dirname(fileURLToPath(import.meta.url));

/**
 * The text `import.meta.url`, spelled in parts: scripts/build-actions.ts rewrites that text in the
 * sources it bundles (the deploy action bundles this module), which would break a string literal.
 */
const IMPORT_META_URL = ['import', 'meta', 'url'].join('.');

/**
 * Builds `<outDir>/bridge.mjs` from bridge/main.ts and returns its path. `bridgeDir`: the bridge/
 * of another checkout (the deploy bundles the commit it deploys, not the code running it).
 */
export async function bundleBridge(outDir: string, bridgeDir: string = BRIDGE_DIR): Promise<string> {
  const outfile = join(outDir, 'bridge.mjs');
  await build({
    entryPoints: [join(bridgeDir, 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    // `debug` (used by mqtt.js and mqtt-packet on every packet) becomes a no-op unless DEBUG is set.
    plugins: [
      {
        name: 'debug-shim',
        setup(b) {
          b.onResolve({ filter: /^debug$/ }, () => ({ path: join(bridgeDir, 'debug-shim.cjs') }));
        },
      },
    ],
    // Bundled CommonJS dependencies call require(); ESM output has none of its own.
    banner: {
      js: `import { createRequire as __cr } from 'node:module'; const require = __cr(${IMPORT_META_URL});`,
    },
  });
  return outfile;
}
