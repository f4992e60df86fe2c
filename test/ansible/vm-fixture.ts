/**
 * The booted-system test's VM: a copy of the cached Debian 12 root (debian-root.ts), prepared as
 * Azure leaves a new VM (hostname, the admin user with its key and full sudo, the TLS files the
 * mosquitto role expects), converged with ansible/site.yml in a chroot, then booted
 * (booted-vm.ts) and converged again over SSH as the admin, the way the deploy's vm stage reaches
 * the VM. The role variables are the production ones: runbook/environments/prod.yaml through
 * vmSystemVars (ops/deploy/vm-stage.ts) and ansible/inventories/prod.yml, with only the address,
 * the admin range, the test keys and certificates, and the Node.js tarball replaced.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { bundleBridge } from '../../bridge/bundle.js';
import { userVars } from '../../broker/render-config.js';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../../ops/config/environment-config.js';
import { runPlaybook, type PlaybookRun } from '../../ops/deploy/ansible-runner.js';
import { publicKeyOf, vmSystemVars } from '../../ops/deploy/vm-stage.js';
import { createTestCa, type TestCa } from '../support/test-ca.js';
import { bootVm, createVmNetwork, uniqueName, type BootedVm, type VmNetwork } from './booted-vm.js';
import { cachedDebianRoot, copyRoot, type DebianRoot } from './debian-root.js';

const run = promisify(execFile);
export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));

export const ADMIN = 'azureuser';
/** Broker users of the test: the bridge (its settings), a probe that does the TLS round trip. */
export const BROKER_USERS = {
  bridge: { role: 'bridge' as const, username: 'svc-bridge', password: 'bridge-pw-test' },
  probe: { role: 'probe' as const, username: 'ops-probe-1', password: 'probe-pw-test' },
};
/** A converge is bounded; a loaded 2-core machine takes about 2 minutes for the first one. */
const CONVERGE_TIMEOUT_MS = 6 * 60_000;

const PROGRAMS = {
  debootstrap: 'debootstrap',
  'systemd-nspawn': 'systemd-container',
  'ansible-playbook': 'ansible',
  ip: 'iproute2',
  nsenter: 'util-linux',
  ssh: 'openssh-client',
  'ssh-keygen': 'openssh-client',
  openssl: 'openssl',
};

/** Why this machine cannot run the test ('' when it can). With CI=true the caller fails instead. */
export function missingPrerequisites(): string {
  if (process.getuid?.() !== 0)
    return 'not root (debootstrap, chroot, network namespaces and nspawn need it)';
  const dirs = ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(delimiter)];
  const missing = Object.entries(PROGRAMS)
    .filter(([name]) => !dirs.some((d) => isExecutable(join(d, name))))
    .map(([name, pkg]) => `${name} (Debian package ${pkg})`);
  return missing.length ? `not installed: ${missing.join(', ')}; .ci/run installs them` : '';
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export interface Converge {
  run: PlaybookRun;
  changed: number;
  failed: number;
}

export interface VmFixture {
  dir: string;
  root: string;
  debianRoot: DebianRoot;
  network: VmNetwork;
  vm?: BootedVm;
  ca: TestCa;
  config: EnvironmentConfig;
  /** The variables every converge gets (extra vars). */
  vars: Record<string, unknown>;
  adminKey: string;
  opsKey: string;
  knownHosts: string;
  hostKeySha256: string;
  timings: Record<string, number>;
  /** ansible-playbook in the chroot (community.general.chroot); check: --check --diff. */
  convergeChroot(extra?: Record<string, unknown>, options?: { check?: boolean }): Promise<Converge>;
  boot(): Promise<BootedVm>;
  /** Powers the booted root off (boot() starts it again). */
  shutdown(): Promise<void>;
  /** ansible-playbook over SSH as the admin (the deploy's way in). */
  convergeSsh(
    extra?: Record<string, unknown>,
    options?: { check?: boolean; playbook?: string },
  ): Promise<Converge>;
  /** `ssh` as a user with a key file; never throws on a non-zero exit. */
  ssh(
    user: string,
    keyFile: string,
    command: string,
    extraArgs?: string[],
  ): Promise<{ code: number; output: string }>;
  remove(): Promise<void>;
}

