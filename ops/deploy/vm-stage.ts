/**
 * The deploy's vm stage: Ansible (ansible/site.yml) applies the broker configuration (the
 * mosquitto role) and the bridge release (the bridge role) to the environment's VM. First a
 * `--check --diff` run, whose output goes into the report, then the real run; the PLAY RECAP says
 * what changed. `rollbackVm` switches the bridge back to its previous release.
 *
 * The VM: the connection comes from the environment's `ssh` section (host, port, user, the private
 * key's secret) and `deploy.vm` (the inventory with the role variables, the known_hosts secret).
 * The known_hosts secret must hold the key pinned by `ssh.hostKeySha256`; only that key is written
 * to the known_hosts file Ansible's ssh uses, with StrictHostKeyChecking=yes. With an `infra`
 * section the stage also applies the system roles (base, hardening, ops user: vmSystemVars) and so
 * logs in as the VM's admin (infra.vm.adminUsername, key in deploy.vm.adminPrivateKeyEnv): the
 * ops user of `ssh` may only run the playbooks' sudo commands.
 * The local target (`--env local`): the running sandbox's bridge, under its supervisor
 * (scripts/sandbox/bridge-service.ts), through a local connection with paths rooted in the
 * sandbox directory (LocalEnv.vm); its broker is left to the sandbox.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import ssh2 from 'ssh2';
import { bundleBridge } from '../../bridge/bundle.js';
import { INGEST_ROUTE, HEALTH_ROUTE } from '../../common/ingest-protocol.js';
import type { LocalEnv } from '../../common/local-env.js';
import { hashPassword } from '../../broker/password-hash.js';
import { userVars, type BrokerUser } from '../../broker/render-config.js';
import type { EnvironmentConfig } from '../config/environment-config.js';
import { databaseUrl, NotConfiguredError, type OpsTarget } from '../config/ops-target.js';
import { vmPorts } from '../config/vm-ports.js';
import { normalizeFingerprint } from '../sources/ssh-host.js';
import {
  parseBridgeRelease,
  runPlaybook,
  type HostRecap,
  type PlaybookOptions,
  type PlaybookRun,
} from './ansible-runner.js';
import { bridgeLayout } from './vm-stage-layout.js';
import type { Stage } from './stages.js';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface VmStageOptions {
  target: OpsTarget;
  /** The commit deployed: names the bridge release (`<root>/releases/<commit>`). */
  commit: string;
  /** The checkout holding ansible/ and bridge/; default: this repository. */
  root?: string;
  /** A bridge bundle already built; default: bridge/main.ts bundled now (bridge/bundle.ts). */
  bundle?: string;
  /** The ansible-playbook binary; default: found on PATH. */
  ansiblePlaybook?: string;
  /** Progress lines (redacted). */
  log?: (line: string) => void;
  /** Bound on each ansible-playbook run. */
  timeoutMs?: number;
  /** Only the `--check --diff` run (changes nothing): what a deploy would do. */
  checkOnly?: boolean;
}

export type RollbackVmOptions = Omit<VmStageOptions, 'commit' | 'bundle' | 'checkOnly'>;

export interface VmStageResult {
  stage: Extract<Stage, 'vm'>;
  status: 'success' | 'failure';
  summary: string;
  ms: number;
  /** The bridge release before the run (null: none installed yet); null when the run did not get that far. */
  before: { bridgeRelease: string | null } | null;
  after: { bridgeRelease: string | null; previousRelease: string | null } | null;
  /** Tasks Ansible changed (the sum over hosts of PLAY RECAP's changed). */
  changed: number;
  /** The `--check --diff` run's output (secrets redacted); '' for a rollback. */
  checkDiff: string;
  /** The real run's output (secrets redacted). */
  output: string;
  recap: Record<string, HostRecap>;
  timings: { bundleMs?: number; checkMs?: number; applyMs?: number; totalMs: number };
  error?: string;
}

/** The known_hosts secret holds no key with the pinned fingerprint. */
export class KnownHostsMismatchError extends Error {}

export async function runVmStage(options: VmStageOptions): Promise<VmStageResult> {
  return run(options, 'deploy');
}

