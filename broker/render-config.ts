/**
 * Renders the Mosquitto configuration from the Ansible role (ansible/roles/mosquitto), the one
 * source of truth: its defaults/main.yml are the production values, its templates are rendered
 * here with nunjucks configured like Ansible's Jinja2 (trim_blocks, no autoescape, undefined is an
 * error, Ansible's `bool` filter). Tests and the local sandbox override paths and ports only.
 */
import { readFileSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_TELEMETRY_LIMITS } from '../common/telemetry.js';
import { assertUsernames, buildAcl, type AclEntry, type BrokerIdentity } from './acl.js';
import { hashPassword } from './password-hash.js';

export const ROLE_DIR = fileURLToPath(new URL('../ansible/roles/mosquitto/', import.meta.url));

/** A broker user: its identity plus a clear-text password (hashed here) or a ready `$7$` hash. */
export type BrokerUser = BrokerIdentity & ({ password: string } | { hash: string });

export interface TlsFiles {
  cafile?: string;
  certfile: string;
  keyfile: string;
}

export interface RenderOptions {
  /** Output directory for mosquitto.conf, passwd and acl (created). */
  dir: string;
  users: readonly BrokerUser[];
  /** A listener is rendered only when its port is given. */
  ports: { mqtt?: number; mqtts?: number; ws?: number };
  /**
   * Address of the mqtt and mqtts listeners (websockets ignores it). Default 127.0.0.1. Anything
   * but loopback also needs `vars: { mosquitto_mqtt_username_as_clientid: true }` for the plain
   * listener (assertClientIdBinding).
   */
  bindAddress?: string;
  /** Certificate files; required with ports.mqtts. */
  tls?: TlsFiles;
  /** Serve websockets over TLS with the same files (wss). Default false. */
  wsTls?: boolean;
  /** Persistence directory. Default <dir>/data. */
  dataDir?: string;
  /** Log file. Default <dir>/mosquitto.log. */
  logFile?: string;
  /** log_type values. Default: the role's (production) types. */
  logTypes?: string[];
  /** Any other role variable by its name in defaults/main.yml, e.g. { mosquitto_autosave_interval: 1 }. */
  vars?: Record<string, unknown>;
}

export interface RenderedConfig {
  dir: string;
  confPath: string;
  passwordPath: string;
  aclPath: string;
  logFile: string;
  dataDir: string;
  /** The variables the templates were rendered with. */
  vars: Record<string, unknown>;
}

export interface UserVars {
  mosquitto_passwords: { username: string; hash: string }[];
  mosquitto_acl: AclEntry[];
}

const ANSIBLE_MANAGED = 'Rendered by broker/render-config.ts from ansible/roles/mosquitto: do not edit';

/** The role's defaults/main.yml. */
export function loadRoleDefaults(): Record<string, unknown> {
  const path = join(ROLE_DIR, 'defaults', 'main.yml');
  const defaults: unknown = parseYaml(readFileSync(path, 'utf8'));
  if (typeof defaults !== 'object' || defaults === null || Array.isArray(defaults)) {
    throw new Error(`${path} must be a YAML mapping of role variables`);
  }
  return defaults as Record<string, unknown>;
}

/**
 * The role variables for a set of users: what broker tests render, and what a deploy writes to
 * an Ansible vars file (YAML) for the role. Pass `hash` instead of `password` to keep the
 * rendered password file stable across deploys (a new salt changes the file and reloads the broker).
 */
export function userVars(users: readonly BrokerUser[]): UserVars {
  assertUsernames(users);
  return {
    mosquitto_passwords: users.map((user) => ({
      username: user.username,
      hash: 'hash' in user ? user.hash : hashPassword(user.password),
    })),
    mosquitto_acl: buildAcl(users),
  };
}

/** Renders one of the role's templates with role variables, as Ansible's template module would. */
export function renderTemplate(name: string, vars: Record<string, unknown>): string {
  return environment().render(name, { ansible_managed: ANSIBLE_MANAGED, ...vars });
}

