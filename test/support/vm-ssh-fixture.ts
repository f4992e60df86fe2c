/**
 * The vm stage's SSH target for tests: a loopback sshd (its host key pinned through known_hosts),
 * a throwaway root directory for the bridge role, a checkout whose ansible/ is the repository's
 * plus a test inventory, and a stand-in bridge process (`sleep`) under a shell supervisor that
 * restarts it like Restart=always, so a restart shows as a new pid. The device registry the stage
 * reads is a real PostgreSQL database with the two tables it queries.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { EnvironmentConfig } from '../../ops/config/environment-config.js';
import type { OpsTarget } from '../../ops/config/ops-target.js';
import { createSecretReader } from '../../ops/config/secrets.js';
import { createTestDatabase } from './database.js';
import { startSshd, type TestSshd } from './sshd.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface VmSshFixture {
  sshd: TestSshd;
  dir: string;
  vmRoot: string;
  bridgeRoot: string;
  checkout: string;
  readPid(): Promise<string>;
  /** known_hosts text with the public key `name` (host_ed25519, stranger_ed25519) for the sshd's host. */
  knownHosts(name: string): Promise<string>;
  target(knownHosts: string): OpsTarget;
  bundle(name: string, text: string): Promise<string>;
  stop(): Promise<void>;
}

export const VM_FIXTURE_SECRETS = {
  ingestKey: 'ingest-key-secret-123',
  bridgePassword: 'bridge-password-secret-456',
};

export async function startVmSshFixture(options: { keepReleases?: number } = {}): Promise<VmSshFixture> {
  const [sshd, db] = await Promise.all([startSshd(), createTestDatabase('vm_stage_ssh', { migrate: false })]);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  await client.query(`
    create table public.tenants (id int primary key, slug text not null);
    create table public.devices (device_key text primary key, tenant_id int not null, credential_hash text not null, status text not null);
    insert into public.tenants values (1, 'acme');
    insert into public.devices values ('acme-sensor-1', 1, '$7$101$AAAAAAAAAAAAAAAA$AAAA', 'active');`);
  await client.end();
  const dir = await mkdtemp(join(tmpdir(), 'vm-stage-ssh-'));
  const vmRoot = join(dir, 'vm');
  const bridgeRoot = join(vmRoot, 'opt', 'mqtt-bridge');
  const pidFile = join(vmRoot, 'bridge.pid');
  const checkout = join(dir, 'checkout');
  await mkdir(join(checkout, 'ansible', 'inventories'), { recursive: true });
  for (const entry of ['ansible.cfg', 'site.yml', 'roles'])
    await symlink(join(REPO, 'ansible', entry), join(checkout, 'ansible', entry));
  await writeFile(
    join(checkout, 'ansible', 'inventories', 'test.yml'),
    JSON.stringify({
      all: {
        children: {
          vm: {
            hosts: { testvm: null },
            vars: {
              vm_become: false,
              vm_manage_broker: false,
              bridge_manage_user: false,
              bridge_root: bridgeRoot,
              bridge_journal_dir: join(vmRoot, 'var', 'lib', 'mqtt-bridge', 'journal'),
              bridge_config_dir: join(vmRoot, 'etc', 'mqtt-bridge'),
              bridge_unit_path: join(vmRoot, 'etc', 'systemd', 'system', 'mqtt-bridge.service'),
              bridge_service_manager: 'pidfile',
              bridge_pid_file: pidFile,
              bridge_node: process.execPath,
              bridge_keep_releases: options.keepReleases ?? 3,
              bridge_settings: {
                BRIDGE_MQTT_URL: 'mqtt://127.0.0.1:1883',
                BRIDGE_MQTT_CLIENT_ID: 'bridge-test',
              },
            },
          },
        },
      },
    }),
  );
  await mkdir(vmRoot, { recursive: true });
  // Restart=always in one line: a new `sleep` (a new pid) whenever the last one exits.
  const supervisor = spawn(
    'sh',
    [
      '-c',
      `while :; do sleep 600 & echo $! > "${pidFile}.tmp"; mv "${pidFile}.tmp" "${pidFile}"; wait $!; done`,
    ],
    { stdio: 'ignore', detached: true },
  );
  supervisor.unref();
  const readPid = async () => (await readFile(pidFile, 'utf8')).trim();
  for (let i = 0; i < 250 && !(await readPid().catch(() => '')); i++)
    await new Promise((r) => setTimeout(r, 20));
  return {
    sshd,
    dir,
    vmRoot,
    bridgeRoot,
    checkout,
    readPid,
    knownHosts: async (name) =>
      `# ssh-keyscan output\n${sshd.host} ${(await readFile(join(sshd.dir, `${name}.pub`), 'utf8')).trim()}\n`,
    target(knownHosts) {
      const env = {
        T_KEY: sshd.clientKey,
        T_KNOWN: knownHosts,
        T_DB: db.url,
        T_INGEST_KEY: VM_FIXTURE_SECRETS.ingestKey,
        T_BRIDGE_USER: 'svc-bridge',
        T_BRIDGE_PASSWORD: VM_FIXTURE_SECRETS.bridgePassword,
      };
      const config = {
        name: 'sshtest',
        sandbox: false,
        database: { urlEnv: 'T_DB' },
        ingest: { healthUrl: 'https://func.example.net/api/health' },
        ssh: {
          host: sshd.host,
          port: sshd.port,
          username: sshd.username,
          hostKeySha256: sshd.hostKeySha256,
          privateKeyEnv: 'T_KEY',
        },
        deploy: {
          vm: {
            inventory: 'ansible/inventories/test.yml',
            knownHostsEnv: 'T_KNOWN',
            ingestKeyEnv: 'T_INGEST_KEY',
            serviceUsers: [
              { role: 'bridge', usernameEnv: 'T_BRIDGE_USER', passwordEnv: 'T_BRIDGE_PASSWORD' },
            ],
          },
        },
      } as unknown as EnvironmentConfig;
      return { name: 'sshtest', config, secrets: createSecretReader('sshtest', env), env: {} };
    },
    async bundle(name, text) {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    },
    async stop() {
      if (supervisor.pid) {
        try {
          process.kill(-supervisor.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      await Promise.all([sshd.stop(), db.drop()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
