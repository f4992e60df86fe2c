/**
 * Azurite's blob service for tests: on 127.0.0.1 at a free port, data in a temporary directory,
 * stopped (and the directory removed) by stop(). Returns the well-known devstoreaccount1 connection
 * string (a public development key, not a secret).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const AZURITE_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'azurite-blob');
export const DEVSTORE_ACCOUNT = 'devstoreaccount1';
const DEVSTORE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface Azurite {
  port: number;
  blobEndpoint: string;
  connectionString: string;
  stop(): Promise<void>;
}

export async function startAzurite(options: { timeoutMs?: number } = {}): Promise<Azurite> {
  if (!existsSync(AZURITE_BIN))
    throw new Error(
      `Azurite is missing: ${AZURITE_BIN} not found (npm package azurite in devDependencies; run npm ci)`,
    );
  const port = await freePort();
  const location = await mkdtemp(join(tmpdir(), 'azurite-'));
  const child = spawn(
    AZURITE_BIN,
    [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      location,
      '--silent',
      '--skipApiVersionCheck',
      '--loose',
      '--disableTelemetry',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (d: Buffer) => {
    if (output.length < 4_000) output += d.toString();
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const stop = async () => {
    await stopChild(child);
    await rm(location, { recursive: true, force: true });
  };
  try {
    await waitForPort(port, child, options.timeoutMs ?? 45_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  const blobEndpoint = `http://127.0.0.1:${port}/${DEVSTORE_ACCOUNT}`;
  return {
    port,
    blobEndpoint,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${DEVSTORE_ACCOUNT};AccountKey=${DEVSTORE_KEY};BlobEndpoint=${blobEndpoint};`,
    stop,
  };
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs: number, output: () => string) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(
        `Azurite exited (${child.exitCode ?? child.signalCode}) before listening: ${output().trim()}`,
      );
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`Azurite did not listen on 127.0.0.1:${port} within ${timeoutMs} ms: ${output().trim()}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}
