/**
 * The environment YAML's `infra` as the system roles' variables (vmSystemVars, ops/deploy/vm-stage.ts)
 * and the vm stage's login: the admin when `infra` is set, refused without its key's variable.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadEnvironmentConfig, type EnvironmentConfig } from '../../ops/config/environment-config.js';
import { createSecretReader } from '../../ops/config/secrets.js';
import { vmPorts } from '../../ops/config/vm-ports.js';
import { publicKeyOf, runVmStage, vmSystemVars } from '../../ops/deploy/vm-stage.js';

const run = promisify(execFile);
let dir: string;
let privateKey: string;
let publicKey: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vm-system-vars-'));
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'c', '-f', join(dir, 'k')]);
  privateKey = await readFile(join(dir, 'k'), 'utf8');
  publicKey = (await readFile(join(dir, 'k.pub'), 'utf8')).trim();
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

test("prod's infra: allowed users, ufw's ports from vmPorts, the ops user and its key, the proxy switch", () => {
  const prod = loadEnvironmentConfig('prod');
  const vars = vmSystemVars(prod, publicKeyOf(privateKey));
  expect(vars).toEqual({
    vm_manage_system: true,
    hardening_ssh_allow_users: [prod.infra!.vm.adminUsername, prod.ssh!.username],
    hardening_ssh_port: prod.ssh!.port,
    hardening_ufw_ports: vmPorts(prod.infra!.network, prod.ssh!.port, prod.infra!.reverseProxy),
    ops_user_name: prod.ssh!.username,
    ops_user_authorized_keys: [publicKey.split(' ').slice(0, 2).join(' ')],
    vm_reverse_proxy_enabled: prod.infra!.reverseProxy?.enabled ?? false,
  });
  // The proxy enabled: its domain and ACME e-mail go to the role, and ufw opens 80 for the challenge.
  const proxied: EnvironmentConfig = {
    ...prod,
    infra: {
      ...prod.infra!,
      reverseProxy: { enabled: true, domain: 'mqtt.example.net', acmeEmail: 'o@example.net' },
    },
  };
  const proxyVars = vmSystemVars(proxied, publicKeyOf(privateKey));
  expect(proxyVars).toMatchObject({
    vm_reverse_proxy_enabled: true,
    reverse_proxy_domain: 'mqtt.example.net',
    reverse_proxy_acme_email: 'o@example.net',
  });
  expect((proxyVars.hardening_ufw_ports as { port: number }[]).map((p) => p.port)).toContain(80);
  const { infra: _infra, ...withoutInfra } = prod;
  expect(vmSystemVars(withoutInfra as EnvironmentConfig, 'ssh-ed25519 AAAA')).toEqual({
    vm_manage_system: false,
  });
});

test('with infra, the stage refuses to run without the admin key variable, before Ansible', async () => {
  const prod = loadEnvironmentConfig('prod');
  const hostKey = publicKey.split(' ')[1]!;
  const fingerprint = `SHA256:${createHash('sha256').update(Buffer.from(hostKey, 'base64')).digest('base64').replace(/=+$/, '')}`;
  const config: EnvironmentConfig = {
    ...prod,
    ssh: { ...prod.ssh!, hostKeySha256: fingerprint },
    deploy: { ...prod.deploy, vm: { ...prod.deploy!.vm!, adminPrivateKeyEnv: undefined } },
  };
  const env = {
    OPS_SSH_KNOWN_HOSTS: `${prod.ssh!.host} ssh-ed25519 ${hostKey}\n`,
    OPS_SSH_PRIVATE_KEY: privateKey,
  };
  const result = await runVmStage({
    target: { name: 'prod', config, secrets: createSecretReader('prod', env), env: {} },
    commit: 'abc',
    bundle: join(dir, 'k.pub'),
    ansiblePlaybook: '/bin/false',
  });
  expect(result.status).toBe('failure');
  expect(result.summary).toContain('deploy.vm.adminPrivateKeyEnv');
  expect(result.recap).toEqual({});
});
