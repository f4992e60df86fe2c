/**
 * `.ops/local/env.json`: the sandbox's connection details, read by other tools and tests (the ops
 * checks use `probe` as their canary device). Written by scripts/sandbox; shape defined once here.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

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
}

export interface LocalEnv {
  generatedAt: string;
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
  bridge: { healthUrl: string | null; statusFile: string | null };
  users: LocalUser[];
  auth: { jwtSecret: string };
  webhook: { url: string };
  /** The ops uptime probe's broker user: MQTT round trips on its own topic (common/topics.ts). */
  uptimeProbe: { username: string; password: string; topic: string };
}

export type ServiceKind = 'real' | 'embedded' | 'given';

export const LOCAL_ENV_PATH = join('.ops', 'local', 'env.json');

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
    throw new Error(`${path} not found: start the sandbox first (npm run dev, or npm start)`);
  }
  return JSON.parse(text) as LocalEnv;
}
