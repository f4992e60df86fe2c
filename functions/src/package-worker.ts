/**
 * The local stand-in for the Azure Functions Node.js worker, run as a child process by
 * package-host.ts against an extracted functions package. Like the real worker it serves
 * `@azure/functions-core` by intercepting `require` (the worker does exactly this: the module is no
 * npm package), imports the package's `main`, and records what `app.http` / `app.timer` register.
 * Invocations go through the package's own programming model (getInvocationModel, getArguments,
 * invokeFunction, getResponse), so the bundled @azure/functions converts requests and responses as
 * it does in Azure. Without this module the library falls back to "test mode" and registers
 * nothing, silently: package-host.ts refuses a package whose functions are not all there.
 *
 * Imports only Node built-ins: package-host.ts bundles it to one .mjs run by plain `node`, so no
 * node_modules and no TypeScript loader are in the process the package runs in.
 *
 * Protocol (IPC): the parent sends one WorkerConfig; the worker answers `registered` (after the
 * import), then, when serving, `listening` or, on any failure, `failed`.
 */
import { randomUUID, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import Module from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface WorkerConfig {
  mode: 'list' | 'serve';
  /** The extracted package: host.json, package.json and what its `main` names. */
  dir: string;
  host?: string;
  port?: number;
  /** Accepted for authLevel 'function' (x-functions-key header or ?code=). */
  functionKey?: string;
  /** Accepted everywhere; the only key for authLevel 'admin' and /admin/functions/<name>. */
  masterKey?: string;
}

/** One function as the package registered it. */
export interface RegisteredFunction {
  name: string;
  /** The trigger binding's type: httpTrigger, timerTrigger, ... */
  trigger: string;
  methods?: string[];
  authLevel?: string;
  route?: string;
  schedule?: string;
}

export type WorkerMessage =
  | { type: 'registered'; functions: RegisteredFunction[]; programmingModel: string | null }
  | { type: 'listening'; url: string }
  | { type: 'failed'; message: string };

// The parts of @azure/functions-core's contract this worker uses (the real declarations ship with
// the worker, not with any npm package).
interface RpcBindingInfo {
  type?: string;
  direction?: 'in' | 'out' | 'inout';
  methods?: string[];
  authLevel?: string;
  route?: string;
  schedule?: string;
}
interface FunctionMetadata {
  name: string;
  bindings: Record<string, RpcBindingInfo>;
}
type FunctionCallback = (...args: unknown[]) => unknown;
interface RpcTypedData {
  string?: string | null;
  json?: string | null;
  bytes?: Uint8Array | null;
  http?: RpcHttpData | null;
}
interface RpcHttpData {
  method?: string;
  url?: string;
  headers?: Record<string, string>;
  query?: Record<string, string>;
  params?: Record<string, string>;
  body?: RpcTypedData | null;
  statusCode?: string;
}
interface InvocationModel {
  getArguments(): Promise<{ context: unknown; inputs: unknown[] }>;
  invokeFunction(context: unknown, inputs: unknown[], handler: FunctionCallback): Promise<unknown>;
  getResponse(context: unknown, result: unknown): Promise<{ returnValue?: RpcTypedData | null }>;
}
interface ProgrammingModel {
  name: string;
  version: string;
  getInvocationModel(coreCtx: unknown): InvocationModel;
  getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

const WORKER_VERSION = '4.0.0-local';
/** The Functions host refuses larger request bodies. */
const MAX_REQUEST_BYTES = 100 * 1024 * 1024;

const registered = new Map<string, { metadata: FunctionMetadata; callback: FunctionCallback }>();
let programmingModel: ProgrammingModel | null = null;

class Disposable {
  constructor(private readonly onDispose: () => void) {}
  dispose(): void {
    this.onDispose();
  }
}

function log(level: string, category: string, message: string): void {
  process.stdout.write(`[${category} ${level}] ${message}\n`);
}

function setupCoreModule(): void {
  const coreApi = {
    version: WORKER_VERSION,
    hostVersion: WORKER_VERSION,
    setProgrammingModel: (model: ProgrammingModel) => {
      programmingModel = model;
    },
    getProgrammingModel: () => programmingModel,
    registerFunction: (metadata: FunctionMetadata, callback: FunctionCallback) => {
      if (registered.has(metadata.name))
        throw new Error(`a function named ${metadata.name} is registered twice`);
      registered.set(metadata.name, { metadata, callback });
      return new Disposable(() => registered.delete(metadata.name));
    },
    registerHook: () => new Disposable(() => undefined),
    log,
    Disposable,
  };
  const proto = Module.prototype as unknown as { require: (id: string) => unknown };
  proto.require = new Proxy(proto.require, {
    apply(target, thisArg, args: [string]) {
      return args[0] === '@azure/functions-core' ? coreApi : Reflect.apply(target, thisArg, args);
    },
  });
}

function triggerOf(metadata: FunctionMetadata): [string, RpcBindingInfo] {
  const trigger = Object.entries(metadata.bindings).find(
    ([, b]) => b.direction === 'in' && (b.type ?? '').toLowerCase().endsWith('trigger'),
  );
  if (!trigger) throw new Error(`function ${metadata.name} has no trigger binding`);
  return trigger;
}

function summarize(metadata: FunctionMetadata): RegisteredFunction {
  const [, t] = triggerOf(metadata);
  return {
    name: metadata.name,
    trigger: t.type ?? '',
    ...(t.methods ? { methods: t.methods.map((m) => m.toUpperCase()) } : {}),
    ...(t.authLevel ? { authLevel: t.authLevel } : {}),
    ...(t.route ? { route: t.route } : {}),
    ...(t.schedule ? { schedule: t.schedule } : {}),
  };
}

async function loadPackage(dir: string): Promise<void> {
  const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { main?: string };
  if (!manifest.main) throw new Error('package.json names no main');
  await import(pathToFileURL(join(dir, manifest.main)).href);
  // The worker asks the model for its capabilities once the app is loaded.
  await programmingModel?.getCapabilities({});
}

async function routePrefix(dir: string): Promise<string> {
  const host = JSON.parse(await readFile(join(dir, 'host.json'), 'utf8')) as {
    extensions?: { http?: { routePrefix?: string } };
  };
  const prefix = host.extensions?.http?.routePrefix ?? 'api';
  return prefix ? `/${prefix}` : '';
}

async function invoke(name: string, input: RpcTypedData): Promise<{ returnValue?: RpcTypedData | null }> {
  const fn = registered.get(name);
  if (!fn || !programmingModel) throw new Error(`no function ${name}`);
  const invocationId = randomUUID();
  const [bindingName] = triggerOf(fn.metadata);
  const coreCtx = {
    invocationId,
    metadata: { ...fn.metadata, functionId: name },
    request: { invocationId, functionId: name, inputData: [{ name: bindingName, data: input }] },
    state: undefined,
    log,
  };
  const model = programmingModel.getInvocationModel(coreCtx);
  const { context, inputs } = await model.getArguments();
  const result = await model.invokeFunction(context, inputs, fn.callback);
  return model.getResponse(context, result);
}

function keyOk(provided: string | null, ...accepted: (string | undefined)[]): boolean {
  if (!provided) return false;
  const a = Buffer.from(provided);
  return accepted.some((k) => {
    if (!k) return false;
    const b = Buffer.from(k);
    return a.length === b.length && timingSafeEqual(a, b);
  });
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_REQUEST_BYTES) return null;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function bodyBytes(data: RpcTypedData | null | undefined): Buffer {
  if (!data) return Buffer.alloc(0);
  if (data.bytes) return Buffer.from(data.bytes);
  if (typeof data.string === 'string') return Buffer.from(data.string);
  if (typeof data.json === 'string') return Buffer.from(data.json);
  return Buffer.alloc(0);
}

async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  config: WorkerConfig,
  routes: Map<string, string>,
): Promise<void> {
  const url = new URL(req.url ?? '/', `http://${req.headers.host ?? 'localhost'}`);
  const key = (req.headers['x-functions-key'] as string | undefined) ?? url.searchParams.get('code');
  const end = (status: number, body = '') => {
    res.writeHead(status, body ? { 'content-type': 'application/json' } : {});
    res.end(body);
  };

  // The host's admin API runs a function that has no HTTP trigger (a timer), master key only.
  // Azure answers 202 at once; here the answer waits for the run, so a caller sees its effect.
  const admin = /^\/admin\/functions\/([^/]+)$/.exec(url.pathname);
  if (admin) {
    for await (const _ of req as AsyncIterable<Buffer>) {
      // the body ({"input": ...}) carries nothing a timer reads
    }
    const fn = registered.get(decodeURIComponent(admin[1]!));
    if (req.method !== 'POST' || !fn) return end(404);
    if (!keyOk(key, config.masterKey)) return end(401);
    const timer = { Schedule: { AdjustForDST: true }, ScheduleStatus: null, IsPastDue: false };
    await invoke(fn.metadata.name, { json: JSON.stringify(timer) });
    return end(202);
  }

  const name = routes.get(url.pathname.toLowerCase());
  const fn = name ? registered.get(name) : undefined;
  if (!fn) return end(404);
  const [, trigger] = triggerOf(fn.metadata);
  const method = (req.method ?? 'GET').toUpperCase();
  if (trigger.methods && !trigger.methods.some((m) => m.toUpperCase() === method)) return end(404);
  const level = trigger.authLevel ?? 'function';
  if (level === 'function' && !keyOk(key, config.functionKey, config.masterKey)) return end(401);
  if (level === 'admin' && !keyOk(key, config.masterKey)) return end(401);
  const body = await readBody(req);
  if (!body) return end(413);

  const headers: Record<string, string> = {};
  for (const [h, v] of Object.entries(req.headers)) if (v !== undefined) headers[h] = [v].flat().join(', ');
  const response = await invoke(fn.metadata.name, {
    http: {
      method,
      url: url.href,
      headers,
      query: Object.fromEntries(url.searchParams),
      params: {},
      body: { bytes: body },
    },
  });
  const http = response.returnValue?.http;
  res.writeHead(Number(http?.statusCode ?? 200), http?.headers ?? {});
  res.end(bodyBytes(http?.body));
}

async function serve(config: WorkerConfig): Promise<string> {
  const prefix = await routePrefix(config.dir);
  const routes = new Map<string, string>();
  for (const { metadata } of registered.values()) {
    const [, trigger] = triggerOf(metadata);
    if (trigger.type?.toLowerCase() !== 'httptrigger') continue;
    routes.set(`${prefix}/${trigger.route ?? metadata.name}`.toLowerCase(), metadata.name);
  }
  const server = createServer((req, res) => {
    handle(req, res, config, routes).catch((error: Error) => {
      // The host answers 500 with no detail when a function throws; the log has it.
      log('error', 'system', `invocation failed: ${error.stack ?? error.message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  server.keepAliveTimeout = 30_000;
  const host = config.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port ?? 0, host, resolve);
  });
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
  return `http://${host}:${(server.address() as AddressInfo).port}`;
}

async function main(config: WorkerConfig): Promise<void> {
  const send = (message: WorkerMessage) =>
    new Promise<void>((resolve) => process.send!(message, () => resolve()));
  try {
    // The package runs from its own folder, as from wwwroot in Azure.
    process.chdir(config.dir);
    setupCoreModule();
    await loadPackage(config.dir);
    await send({
      type: 'registered',
      functions: [...registered.values()].map((f) => summarize(f.metadata)),
      programmingModel: programmingModel ? `${programmingModel.name}@${programmingModel.version}` : null,
    });
    if (config.mode === 'list') process.exit(0);
    await send({ type: 'listening', url: await serve(config) });
  } catch (error) {
    await send({ type: 'failed', message: (error as Error).stack ?? String(error) });
    process.exit(1);
  }
}

if (process.send) {
  process.once('message', (config: WorkerConfig) => void main(config));
  // The parent went away: so does the worker (no orphan holding the port).
  process.once('disconnect', () => process.exit(0));
}