/** Switches the bridge back to the previous release and restarts it; the broker is not touched. */
export async function rollbackVm(options: RollbackVmOptions): Promise<VmStageResult> {
  return run({ ...options, commit: '' }, 'rollback');
}

async function run(options: VmStageOptions, mode: 'deploy' | 'rollback'): Promise<VmStageResult> {
  const started = Date.now();
  const root = resolve(options.root ?? REPO_ROOT);
  const { target } = options;
  const redact = (text: string) => target.secrets.redact(text);
  const log = (line: string) => options.log?.(redact(line));
  const result: VmStageResult = {
    stage: 'vm',
    status: 'failure',
    summary: '',
    ms: 0,
    before: null,
    after: null,
    changed: 0,
    checkDiff: '',
    output: '',
    recap: {},
    timings: { totalMs: 0 },
  };
  const finish = (status: VmStageResult['status'], summary: string, error?: string) => {
    result.status = status;
    result.summary = redact(summary);
    if (error) result.error = redact(error);
    result.ms = result.timings.totalMs = Date.now() - started;
    return result;
  };
  // Holds the private key, known_hosts and the extra vars (secrets): 0700, removed at the end.
  const work = await mkdtemp(join(tmpdir(), 'ops-vm-'));
  try {
    await chmod(work, 0o700);
    let connection: Connection;
    try {
      connection = target.local
        ? localConnection(target.local)
        : await remoteConnection(target, root, work, mode === 'rollback');
    } catch (error) {
      return finish('failure', (error as Error).message.split('\n')[0]!, (error as Error).message);
    }
    const vars: Record<string, unknown> = { ...connection.vars };
    if (mode === 'rollback') {
      Object.assign(vars, { bridge_rollback: true, vm_manage_broker: false, vm_manage_system: false });
    } else {
      let bundle = options.bundle;
      if (!bundle) {
        const t = Date.now();
        log('building the bridge bundle');
        bundle = await bundleBridge(join(work, 'bundle'), join(root, 'bridge'));
        result.timings.bundleMs = Date.now() - t;
      }
      Object.assign(vars, { bridge_release: options.commit, bridge_bundle: resolve(bundle) });
    }
    const inventoryFile = join(work, 'connection.yml');
    const varsFile = join(work, 'vars.json');
    await writeSecretFile(inventoryFile, JSON.stringify(connection.inventory, null, 2));
    await writeSecretFile(varsFile, JSON.stringify(vars));
    const playbook: PlaybookOptions = {
      root,
      playbook: join(root, 'ansible', 'site.yml'),
      inventories: [...connection.inventories, inventoryFile],
      extraVarsFiles: [varsFile],
      binary: options.ansiblePlaybook,
      env: { ...process.env, ANSIBLE_LOCAL_TEMP: join(work, 'ansible-tmp') },
      onLine: (line) => log(line),
      timeoutMs: options.timeoutMs,
    };

    if (mode === 'deploy') {
      log('ansible-playbook --check --diff (changes nothing)');
      const check = await runPlaybook({ ...playbook, check: true, diff: true });
      result.timings.checkMs = check.ms;
      result.checkDiff = redact(check.output);
      const checkRelease = parseBridgeRelease(check.output);
      if (checkRelease) result.before = { bridgeRelease: checkRelease.before };
      const checkProblem = problemOf(check);
      if (checkProblem)
        return finish('failure', `the --check run failed: ${checkProblem}`, tail(result.checkDiff));
      if (options.checkOnly) {
        result.recap = check.recap;
        result.changed = Object.values(check.recap).reduce((n, h) => n + h.changed, 0);
        if (checkRelease)
          result.after = { bridgeRelease: checkRelease.after, previousRelease: checkRelease.previous };
        return finish('success', `check only: ${result.changed} would change; nothing applied`);
      }
    }

    log(mode === 'rollback' ? 'ansible-playbook: rolling the bridge back' : 'ansible-playbook: applying');
    const apply = await runPlaybook(playbook);
    result.timings.applyMs = apply.ms;
    result.output = redact(apply.output);
    result.recap = apply.recap;
    result.changed = Object.values(apply.recap).reduce((n, h) => n + h.changed, 0);
    const release = parseBridgeRelease(apply.output);
    if (release) {
      result.before ??= { bridgeRelease: release.before };
      if (mode === 'rollback') result.before = { bridgeRelease: release.before };
      result.after = { bridgeRelease: release.after, previousRelease: release.previous };
    }
    const problem = problemOf(apply);
    if (problem) return finish('failure', `ansible-playbook failed: ${problem}`, tail(result.output));
    const from = result.before?.bridgeRelease ?? 'none';
    const to = result.after?.bridgeRelease ?? 'unknown';
    return finish(
      'success',
      mode === 'rollback'
        ? `bridge rolled back from ${from} to ${to}`
        : `${result.changed} changed; bridge ${from === to ? `${to} (unchanged)` : `${from} -> ${to}`}`,
    );
  } catch (error) {
    return finish('failure', (error as Error).message.split('\n')[0]!, (error as Error).stack);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

interface Connection {
  /** Inventories from the repository (the environment's role variables). */
  inventories: string[];
  /** The generated inventory: how to reach the host(s) of group `vm`. */
  inventory: unknown;
  /** Extra vars (secrets included). */
  vars: Record<string, unknown>;
}

/** The sandbox: a local connection, paths under its vm/ directory, the supervisor's pid file. */
function localConnection(local: LocalEnv): Connection {
  if (!local.vm) {
    throw new NotConfiguredError(
      'local VM target (env.json has no `vm`: restart `npm run dev` from this checkout, whose sandbox runs the bridge from a release directory)',
      'local',
    );
  }
  // Absolute: Ansible runs its modules in a temporary directory (an env.json written before the
  // sandbox made its paths absolute has them relative to the checkout, where the CLI runs).
  const layout = bridgeLayout(resolve(local.vm.root));
  return {
    inventories: [],
    inventory: {
      all: {
        children: {
          vm: {
            hosts: { sandbox: { ansible_connection: 'local' } },
            vars: {
              vm_become: false,
              // The sandbox's machine is not the VM; it starts its own broker from the mosquitto
              // role's templates.
              vm_manage_system: false,
              vm_manage_broker: false,
              bridge_manage_user: false,
              bridge_root: layout.root,
              bridge_journal_dir: layout.journalDir,
              bridge_config_dir: layout.configDir,
              bridge_unit_path: '',
              bridge_service_manager: 'pidfile',
              bridge_pid_file: resolve(local.vm.bridgePidFile),
              bridge_node: process.execPath,
              bridge_health_url: local.bridge.healthUrl ?? '',
            },
          },
        },
      },
    },
    vars: { bridge_deploy_settings: local.vm.bridgeSettings },
  };
}

async function remoteConnection(
  target: OpsTarget,
  root: string,
  work: string,
  rollback: boolean,
): Promise<Connection> {
  const { config, secrets } = target;
  if (!config.ssh) throw new NotConfiguredError('ssh section (the VM the vm stage deploys to)', target.name);
  const vm = config.deploy?.vm;
  if (!vm) throw new NotConfiguredError('deploy.vm section (inventory, knownHostsEnv)', target.name);
  const ssh = config.ssh;
  const known = pinnedKnownHosts(secrets.read(vm.knownHostsEnv), ssh);
  const knownHostsFile = join(work, 'known_hosts');
  const keyFile = join(work, 'id');
  await writeSecretFile(knownHostsFile, `${known.line}\n`);
  // With `infra`, the system roles run: they need root, which the ops user's limited sudo is not.
  const login = adminLogin(config) ?? { username: ssh.username, privateKeyEnv: ssh.privateKeyEnv };
  await writeSecretFile(keyFile, `${secrets.read(login.privateKeyEnv).trim()}\n`);
  const sshArgs = [
    `-o UserKnownHostsFile=${knownHostsFile}`,
    '-o GlobalKnownHostsFile=/dev/null',
    '-o StrictHostKeyChecking=yes',
    `-o HostKeyAlgorithms=${known.algorithms}`,
    '-o IdentitiesOnly=yes',
    '-o BatchMode=yes',
    '-o ConnectTimeout=15',
  ].join(' ');
  return {
    inventories: [join(root, vm.inventory)],
    inventory: {
      all: {
        children: {
          vm: {
            vars: {
              ansible_host: ssh.host,
              ansible_port: ssh.port,
              ansible_user: login.username,
              ansible_ssh_private_key_file: keyFile,
              ansible_ssh_common_args: sshArgs,
            },
          },
        },
      },
    },
    vars: rollback
      ? {}
      : {
          ...vmSystemVars(config, publicKeyOf(secrets.read(ssh.privateKeyEnv))),
          ...(await remoteDeployVars(target)),
        },
  };
}

/** The VM's admin login (infra.vm.adminUsername) when `infra` is set; its key's variable is required then. */
function adminLogin(config: EnvironmentConfig): { username: string; privateKeyEnv: string } | undefined {
  if (!config.infra) return undefined;
  const privateKeyEnv = config.deploy?.vm?.adminPrivateKeyEnv;
  if (!privateKeyEnv)
    throw new NotConfiguredError(
      `deploy.vm.adminPrivateKeyEnv (the variable holding ${config.infra.vm.adminUsername}'s private key: with infra set, ` +
        'the vm stage configures the system as the admin, since the ops user may only restart the broker)',
      config.name,
    );
  return { username: config.infra.vm.adminUsername, privateKeyEnv };
}

/**
 * The environment YAML's `infra` settings as the system roles' variables (ansible/roles/base,
 * hardening, ops_user; docs/vm.md): sshd's allowed users, ufw's ports (the NSG's list,
 * vmPorts), the ops user and its key, the reverse proxy's switch. Without `infra` the system
 * roles are skipped (only the broker and the bridge are deployed).
 */
export function vmSystemVars(config: EnvironmentConfig, opsPublicKey: string): Record<string, unknown> {
  const { infra, ssh } = config;
  if (!infra || !ssh) return { vm_manage_system: false };
  return {
    vm_manage_system: true,
    hardening_ssh_allow_users: [...new Set([infra.vm.adminUsername, ssh.username])],
    hardening_ssh_port: ssh.port,
    hardening_ufw_ports: vmPorts(infra.network, ssh.port, infra.reverseProxy),
    ops_user_name: ssh.username,
    ops_user_authorized_keys: [opsPublicKey],
    vm_reverse_proxy_enabled: infra.reverseProxy?.enabled ?? false,
    ...(infra.reverseProxy?.enabled
      ? {
          reverse_proxy_domain: infra.reverseProxy.domain,
          reverse_proxy_acme_email: infra.reverseProxy.acmeEmail,
        }
      : {}),
  };
}

/** The OpenSSH public key line of a private key (the ops user's, from its secret). */
export function publicKeyOf(privateKey: string): string {
  const key = ssh2.utils.parseKey(privateKey);
  if (key instanceof Error) throw new Error(`the SSH private key is not usable: ${key.message}`);
  return `${key.type} ${key.getPublicSSH().toString('base64')}`;
}

/** The broker's users and the bridge's secrets: from the device registry and the environment's secrets. */
async function remoteDeployVars(target: OpsTarget): Promise<Record<string, unknown>> {
  const { config, secrets } = target;
  const vm = config.deploy!.vm!;
  const missing = [
    ...(vm.ingestKeyEnv ? [] : ['deploy.vm.ingestKeyEnv']),
    ...(vm.serviceUsers?.some((u) => u.role === 'bridge') ? [] : ['deploy.vm.serviceUsers (a bridge user)']),
    ...(config.ingest ? [] : ['ingest.healthUrl']),
  ];
  if (missing.length) {
    throw new NotConfiguredError(
      `${missing.join(', ')} (runbook/environments/${target.name}.yaml)`,
      target.name,
    );
  }
  const services = vm.serviceUsers!.map((u) => ({
    role: u.role,
    username: secrets.read(u.usernameEnv),
    password: secrets.read(u.passwordEnv),
  }));
  const devices = await registryDevices(databaseUrl(target));
  const users: BrokerUser[] = [
    ...devices,
    // A salt fixed per user keeps the hash, and so the password file, the same across deploys
    // (a new salt would reload the broker on every deploy).
    ...services.map((s) => ({
      role: s.role,
      username: s.username,
      hash: stableHash(s.username, s.password),
    })),
  ];
  const bridge = services.find((s) => s.role === 'bridge')!;
  return {
    ...userVars(users),
    bridge_deploy_settings: {
      BRIDGE_INGEST_URL: config.ingest!.healthUrl.replace(HEALTH_ROUTE, INGEST_ROUTE),
      BRIDGE_INGEST_KEY: secrets.read(vm.ingestKeyEnv!),
      BRIDGE_MQTT_USERNAME: bridge.username,
      BRIDGE_MQTT_PASSWORD: bridge.password,
    },
  };
}

/** Active devices of the registry, with the hash stored at registration. */
async function registryDevices(url: string): Promise<BrokerUser[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ device_key: string; credential_hash: string; slug: string }>(
      `select d.device_key, d.credential_hash, t.slug
         from public.devices d join public.tenants t on t.id = d.tenant_id
        where d.status = 'active'
        order by d.device_key`,
    );
    return rows.map((r) => ({
      role: 'device',
      username: r.device_key,
      tenantSlug: r.slug,
      hash: r.credential_hash,
    }));
  } finally {
    await client.end();
  }
}