/** Renders mosquitto.conf, passwd and acl for a broker on this machine. */
export async function renderBrokerConfig(options: RenderOptions): Promise<RenderedConfig> {
  const { dir, ports } = options;
  if (ports.mqtt === undefined && ports.mqtts === undefined && ports.ws === undefined) {
    throw new Error('renderBrokerConfig: give at least one of ports.mqtt, ports.mqtts, ports.ws');
  }
  if ((ports.mqtts !== undefined || options.wsTls) && !options.tls) {
    throw new Error(
      'renderBrokerConfig: a TLS listener needs tls: { certfile, keyfile, cafile? } (see test/support/test-ca.ts)',
    );
  }
  const defaults = loadRoleDefaults();
  const unknown = Object.keys(options.vars ?? {}).filter((name) => !(name in defaults));
  if (unknown.length > 0) {
    throw new Error(
      `unknown role variable(s) ${unknown.join(', ')}: see ${join(ROLE_DIR, 'defaults', 'main.yml')}`,
    );
  }

  const dataDir = options.dataDir ?? join(dir, 'data');
  const logFile = options.logFile ?? join(dir, 'mosquitto.log');
  const paths = {
    confPath: join(dir, 'mosquitto.conf'),
    passwordPath: join(dir, 'passwd'),
    aclPath: join(dir, 'acl'),
  };
  const bind = options.bindAddress ?? '127.0.0.1';
  const vars: Record<string, unknown> = {
    ...defaults,
    // As root Mosquitto would switch to the `mosquitto` user, who cannot read a private temp dir.
    mosquitto_user: userInfo().username,
    mosquitto_conf_file: paths.confPath,
    mosquitto_password_file: paths.passwordPath,
    mosquitto_acl_file: paths.aclPath,
    mosquitto_pid_file: '',
    mosquitto_mqtt_enabled: ports.mqtt !== undefined,
    mosquitto_mqtt_port: ports.mqtt ?? 0,
    mosquitto_mqtt_bind_address: bind,
    mosquitto_tls_enabled: ports.mqtts !== undefined,
    mosquitto_tls_port: ports.mqtts ?? 0,
    mosquitto_tls_bind_address: bind,
    mosquitto_tls_cafile: options.tls?.cafile ?? '',
    mosquitto_tls_certfile: options.tls?.certfile ?? '',
    mosquitto_tls_keyfile: options.tls?.keyfile ?? '',
    mosquitto_ws_enabled: ports.ws !== undefined,
    mosquitto_ws_port: ports.ws ?? 0,
    mosquitto_ws_tls: options.wsTls ?? false,
    mosquitto_persistence_location: dataDir.endsWith('/') ? dataDir : `${dataDir}/`,
    mosquitto_log_file: logFile,
    mosquitto_message_size_limit: DEFAULT_TELEMETRY_LIMITS.maxPayloadBytes,
    ...(options.logTypes ? { mosquitto_log_types: options.logTypes } : {}),
    ...userVars(options.users),
    ...options.vars,
  };

  assertClientIdBinding(vars);

  await mkdir(dir, { recursive: true });
  await mkdir(dataDir, { recursive: true });
  // Same mode as the role gives them: the password file is not world-readable.
  await Promise.all([
    write(paths.confPath, renderTemplate('mosquitto.conf.j2', vars)),
    write(paths.passwordPath, renderTemplate('passwd.j2', vars)),
    write(paths.aclPath, renderTemplate('acl.j2', vars)),
  ]);
  return { dir, ...paths, logFile, dataDir, vars };
}

/** Bind addresses the role counts as loopback (the same list as its assert in tasks/main.yml). */
export const LOOPBACK_BIND_ADDRESSES: readonly string[] = ['127.0.0.1', '::1', 'localhost'];

/**
 * The role's assert "Refuse free client ids on a plain listener devices can reach": the TLS and
 * websockets listeners always bind client ids to usernames; the plain one may leave them free only
 * while it is bound to loopback. Otherwise a device could connect there with the bridge's client id
 * and take over its session (docs/broker.md, "Client ids").
 */
export function assertClientIdBinding(vars: Record<string, unknown>): void {
  if (!ansibleBool(vars.mosquitto_mqtt_enabled) || ansibleBool(vars.mosquitto_mqtt_username_as_clientid))
    return;
  const address = String(vars.mosquitto_mqtt_bind_address ?? '');
  if (!LOOPBACK_BIND_ADDRESSES.includes(address)) {
    throw new Error(
      `the plain MQTT listener is not bound to loopback (mosquitto_mqtt_bind_address '${address}'): set mosquitto_mqtt_username_as_clientid: true so a device cannot use another client's id, or bind it to 127.0.0.1`,
    );
  }
}

/** Write and rename, like Ansible: a broker reloading meanwhile never reads a half-written file. */
async function write(path: string, content: string): Promise<void> {
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, content, { mode: 0o640 });
  await chmod(temporary, 0o640); // the mode option is filtered by the umask
  await rename(temporary, path);
}

let env: nunjucks.Environment | undefined;

function environment(): nunjucks.Environment {
  if (!env) {
    env = new nunjucks.Environment(new nunjucks.FileSystemLoader(join(ROLE_DIR, 'templates')), {
      autoescape: false,
      trimBlocks: true, // Ansible's template module default
      lstripBlocks: false,
      throwOnUndefined: true, // Ansible fails on an undefined variable too
    });
    env.addFilter('bool', ansibleBool);
  }
  return env;
}

/** Ansible's `bool` filter: true for true, 1 and the strings yes/on/1/true (any case). */
function ansibleBool(value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value === 1;
  if (typeof value === 'string') return ['yes', 'on', '1', 'true'].includes(value.toLowerCase());
  return false;
}
