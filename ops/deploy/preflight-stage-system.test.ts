/**
 * The settings the vm stage's system roles apply (sshd's AllowUsers, ufw's SSH ranges) are part of
 * the deploy's preflight: a placeholder admin range would lock everyone out of the VM as soon as
 * ufw applied it, so the deploy is refused by name before anything connects.
 */
import { loadEnvironmentConfig, type EnvironmentConfig } from '../config/environment-config.js';
import type { OpsTarget } from '../config/ops-target.js';
import { createSecretReader } from '../config/secrets.js';
import { runPreflightStage } from './preflight-stage.js';

const prod = loadEnvironmentConfig('prod');
// prod.yaml with its example host replaced and every secret set: only infra's values remain.
const secrets = Object.fromEntries(
  [
    'OPS_SSH_PRIVATE_KEY',
    'OPS_SSH_KNOWN_HOSTS',
    'OPS_VM_ADMIN_SSH_PRIVATE_KEY',
    'OPS_INGEST_FUNCTION_KEY',
    ...prod.deploy!.vm!.serviceUsers!.flatMap((u) => [u.usernameEnv, u.passwordEnv]),
  ].map((k) => [k, `value-of-${k.toLowerCase()}`]),
);

async function preflight(change: (c: EnvironmentConfig) => void) {
  const config = structuredClone(prod);
  config.ssh!.host = 'broker.mqtt-saas.net';
  change(config);
  const target: OpsTarget = { name: 'prod', config, secrets: createSecretReader('prod', secrets), env: {} };
  return runPreflightStage({
    target,
    stages: ['vm'],
    log: () => undefined,
    // Nothing is reached in this test: a refusal comes before any probe.
    probes: { ssh: async () => 'ssh ok' },
    timeoutMs: 1000,
  });
}

test("a documentation range as the admins' SSH range refuses the deploy by name", async () => {
  const r = await preflight(() => undefined);
  expect(r.status).toBe('refused');
  expect(r.placeholders.map((p) => `${p.path}=${p.value}`)).toEqual([
    'infra.network.adminAddressRanges[0]=203.0.113.0/24',
  ]);
});

test('real admin ranges pass the settings check', async () => {
  const r = await preflight((c) => {
    c.infra!.network.adminAddressRanges = ['20.0.0.0/24'];
  });
  expect(r.placeholders).toEqual([]);
});
