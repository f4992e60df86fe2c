/**
 * The environment a run checks: its YAML config, its secrets, and for the sandbox the details from
 * .ops/local/dev/env.json (LOCAL_ENV_PATH). The accessors below are the one place that knows where each connection
 * detail comes from; a part the environment does not have raises NotConfiguredError (its checks
 * are `skipped`), a missing secret raises MissingSecretError (its checks are `error`).
 */
import { dirname } from 'node:path';
import { probeTopic, telemetryTopic } from '../../common/topics.js';
import { LOCAL_ENV_PATH, localSandboxStatus, readLocalEnv, type LocalEnv } from '../../common/local-env.js';
import { loadEnvironmentConfig, type EnvironmentConfig } from './environment-config.js';
import { createSecretReader, type SecretReader } from './secrets.js';

export interface OpsTarget {
  name: string;
  config: EnvironmentConfig;
  secrets: SecretReader;
  /** Present when the environment is the local sandbox. */
  local?: LocalEnv;
  /** The sandbox's directory (where env.json is): relative local paths of its config resolve here. */
  localDir?: string;
  /** The process environment the run sees (GITHUB_* in a workflow); secrets go through `secrets`. */
  env: Record<string, string | undefined>;
}

export class NotConfiguredError extends Error {
  constructor(
    readonly part: string,
    environment: string,
  ) {
    super(`environment "${environment}" configures no ${part}`);
  }
}

/** `--env local` when the sandbox that wrote env.json is not running (or never did). */
export class SandboxNotRunningError extends Error {
  constructor(reason: string) {
    super(
      `the local sandbox is not running (${reason}): start it with \`npm run dev\` in another terminal ` +
        `and leave it running (\`npm start\` stops at the end), or give --env <name>`,
    );
  }
}

export async function loadOpsTarget(
  name: string,
  options: {
    env?: Record<string, string | undefined>;
    mask?: (value: string) => void;
    localEnvPath?: string;
    environmentsDir?: string;
  } = {},
): Promise<OpsTarget> {
  const config = loadEnvironmentConfig(name, options.environmentsDir);
  const env = options.env ?? process.env;
  const secrets = createSecretReader(name, env, options.mask);
  if (!config.sandbox) return { name, config, secrets, env };
  const envPath = options.localEnvPath ?? LOCAL_ENV_PATH;
  // A stopped sandbox leaves env.json behind; its ports refuse or belong to something else now.
  const status = await localSandboxStatus(envPath);
  if (!status.running) throw new SandboxNotRunningError(status.reason);
  return withLocalEnv(
    { name, config, secrets, env, localDir: dirname(envPath) },
    await readLocalEnv(envPath),
  );
}

/** The sandbox environment for a LocalEnv already in hand (npm start has just written it). */
export function localTarget(
  local: LocalEnv,
  options: { mask?: (value: string) => void; envPath?: string } = {},
): OpsTarget {
  const config = loadEnvironmentConfig('local');
  return withLocalEnv(
    {
      name: 'local',
      config,
      secrets: createSecretReader('local', {}, options.mask),
      env: {},
      localDir: dirname(options.envPath ?? LOCAL_ENV_PATH),
    },
    local,
  );
}

function withLocalEnv(target: OpsTarget, local: LocalEnv): OpsTarget {
  // The sandbox's credentials are throwaway, but they are still not for logs.
  for (const v of [local.db.url, local.ingest.key, local.probe.password, local.uptimeProbe.password]) {
    target.secrets.track(v);
  }
  return { ...target, local };
}

export function databaseUrl(t: OpsTarget): string {
  if (t.local) return t.local.db.url;
  if (!t.config.database) throw new NotConfiguredError('database', t.name);
  return t.secrets.read(t.config.database.urlEnv);
}

export interface MqttTarget {
  listeners: { name: string; url: string }[];
  protocolVersion: 4 | 5;
  /** The uptime probe's credentials; read (and masked) only by the checks that use them. */
  probe(): { username: string; password: string; topic: string };
  /** The canary device, with its credentials; likewise. */
  canary(): { tenant: string; deviceId: string; username: string; password: string; topic: string };
}

export function mqttTarget(t: OpsTarget): MqttTarget {
  if (t.local) {
    const local = t.local;
    const m = local.mqtt;
    const listeners = [
      { name: 'mqtt', url: m.url },
      ...(m.wsUrl ? [{ name: 'websocket', url: m.wsUrl }] : []),
      ...(m.tlsUrl ? [{ name: 'tls', url: m.tlsUrl }] : []),
    ];
    return {
      listeners,
      // The embedded broker speaks MQTT 3.1.1 only.
      protocolVersion: local.services.broker === 'embedded' ? 4 : 5,
      probe: () => local.uptimeProbe,
      canary: () => local.probe,
    };
  }
  const m = t.config.mqtt;
  if (!m) throw new NotConfiguredError('MQTT broker', t.name);
  return {
    listeners: m.listeners,
    protocolVersion: 5,
    probe: () => {
      const username = t.secrets.read(m.probe.usernameEnv);
      return { username, password: t.secrets.read(m.probe.passwordEnv), topic: probeTopic(username) };
    },
    canary: () => ({
      tenant: m.canary.tenant,
      deviceId: m.canary.deviceId,
      username: t.secrets.read(m.canary.usernameEnv),
      password: t.secrets.read(m.canary.passwordEnv),
      topic: telemetryTopic(m.canary.tenant, m.canary.deviceId),
    }),
  };
}

export function ingestHealthUrl(t: OpsTarget): string {
  if (t.local) return t.local.ingest.healthUrl;
  if (!t.config.ingest) throw new NotConfiguredError('ingest function', t.name);
  return t.config.ingest.healthUrl;
}

export function required<T>(t: OpsTarget, part: string, value: T | undefined): T {
  if (value === undefined || (Array.isArray(value) && value.length === 0))
    throw new NotConfiguredError(part, t.name);
  return value;
}
