/**
 * `npm run ops -- <args>` as a new user's shell runs it: `ops/main.ts` in a process of its own
 * (through tsx's loader), with nothing of ours in its environment but a PATH, a HOME and what the
 * test passes (a stand-in `az` first on PATH, the stand-in's CA, its Resource Manager URL).
 */
import { spawn } from 'node:child_process';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TSX_LOADER = pathToFileURL(join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface OpsProcessOptions {
  /** Directories put first on PATH (e.g. the stand-in `az`'s). */
  pathFirst?: string[];
  home: string;
  /** Variables besides PATH and HOME. */
  env?: Record<string, string>;
}

export async function runOpsProcess(
  args: string[],
  options: OpsProcessOptions,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, 'ops/main.ts', ...args], {
    cwd: REPO_ROOT,
    env: {
      PATH: [...(options.pathFirst ?? []), dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter),
      HOME: options.home,
      ...options.env,
    },
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, out, err };
}
