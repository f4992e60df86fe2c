/**
 * The sandbox's env file: its connection details, read by other tools and tests (the ops checks use
 * `probe` as their canary device), and who owns it. Written by scripts/sandbox; shape defined once
 * here.
 *
 * `npm run dev` and `npm start` keep separate state under `.ops/local/<mode>/` (env.json, run/,
 * backups/), so neither reads or checks the other's; the ops CLI's `local` environment is the dev
 * sandbox (LOCAL_ENV_PATH).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pidExists } from './process-alive.js';

export interface LocalDevice {
  tenant: string;
  deviceId: string;
  username: string;
  password: string;
  topic: string;
  /** A valid telemetry payload for this device (JSON text). */
  examplePayload: string;
}

export interface LocalUser {
  tenant: string;
  email: string;
  userId: string;
  role: 'owner' | 'admin' | 'viewer';
  jwt: string;
  /** The password to sign in with (the local Supabase stand-in); random per run. */
  password?: string;
}

/** Who runs a sandbox: written to its env file and, as a comment, on its database. */
export interface SandboxOwner {
  /** Random per run: names the run's database. */
  runId: string;
  mode: SandboxMode;
  pid: number;
  /**
   * The OS's start time of `pid` (boot id + start ticks on Linux, `ps -o lstart` elsewhere): a pid
   * reused by another process has another one. Null where neither is available.
   */
  processStart: string | null;
  hostname: string;
  /** Absolute path of the checkout the sandbox runs from. */
  checkout: string;
  startedAt: string;
  /** Set when the sandbox stopped cleanly (Ctrl-C, SIGTERM, the end of `npm start`). */
  stoppedAt?: string;
}

/** `dev` is `npm run dev`, `start` is `npm start`, `test` a test's sandbox. */
export type SandboxMode = 'dev' | 'start' | 'test';

export interface LocalEnv {
  generatedAt: string;
  owner: SandboxOwner;
  services: { database: ServiceKind; broker: ServiceKind };
  mqtt: {
    /**
     * The service listener: plain MQTT on loopback with free client ids, for the bridge, alerts and
     * the ops probes. Not for devices: there a device could pick another client's id.
     */
    url: string;
    /**
     * Where devices connect: a listener that replaces each client id by the username, so a device
     * can take over no session but its own (TLS with the sandbox's throwaway CA on real Mosquitto).
     */
    deviceUrl: string;
    /** PEM of the CA that signed deviceUrl's certificate (a client's `ca` option), when it is TLS. */
    ca?: string;
    /** A TLS listener the ops checks probe (they trust only public CAs). */
    tlsUrl?: string;
    wsUrl?: string;
  };
  devices: LocalDevice[];
  /** A device of the same shape that the simulator never publishes as (the ops canary). */
  probe: LocalDevice;
  /** A role that bypasses RLS (the server side's view). */
  db: { url: string };
  ingest: { url: string; key: string; healthUrl: string };
  /**
   * The sandbox's functions deploy endpoint (scripts/sandbox/functions-deploy.ts): Kudu's One
   * Deploy shape on loopback (`POST <url>/api/publish`), `Authorization: Bearer <key>`.
   */
  functionsDeploy?: { url: string; key: string };
  bridge: { healthUrl: string | null; statusFile: string | null };
  /**
   * The sandbox's "VM" for the deploy's vm stage (ops/deploy/vm-stage.ts): the bridge runs from
   * `<root>/opt/mqtt-bridge/current` under a supervisor that restarts it when its process (pid in
   * `bridgePidFile`) exits; `bridgeSettings` are its BRIDGE_* variables (secrets included).
   */
  vm?: { root: string; bridgePidFile: string; bridgeSettings: Record<string, string> };
  users: LocalUser[];
  auth: { jwtSecret: string };
  /** The LOCAL stand-in of Supabase's Auth and data API (scripts/sandbox/supabase-standin.ts): what the dashboard talks to. */
  supabase?: { url: string; anonKey: string };
  /** The tenant dashboard, built and served by `npm run dev` (sign in with a user's email and password). */
  dashboard?: { url: string };
  webhook: { url: string };
  /** The ops uptime probe's broker user: MQTT round trips on its own topic (common/topics.ts). */
  uptimeProbe: { username: string; password: string; topic: string };
}

export type ServiceKind = 'real' | 'embedded' | 'given';

/** Where a mode's state lives (relative to the checkout): env.json, run/, backups/. */
export const sandboxDir = (mode: Exclude<SandboxMode, 'test'>): string => join('.ops', 'local', mode);

