/**
 * The local Functions host run *from a functions package* (functions/package-zip.ts): the zip
 * extracted to a folder and served by a child process that stands in for the Azure Functions
 * worker (package-worker.ts). Where local-host.ts serves the handlers from the sources in-process,
 * this runs exactly the files a deploy ships, with only its app settings in the environment, so a
 * package that needs anything it does not carry fails here as it would in Azure. The deploy's
 * `--env local` swaps the sandbox's functions with it; the package build lists functions with it.
 */
import { build } from 'esbuild';
import { unzipSync } from 'fflate';
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { HEALTH_ROUTE, INGEST_ROUTE } from '../../common/ingest-protocol.js';
import type { RegisteredFunction, WorkerConfig, WorkerMessage } from './package-worker.js';

export type { RegisteredFunction } from './package-worker.js';

export interface PackageWorkerOptions {
  /** The Function App's application settings (DATABASE_URL, ...): the worker's whole environment besides PATH and HOME. */
  settings?: Record<string, string>;
  /** The worker's output (the app's console, context.log), line by line; default: dropped. */
  log?: (line: string) => void;
  /** How long loading (and, serving, listening) may take. */
  startTimeoutMs?: number;
}

export interface PackageHostOptions extends PackageWorkerOptions {
  /** An extracted package (extractFunctionsPackage). */
  dir: string;
  functionKey: string;
  /** Admin key (authLevel 'admin', POST /admin/functions/<name> to run a timer); default: none. */
  masterKey?: string;
  /** A fixed port lets a restarted host take the place of the one before (the bridge's ingest URL). */
  port?: number;
  host?: string;
  /** Refuse to serve unless each of these registered (the worker registers nothing without its core module). */
  expectFunctions?: readonly string[];
}

export interface PackageHost {
  url: string;
  ingestUrl: string;
  healthUrl: string;
  dir: string;
  functions: RegisteredFunction[];
  /** The programming model the package set (`@azure/functions@4.x`); null: none did. */
  programmingModel: string | null;
  pid: number;
  close(): Promise<void>;
}

/** Extracts a package zip into `dir` (created); returns the entry names. Entries may not leave `dir`. */
export async function extractFunctionsPackage(zip: string | Uint8Array, dir: string): Promise<string[]> {
  const files = unzipSync(typeof zip === 'string' ? await readFile(zip) : zip);
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const names = Object.keys(files).sort();
  for (const name of names) {
    const target = resolve(root, name);
    if (!target.startsWith(root + sep))
      throw new Error(`zip entry ${JSON.stringify(name)} points outside ${dir}`);
    if (name.endsWith('/')) await mkdir(target, { recursive: true });
    else {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, files[name]!);
    }
  }
  return names;
}

/** The node_modules folders Node's resolution would search from `dir` upwards: none, for a self-contained test. */
export function reachableNodeModules(dir: string): string[] {
  const found: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(join(d, 'node_modules'))) found.push(join(d, 'node_modules'));
    if (dirname(d) === d) return found;
  }
}

/** Loads the package the way the worker does and returns what it registered; nothing is served. */
export async function listPackageFunctions(
  dir: string,
  options: PackageWorkerOptions = {},
): Promise<{ functions: RegisteredFunction[]; programmingModel: string | null }> {
  const { registered } = await startWorker({ mode: 'list', dir }, options);
  return { functions: registered.functions, programmingModel: registered.programmingModel };
}

export async function startPackageFunctionsHost(options: PackageHostOptions): Promise<PackageHost> {
  const { child, registered, url } = await startWorker(
    {
      mode: 'serve',
      dir: options.dir,
      functionKey: options.functionKey,
      masterKey: options.masterKey,
      port: options.port,
      host: options.host,
    },
    options,
  );
  const close = () => stopChild(child);
  const names = registered.functions.map((f) => f.name);
  const missing = (options.expectFunctions ?? []).filter((n) => !names.includes(n));
  if (names.length === 0 || missing.length > 0) {
    await close();
    throw new Error(
      names.length === 0
        ? `the package in ${options.dir} registered no function (programming model: ${registered.programmingModel ?? 'none'})`
        : `the package in ${options.dir} did not register ${missing.join(', ')} (it registered ${names.join(', ')})`,
    );
  }
  return {
    url: url!,
    ingestUrl: `${url}${INGEST_ROUTE}`,
    healthUrl: `${url}${HEALTH_ROUTE}`,
    dir: options.dir,
    functions: registered.functions,
    programmingModel: registered.programmingModel,
    pid: child.pid!,
    close,
  };
}

type Registered = Extract<WorkerMessage, { type: 'registered' }>;

async function startWorker(
  config: WorkerConfig,
  options: PackageWorkerOptions,
): Promise<{ child: ChildProcess; registered: Registered; url?: string }> {
  const child = fork(await workerScript(), [], {
    cwd: config.dir,
    env: workerEnv(options.settings),
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const tail: string[] = [];
  for (const stream of [child.stdout!, child.stderr!])
    createInterface({ input: stream }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      options.log?.(line);
    });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ms = options.startTimeoutMs ?? 30_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const started = await new Promise<{ registered: Registered; url?: string }>((resolve, reject) => {
      let registered: Registered | undefined;
      timer = setTimeout(() => reject(new Error(`no answer from the worker in ${ms} ms`)), ms);
      child.on('message', (m: WorkerMessage) => {
        if (m.type === 'registered') {
          registered = m;
          if (config.mode === 'list') resolve({ registered });
        } else if (m.type === 'listening' && registered) resolve({ registered, url: m.url });
        else if (m.type === 'failed') reject(new Error(m.message));
      });
      void exited.then((code) => reject(new Error(`the worker exited (${code}) before it was ready`)));
      child.send(config);
    });
    if (config.mode === 'list') await exited;
    return { child, ...started };
  } catch (error) {
    await stopChild(child);
    const output = tail.length ? `\n${tail.join('\n')}` : '';
    throw new Error(`loading the functions package in ${config.dir}: ${(error as Error).message}${output}`);
  } finally {
    clearTimeout(timer);
  }
}

/** As the Function App: its settings, nothing of this process's environment but PATH and HOME. */
function workerEnv(settings: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    ...(process.env.HOME ? { HOME: process.env.HOME } : {}),
    FUNCTIONS_WORKER_RUNTIME: 'node',
    ...settings,
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

let compiled: Promise<{ path: string; code: Uint8Array }> | undefined;

/**
 * package-worker.ts as one plain .mjs (built-ins only), so the worker runs on bare `node` with no
 * TypeScript loader that could resolve or rewrite what the package imports. Named by its content
 * in the temporary folder: built once per version, shared by every run.
 */
async function workerScript(): Promise<string> {
  compiled ??= (async () => {
    const source = join(dirname(fileURLToPath(import.meta.url)), 'package-worker.ts');
    const result = await build({
      entryPoints: [source],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      logLevel: 'warning',
    });
    const code = result.outputFiles[0]!.contents;
    const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
    return { path: join(tmpdir(), `mqtt-saas-functions-worker-${hash}.mjs`), code };
  })().catch((error: unknown) => {
    compiled = undefined;
    throw error;
  });
  const { path, code } = await compiled;
  if (!existsSync(path)) {
    const partial = `${path}.${process.pid}.tmp`;
    await writeFile(partial, code);
    await rename(partial, path);
  }
  return path;
}
