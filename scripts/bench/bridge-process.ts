/**
 * Runs the bridge bundle (bridge/bundle.ts) as its own process with the production node flags, so
 * its peak RSS is the bridge's alone (VmHWM from /proc).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { BRIDGE_NODE_FLAGS, BRIDGE_PROCESS_ENV } from '../../bridge/node-flags.js';

export interface BridgeProcess {
  child: ChildProcess;
  peakRssMb(): Promise<number>;
  stop(): Promise<void>;
}

export function startBridgeProcess(bundle: string, env: Record<string, string>): BridgeProcess {
  const child = spawn(
    process.execPath,
    [...bridgeNodeFlags(), ...profileFlags('BENCH_BRIDGE_PROFILE_DIR'), bundle],
    {
      env: { PATH: process.env.PATH ?? '', ...BRIDGE_PROCESS_ENV, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
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

/** `--cpu-prof` into the directory named by this environment variable, when it is set. */
export function profileFlags(variable: string): string[] {
  const dir = process.env[variable];
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** The production flags, or BENCH_BRIDGE_NODE_FLAGS instead (tuning experiments). */
export function bridgeNodeFlags(): string[] {
  const override = process.env.BENCH_BRIDGE_NODE_FLAGS;
  return override === undefined ? [...BRIDGE_NODE_FLAGS] : override.split(' ').filter(Boolean);
}