export async function createVmFixture(log: (line: string) => void): Promise<VmFixture> {
  const timings: Record<string, number> = {};
  const dir = await mkdtemp(join(tmpdir(), 'booted-vm-'));
  await chmod(dir, 0o755);
  const id = uniqueName('').slice(0, 6);
  const name = `vm${id}`;
  let network: VmNetwork | undefined;
  let vm: BootedVm | undefined;
  const remove = async () => {
    await vm?.stop();
    await network?.remove();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    let t = Date.now();
    const debianRoot = await cachedDebianRoot({ log });
    timings[debianRoot.built ? 'debootstrapColdMs' : 'debootstrapCachedMs'] = debianRoot.ms;
    t = Date.now();
    const root = join(dir, 'root');
    await copyRoot(debianRoot.path, root);
    timings.copyRootMs = Date.now() - t;
    network = await createVmNetwork(id);
    const { address, hostAddress } = network;

    // Keys and certificates.
    const keygen = (file: string, comment: string) =>
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', file]);
    const adminKey = join(dir, 'admin_ed25519');
    const opsKey = join(dir, 'ops_ed25519');
    await keygen(adminKey, 'test-admin');
    await keygen(opsKey, 'test-ops');
    const ca = await createTestCa({ dir: join(dir, 'ca'), hosts: [address] });
    await prepareRoot(root, name, {
      adminPub: await readFile(`${adminKey}.pub`, 'utf8'),
      ca,
    });
    const hostKey = (await readFile(join(root, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'), 'utf8')).trim();
    const knownHosts = join(dir, 'known_hosts');
    await writeFile(knownHosts, `${address} ${hostKey}\n`);
    const hostKeySha256 = `SHA256:${createHash('sha256')
      .update(Buffer.from(hostKey.split(/\s+/)[1]!, 'base64'))
      .digest('base64')
      .replace(/=+$/, '')}`;

    // The production settings, pointed at this VM.
    const prod = loadEnvironmentConfig('prod');
    const config: EnvironmentConfig = {
      ...prod,
      ssh: { ...prod.ssh!, host: address, hostKeySha256 },
      infra: {
        ...prod.infra!,
        vm: { ...prod.infra!.vm, adminUsername: ADMIN },
        // Only this machine may reach SSH. No websocket: Mosquitto's 9001 listens on every
        // interface whatever its bind address, so the firewall alone keeps it closed.
        network: { adminAddressRanges: [`${hostAddress}/32`], plainMqtt: false, websocket: false },
        reverseProxy: { ...prod.infra!.reverseProxy!, enabled: false },
      },
    };
    const opsPrivate = await readFile(opsKey, 'utf8');
    t = Date.now();
    const bundle = await bundleBridge(join(dir, 'bundle'));
    timings.bundleMs = Date.now() - t;
    const node = await nodeTarball(dir);
    const vars: Record<string, unknown> = {
      ...vmSystemVars(config, publicKeyOf(opsPrivate)),
      ...userVars(Object.values(BROKER_USERS)),
      base_node_version: node.version,
      base_node_tarball_url: `file://${node.path}`,
      base_node_tarball_sha256: node.sha256,
      base_node_controller_cache: join(dir, 'controller-cache'),
      // The logic is the same for any size; 64 MiB keeps the test's disk writes small.
      base_swap_size_mb: 64,
      bridge_release: `test-${id}`,
      bridge_bundle: bundle,
      bridge_deploy_settings: {
        // Nothing listens there: the bridge journals what it receives, and stays up.
        BRIDGE_INGEST_URL: 'http://127.0.0.1:9/api/mqtt_ingest',
        BRIDGE_INGEST_KEY: 'ingest-key-test',
        BRIDGE_MQTT_USERNAME: BROKER_USERS.bridge.username,
        BRIDGE_MQTT_PASSWORD: BROKER_USERS.bridge.password,
      },
    };
    const varsFile = join(dir, 'vars.json');
    await writeFile(varsFile, JSON.stringify(vars), { mode: 0o600 });

    const converge = async (
      label: string,
      connection: Record<string, unknown>,
      extra: Record<string, unknown>,
      options: { check?: boolean; playbook?: string } = {},
    ): Promise<Converge> => {
      const inventory = join(dir, `${label}-inventory.json`);
      await writeFile(inventory, JSON.stringify({ all: { children: { vm: { vars: connection } } } }));
      const extraFile = join(dir, `${label}-extra.json`);
      await writeFile(extraFile, JSON.stringify(extra));
      const result = await runPlaybook({
        root: REPO_ROOT,
        playbook: options.playbook ?? join(REPO_ROOT, 'ansible', 'site.yml'),
        inventories: [join(REPO_ROOT, 'ansible', 'inventories', 'prod.yml'), inventory],
        extraVarsFiles: [varsFile, extraFile],
        check: options.check,
        diff: options.check,
        env: { ...process.env, ANSIBLE_LOCAL_TEMP: join(dir, 'ansible-tmp') },
        timeoutMs: CONVERGE_TIMEOUT_MS,
      });
      await writeFile(join(dir, `${label}.log`), result.output);
      const hosts = Object.values(result.recap);
      return {
        run: result,
        changed: hosts.reduce((n, h) => n + h.changed, 0),
        failed: hosts.reduce((n, h) => n + h.failed + h.unreachable, 0) + (hosts.length ? 0 : 1),
      };
    };
    let sshRuns = 0;

    const fixture: VmFixture = {
      dir,
      root,
      debianRoot,
      network,
      ca,
      config,
      vars,
      adminKey,
      opsKey,
      knownHosts,
      hostKeySha256,
      timings,
      convergeChroot: (extra = {}, options = {}) =>
        converge(
          options.check ? 'chroot-check' : 'chroot',
          { ansible_connection: 'community.general.chroot', ansible_host: root, ansible_pipelining: true },
          // The bridge is a deploy's artifact, not part of an image: its role starts a service.
          { vm_manage_bridge: false, ...extra },
          options,
        ),
      async boot() {
        vm = await bootVm({ root, name, network: network!, consoleLog: join(dir, 'console.log') });
        fixture.vm = vm;
        timings.bootMs = vm.bootMs;
        return vm;
      },
      async shutdown() {
        await vm?.stop();
        vm = fixture.vm = undefined;
      },
      convergeSsh: (extra = {}, options = {}) =>
        converge(
          `ssh-${++sshRuns}`,
          {
            ansible_host: address,
            ansible_port: 22,
            ansible_user: ADMIN,
            ansible_ssh_private_key_file: adminKey,
            ansible_ssh_common_args: sshOptions(knownHosts).join(' '),
          },
          extra,
          options,
        ),
      async ssh(user, keyFile, command, extraArgs = []) {
        return new Promise((resolveSsh) => {
          execFile(
            'ssh',
            [...sshOptions(knownHosts), '-i', keyFile, ...extraArgs, `${user}@${address}`, command],
            { timeout: 30_000 },
            (error, stdout, stderr) =>
              resolveSsh({
                code: error ? (typeof error.code === 'number' ? error.code : 255) : 0,
                output: `${stdout}${stderr}`,
              }),
          );
        });
      },
      remove,
    };
    return fixture;
  } catch (error) {
    await remove();
    throw error;
  }
}

function sshOptions(knownHosts: string): string[] {
  return [
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=10',
  ];
}

/**
 * What Azure does for a new VM before Ansible ever runs: hostname, the admin user with its key
 * and passwordless sudo (cloud-init's 90-cloud-init-users), and the broker's certificate (the
 * mosquitto role checks the files, it does not make them). Also the admin's key in root's
 * authorized_keys, so the test can show a root login refused with a valid key.
 */
async function prepareRoot(
  root: string,
  name: string,
  options: { adminPub: string; ca: TestCa },
): Promise<void> {
  const inRoot = (script: string) => run('chroot', [root, '/bin/sh', '-ec', script]);
  await writeFile(join(root, 'etc', 'hostname'), `${name}\n`);
  await writeFile(join(root, 'etc', 'hosts'), `127.0.0.1 localhost\n127.0.1.1 ${name}\n::1 localhost\n`);
  await inRoot(`useradd -m -s /bin/bash -G sudo ${ADMIN}`);
  const sshDir = join(root, 'home', ADMIN, '.ssh');
  await mkdir(sshDir, { recursive: true });
  await writeFile(join(sshDir, 'authorized_keys'), options.adminPub);
  await writeFile(
    join(root, 'etc', 'sudoers.d', '90-cloud-init-users'),
    `${ADMIN} ALL=(ALL) NOPASSWD:ALL\n`,
    {
      mode: 0o440,
    },
  );
  await mkdir(join(root, 'root', '.ssh'), { recursive: true, mode: 0o700 });
  await writeFile(join(root, 'root', '.ssh', 'authorized_keys'), options.adminPub, { mode: 0o600 });
  const certs = join(root, 'etc', 'mosquitto', 'certs');
  await mkdir(certs, { recursive: true });
  await copyFile(options.ca.caCert, join(certs, 'ca.crt'));
  await copyFile(options.ca.serverCert, join(certs, 'server.crt'));
  await copyFile(options.ca.serverKey, join(certs, 'server.key'));
  await inRoot(
    [
      `chown -R ${ADMIN}:${ADMIN} /home/${ADMIN}/.ssh`,
      `chmod 700 /home/${ADMIN}/.ssh`,
      `chmod 600 /home/${ADMIN}/.ssh/authorized_keys`,
      'chown root:mosquitto /etc/mosquitto/certs/ca.crt /etc/mosquitto/certs/server.crt /etc/mosquitto/certs/server.key',
      'chmod 0640 /etc/mosquitto/certs/ca.crt /etc/mosquitto/certs/server.crt /etc/mosquitto/certs/server.key',
    ].join('\n'),
  );
}

/**
 * The Node.js this test runs on, packed like the official tarball (one top directory holding
 * bin/node): the base role installs it as it would install nodejs.org's. Uncompressed: packing is
 * then a matter of a second.
 */
async function nodeTarball(dir: string): Promise<{ path: string; sha256: string; version: string }> {
  const version = process.versions.node;
  const top = `node-v${version}-linux-x64`;
  const path = join(dir, `${top}.tar`);
  // Read in place and renamed in the archive: a hard link would change the binary's ctime under
  // a concurrent run's tar ("file changed as we read it").
  const name = basename(process.execPath);
  await run('tar', [
    '-C',
    dirname(process.execPath),
    '-cf',
    path,
    `--transform=s,^${name}$,${top}/bin/node,`,
    name,
  ]);
  const sha256 = (await run('sha256sum', [path])).stdout.split(/\s+/)[0]!;
  return { path, sha256, version };
}