/** The env file of `npm start`'s bounded run. */
export const START_ENV_PATH = join(sandboxDir('start'), 'env.json');

/** The env file of `npm run dev`: what the ops CLI's `local` environment reads by default. */
export const LOCAL_ENV_PATH = join(sandboxDir('dev'), 'env.json');

/** The owner record of a sandbox run by this process. */
export function currentOwner(mode: SandboxMode, checkout = process.cwd()): SandboxOwner {
  return {
    runId: randomBytes(4).toString('hex'),
    mode,
    pid: process.pid,
    processStart: processStartToken(process.pid),
    hostname: hostname(),
    checkout: resolve(checkout),
    startedAt: new Date().toISOString(),
  };
}

export type OwnerLiveness = { alive: true } | { alive: false; reason: string };

/**
 * Whether the process that wrote `owner` still runs: on this host, the pid exists and has the
 * same start time (else it was reused). A process on another host cannot be checked from here.
 */
export function ownerAlive(owner: SandboxOwner): OwnerLiveness {
  if (owner.stoppedAt) return { alive: false, reason: `it stopped at ${owner.stoppedAt}` };
  if (owner.hostname !== hostname()) {
    return { alive: false, reason: `it ran on host ${owner.hostname}, not this one (${hostname()})` };
  }
  if (!pidExists(owner.pid)) return { alive: false, reason: `its process (pid ${owner.pid}) is gone` };
  if (owner.processStart !== null) {
    const now = processStartToken(owner.pid);
    if (now === null) return { alive: false, reason: `its process (pid ${owner.pid}) is gone` };
    if (now !== owner.processStart) {
      return { alive: false, reason: `its pid ${owner.pid} now belongs to another process` };
    }
  }
  return { alive: true };
}

export type LocalSandboxStatus =
  { running: true; owner: SandboxOwner } | { running: false; reason: string; owner?: SandboxOwner };

/**
 * Whether the sandbox that wrote `envPath` still runs, or in a few words why not (file missing,
 * stopped, process gone, pid reused) — for a one-line "the local sandbox is not running" message.
 */
export async function localSandboxStatus(envPath = LOCAL_ENV_PATH): Promise<LocalSandboxStatus> {
  let text: string;
  try {
    text = await readFile(envPath, 'utf8');
  } catch {
    return { running: false, reason: `${envPath} not found` };
  }
  let owner: SandboxOwner | undefined;
  try {
    owner = (JSON.parse(text) as Partial<LocalEnv>).owner;
  } catch {
    return { running: false, reason: `${envPath} is not valid JSON` };
  }
  if (!owner || typeof owner.pid !== 'number') {
    return { running: false, reason: `${envPath} has no owner record (written by an older sandbox)` };
  }
  const live = ownerAlive(owner);
  return live.alive ? { running: true, owner } : { running: false, reason: live.reason, owner };
}

/** A token that differs between two processes that had the same pid; null when unknown. */
export function processStartToken(pid: number): string | null {
  if (process.platform === 'linux') {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state is field 3,
      // starttime field 22.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' || fields[0] === 'X') return null; // exited, not yet reaped
      return `${bootId()}:${fields[19]}`;
    } catch {
      return null;
    }
  }
  if (process.platform === 'win32') return null;
  try {
    const out = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5_000,
    }).trim();
    return out || null;
  } catch {
    return null;
  }
}

let cachedBootId: string | undefined;
function bootId(): string {
  // Start ticks count from boot: the boot id keeps tokens of different boots apart.
  try {
    cachedBootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    cachedBootId = '';
  }
  return cachedBootId;
}

/**
 * Marks the env file's sandbox stopped (the file stays for its details; nothing checks a stopped
 * sandbox). Only when the file is still run `runId`'s: another run's file is left alone.
 */
export async function markLocalEnvStopped(path: string, runId: string, at = new Date()): Promise<void> {
  let env: LocalEnv;
  try {
    env = await readLocalEnv(path);
  } catch {
    return;
  }
  if (env.owner?.runId !== runId) return;
  await writeLocalEnv({ ...env, owner: { ...env.owner, stoppedAt: at.toISOString() } }, path);
}

export async function writeLocalEnv(env: LocalEnv, path = LOCAL_ENV_PATH): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp`;
  await writeFile(tmp, `${JSON.stringify(env, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export async function readLocalEnv(path = LOCAL_ENV_PATH): Promise<LocalEnv> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new Error(`${path} not found: start the sandbox first (npm run dev)`);
  }
  return JSON.parse(text) as LocalEnv;
}