function stableHash(username: string, password: string): string {
  const salt = createHash('sha256').update(`mqtt-saas broker user ${username}`).digest().subarray(0, 12);
  return hashPassword(password, salt);
}

/**
 * The known_hosts line for the pinned key: the secret's lines are searched for a key whose
 * SHA256 fingerprint is `ssh.hostKeySha256`; that key alone is written (for the configured host
 * and port), and ssh is told to negotiate only its algorithm.
 */
export function pinnedKnownHosts(
  text: string,
  ssh: { host: string; port: number; hostKeySha256: string },
): { line: string; algorithms: string } {
  const pinned = normalizeFingerprint(ssh.hostKeySha256);
  const seen: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith('@')) continue;
    const [, type, blob] = line.split(/\s+/);
    if (!type || !blob) continue;
    const key = Buffer.from(blob, 'base64');
    const fingerprint = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
    seen.push(`${type} ${fingerprint}`);
    if (fingerprint !== pinned) continue;
    const host = ssh.port === 22 ? ssh.host : `[${ssh.host}]:${ssh.port}`;
    const algorithms = type === 'ssh-rsa' ? 'rsa-sha2-512,rsa-sha2-256,ssh-rsa' : type;
    return { line: `${host} ${type} ${blob}`, algorithms };
  }
  throw new KnownHostsMismatchError(
    `the known_hosts secret holds no key with the pinned fingerprint ${pinned} (ssh.hostKeySha256); it holds ` +
      `${seen.length ? seen.join(', ') : 'no key'}: check the VM's host key out of band, then fix the secret or the pin`,
  );
}

async function writeSecretFile(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}

function problemOf(run: PlaybookRun): string | undefined {
  const hosts = Object.entries(run.recap);
  const bad = hosts.filter(([, h]) => h.failed > 0 || h.unreachable > 0);
  if (run.code === 0 && hosts.length && !bad.length) return undefined;
  if (bad.length)
    return bad
      .map(([name, h]) => `${name}: ${h.unreachable ? 'unreachable' : `${h.failed} task(s) failed`}`)
      .join('; ');
  if (!hosts.length) return `no host ran (exit ${run.code}): ${lastLine(run.output)}`;
  return `exit ${run.code}: ${lastLine(run.output)}`;
}

function lastLine(text: string): string {
  const lines = text.split('\n').filter((l) => l.trim());
  const fatal = lines.filter((l) => /fatal:|ERROR!|msg:/.test(l)).at(-1);
  return (fatal ?? lines.at(-1) ?? '(no output)').trim().slice(0, 300);
}

function tail(text: string, lines = 60): string {
  return text.split('\n').slice(-lines).join('\n');
}
