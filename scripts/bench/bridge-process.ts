/**
 * Runs the bridge as its own process, as on the VM, from a bundle built with esbuild (no loader
 * overhead), so its peak RSS is the bridge's alone (VmHWM from /proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '../../supabase/migrate.js';

export async function bundleBridge(outDir: string): Promise<string> {
  const outfile = join(outDir, 'bridge.mjs');
  await build({
    entryPoints: [join(REPO_ROOT, 'bridge', 'main.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}

export interface BridgeProcess {
  child: ChildProcess;
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

export function startBridgeProcess(bundle: string, env: Record<string, string>): BridgeProcess {
  const child = spawn(process.execPath, [bundle], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return {
    child,
    async peakRssMb() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
      return kb / 1024;
    },
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
