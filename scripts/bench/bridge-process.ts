/**
 * Runs the bridge bundle (bridge/bundle.ts) as its own process with the production node flags, so
 * its peak RSS is the bridge's alone (VmHWM from /proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
export { bundleBridge } from '../../bridge/bundle.js';
import { BRIDGE_NODE_FLAGS } from '../../bridge/node-flags.js';

export interface BridgeProcess {
  child: ChildProcess;
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

export function startBridgeProcess(bundle: string, env: Record<string, string>): BridgeProcess {
  const child = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, bundle], {
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
