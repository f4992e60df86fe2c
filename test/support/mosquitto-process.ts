/**
 * Runs a real Mosquitto on loopback with the configuration rendered from the Ansible role, for
 * tests and the local sandbox. The binary is started directly (no systemd), so reload is the
 * same SIGHUP the packaged unit's ExecReload sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  renderBrokerConfig,
  type BrokerUser,
  type RenderOptions,
  type RenderedConfig,
} from '../../broker/render-config.js';
import { freePort, portAccepts } from './free-port.js';

export interface StartMosquittoOptions extends Omit<RenderOptions, 'dir' | 'ports'> {
  /** Working directory (config, data, log). Default: a temp dir, removed by stop(). */
  dir?: string;
  /** Fixed ports; any that is missing is picked free. mqtts is enabled by `tls`, ws by `websockets`. */
  ports?: { mqtt?: number; mqtts?: number; ws?: number };
  /** Enable the websockets listener (also enabled by ports.ws). */
  websockets?: boolean;
  /** Mosquitto binary. Default findMosquitto(). */
  binary?: string;
  /** Bound on waiting for the listeners. Default 10 s. */
  startTimeoutMs?: number;
}

export interface MosquittoBroker {
  url: string;
  tlsUrl?: string;
  wsUrl?: string;
  ports: { mqtt: number; mqtts?: number; ws?: number };
  configDir: string;
  /** The latest rendering (setUsers re-renders). */
  readonly config: RenderedConfig;
  readonly pid: number;
  /** The broker's log file so far. */
  log(): Promise<string>;
  /** Re-renders the password file and ACL for these users; takes effect on reload(). */
  setUsers(users: readonly BrokerUser[]): Promise<void>;
  /** SIGHUP: re-reads password file, ACL and log file; resolves once the broker has reloaded. */
  reload(): Promise<void>;
  /** Graceful stop and start on the same ports and data directory. */
  restart(): Promise<void>;
  /** SIGTERM (SIGKILL after 5 s); removes the directory when it was a temp dir. */
  stop(): Promise<void>;
  /** SIGKILL, like a crash: nothing is saved. restart() brings it back. */
  kill(): Promise<void>;
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/local/sbin', '/opt/homebrew/sbin'];
const RELOADED = 'Reloading config.';
const STOP_GRACE_MS = 5_000;
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * A Mosquitto program (`mosquitto`, `mosquitto_passwd`, ...): $MOSQUITTO_BIN for the broker, the
 * usual sbin directories, then PATH; null when absent.
 */
export function findMosquitto(program = 'mosquitto'): string | null {
  const fromEnv = program === 'mosquitto' ? process.env.MOSQUITTO_BIN : undefined;
  if (fromEnv) {
    if (!isExecutable(fromEnv)) throw new Error(`MOSQUITTO_BIN=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const dirs = [...SEARCH_DIRS, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  return dirs.map((dir) => join(dir, program)).find(isExecutable) ?? null;
}

/**
 * For test files: the program's path, or null after saying why the tests skip. With CI=true a
 * missing program is an error, never a skip.
 */
export function mosquittoForTests(program = 'mosquitto'): string | null {
  const path = findMosquitto(program);
  if (path) return path;
  const why = `${program} not found (${program === 'mosquitto' ? '$MOSQUITTO_BIN, ' : ''}${SEARCH_DIRS.join(', ')}, PATH): install the mosquitto package`;
  if (process.env.CI === 'true') throw new Error(`${why}. CI=true forbids skipping these tests.`);
  console.warn(`Skipping tests that need ${program}: ${why}.`);
  return null;
}

export async function startMosquitto(options: StartMosquittoOptions): Promise<MosquittoBroker> {
  const binary = options.binary ?? findMosquitto();
  if (!binary) throw new Error('mosquitto not found: install the mosquitto package or set MOSQUITTO_BIN');
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'mosquitto-')));
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const fixed: { mqtt?: number; mqtts?: number; ws?: number } = options.ports ?? {};
  const withTls = options.tls !== undefined || fixed.mqtts !== undefined;
  const withWs = options.websockets === true || fixed.ws !== undefined;
  let users = options.users;
  let ports: MosquittoBroker['ports'] = { mqtt: 0 };
  let config!: RenderedConfig;
  let child: ChildProcess | undefined;

  const render = () => renderBrokerConfig({ ...options, dir, users, ports });

  const launch = async (): Promise<void> => {
    for (const [name, port] of Object.entries(fixed)) {
      if (port !== undefined && !(await isFree(port))) {
        throw new Error(
          `ports.${name} ${port} is already in use: pick another port or leave it out to get a free one`,
        );
      }
    }
    // A picked port can be taken between picking and binding: pick again, a few times.
    for (let attempt = 1; ; attempt += 1) {
      ports = {
        mqtt: fixed.mqtt ?? (await freePort('0.0.0.0')),
        ...(withTls ? { mqtts: fixed.mqtts ?? (await freePort('0.0.0.0')) } : {}),
        ...(withWs ? { ws: fixed.ws ?? (await freePort('0.0.0.0')) } : {}),
      };
      config = await render();
      try {
        child = await spawnReady(binary, config, Object.values(ports), timeoutMs);
        return;
      } catch (error) {
        if (attempt >= 3 || !(error instanceof MosquittoStartError && error.portTaken)) throw error;
      }
    }
  };

  const stopChild = async (signal: NodeJS.Signals): Promise<void> => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill(signal);
    const timer = setTimeout(() => running.kill('SIGKILL'), STOP_GRACE_MS);
    await exited;
    clearTimeout(timer);
  };

  try {
    await launch();
  } catch (error) {
    if (ownsDir) await rm(dir, { recursive: true, force: true });
    throw error;
  }
  const readLog = () => readFile(config.logFile, 'utf8').catch(() => '');
  const wsScheme = options.wsTls ? 'wss' : 'ws';

  return {
    url: `mqtt://127.0.0.1:${ports.mqtt}`,
    ...(ports.mqtts ? { tlsUrl: `mqtts://127.0.0.1:${ports.mqtts}` } : {}),
    ...(ports.ws ? { wsUrl: `${wsScheme}://127.0.0.1:${ports.ws}` } : {}),
    ports,
    configDir: dir,
    get config() {
      return config;
    },
    get pid() {
      if (!child?.pid) throw new Error('mosquitto is not running');
      return child.pid;
    },
    log: readLog,
    async setUsers(next) {
      users = next;
      config = await render();
    },
    async reload() {
      if (!child) throw new Error('mosquitto is not running: restart() it first');
      const before = count(await readLog(), RELOADED);
      child.kill('SIGHUP');
      const deadline = Date.now() + timeoutMs;
      while (count(await readLog(), RELOADED) <= before) {
        if (Date.now() > deadline) {
          throw new Error(
            `mosquitto did not log "${RELOADED}" within ${timeoutMs} ms of SIGHUP; keep log_type information enabled. Log tail:\n${tail(await readLog())}`,
          );
        }
        await sleep(20);
      }
    },
    async restart() {
      await stopChild('SIGTERM');
      child = await spawnReady(binary, config, Object.values(ports), timeoutMs);
    },
    async stop() {
      await stopChild('SIGTERM');
      if (ownsDir) await rm(dir, { recursive: true, force: true });
    },
    kill: () => stopChild('SIGKILL'),
  };
}

/** Starts mosquitto and resolves once every port accepts TCP connections. */
async function spawnReady(
  binary: string,
  config: RenderedConfig,
  ports: number[],
  timeoutMs: number,
): Promise<ChildProcess> {
  const logStart = (await stat(config.logFile).catch(() => undefined))?.size ?? 0;
  const child = spawn(binary, ['-c', config.confPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  track(child);
  let output = '';
  const collect = (chunk: Buffer) => (output = (output + chunk.toString('utf8')).slice(-8_000));
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let exit: string | undefined;
  child.once('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exited with code ${code}`));
  child.once('error', (error) => (exit = `could not be started: ${error.message}`));

  const deadline = Date.now() + timeoutMs;
  const pending = new Set(ports);
  while (pending.size > 0 && exit === undefined && Date.now() < deadline) {
    for (const port of [...pending]) if (await portAccepts(port)) pending.delete(port);
    if (pending.size > 0) await sleep(25);
  }
  // Mosquitto binds each listener before it loads that listener's certificates, so a port can
  // accept for a moment before the broker exits on a bad certificate: wait for its "running" line.
  const settle = Date.now() + 2_000;
  while (pending.size === 0 && exit === undefined && Date.now() < settle) {
    const log = (await readFile(config.logFile).catch(() => Buffer.alloc(0)))
      .subarray(logStart)
      .toString('utf8');
    if (/ running$/m.test(log)) break;
    await sleep(25);
  }
  if (pending.size === 0 && exit === undefined) return child;

  if (exit === undefined) child.kill('SIGKILL');
  // Only this run's part of the log.
  const log = (await readFile(config.logFile).catch(() => Buffer.alloc(0)))
    .subarray(logStart)
    .toString('utf8');
  const reason = exit
    ? `mosquitto ${exit}`
    : `port(s) ${[...pending].join(', ')} not accepting connections after ${timeoutMs} ms`;
  throw new MosquittoStartError(
    `${reason} (${binary} -c ${config.confPath}). Fix what the broker reports below.\n` +
      `--- output ---\n${tail(output) || '(none)'}\n--- ${config.logFile} ---\n${tail(log) || '(empty)'}`,
    /Address already in use/.test(output + log),
  );
}

export class MosquittoStartError extends Error {
  constructor(
    message: string,
    /** The broker could not bind a port (another process has it). */
    readonly portTaken: boolean,
  ) {
    super(message);
    this.name = 'MosquittoStartError';
  }
}

function track(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // A test runner that dies must not leave brokers behind.
    process.once('exit', () => live.forEach((c) => c.kill('SIGKILL')));
  }
}

function isFree(port: number): Promise<boolean> {
  return listenOn(port).then((bound) => bound !== undefined);
}

/** Listens on `port` (0: any) and closes again; the port, or undefined when it is taken. */
function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen(port, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

function tail(text: string, lines = 20): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
