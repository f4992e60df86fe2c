/**
 * The bridge as on the VM: bridge/main.ts bundled with esbuild (bridge/bundle.ts) and run as its
 * own node process with the recommended heap flags, configured by BRIDGE_* variables. Its
 * JSON-lines log is kept; its counters come from GET /metrics on the health port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import type { BridgeStats } from '../../../bridge/index.js';
import { BRIDGE_NODE_FLAGS } from '../../../bridge/node-flags.js';
import { bundleBridge } from '../../../bridge/bundle.js';

export { bundleBridge };

export interface BridgeChild {
  readonly proc: ChildProcess;
  readonly pid: number;
  /** stdout + stderr so far. */
  output(): string;
  /** Log lines (JSON) with this `msg`. */
  logs(msg: string): Record<string, unknown>[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  metrics(): Promise<BridgeStats>;
  /** SIGKILL, like an OOM kill; resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful); resolves with the exit code. */
  terminate(): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => live.forEach((child) => child.kill('SIGKILL')));

export function spawnBridge(bundle: string, env: Record<string, string>, healthPort: number): BridgeChild {
  const proc = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, bundle], {
    env: { PATH: process.env.PATH ?? '', ...env, BRIDGE_HEALTH_PORT: String(healthPort) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let out = '';
  const collect = (chunk: Buffer) => (out += chunk.toString('utf8'));
  proc.stdout?.on('data', collect);
  proc.stderr?.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      resolve({ code, signal });
    }),
  );
  const logs = (msg: string) =>
    out
      .split('\n')
      .filter((line) => line.includes(`"msg":"${msg}"`))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    proc,
    pid: proc.pid ?? -1,
    output: () => out,
    logs,
    exited,
    metrics: () => getJson<BridgeStats>(`http://127.0.0.1:${healthPort}/metrics`),
    async kill() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
      await exited;
    },
    async terminate() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return (await exited).code;
    },
  };
}

function getJson<T>(url: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: 2_000 }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body) as T);
        } catch (error) {
          reject(error as Error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}
