/**
 * The vm stage over SSH with the real ansible-playbook (test/support/vm-ssh-fixture.ts: loopback
 * sshd with a pinned host key, the bridge role into a throwaway root): first install, a second run
 * that changes nothing, a `--check --diff` that changes nothing, the known_hosts pin.
 * vm-stage-ssh-releases.test.ts covers new releases, pruning and rollback.
 */
import { execFile } from 'node:child_process';
import { lstat, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  startVmSshFixture,
  VM_FIXTURE_SECRETS,
  type VmSshFixture,
} from '../../test/support/vm-ssh-fixture.js';
import { runVmStage } from './vm-stage.js';

// Several ansible-playbook runs: about 100 s on a quiet 2-core machine, 2.5 times that when CI
// shares the cores with the rest of the suite.
const ANSIBLE_RUNS_MS = 600_000;

const run = promisify(execFile);
let vm: VmSshFixture;

beforeAll(async () => {
  vm = await startVmSshFixture();
}, 30_000);
afterAll(async () => vm?.stop());

test(
  'first install over SSH, a second run changes nothing, --check --diff changes nothing',
  async () => {
    const target = vm.target(await vm.knownHosts('host_ed25519'));
    const b1 = await vm.bundle('b1.mjs', 'export const release = 1;\n');
    const pid0 = await vm.readPid();
    const first = await runVmStage({ target, commit: 'aaa111', bundle: b1, root: vm.checkout });
    expect(first).toMatchObject({ status: 'success', before: { bridgeRelease: null } });
    expect(first.after).toEqual({ bridgeRelease: 'aaa111', previousRelease: null });
    expect(first.changed).toBeGreaterThan(0);
    expect(first.recap.testvm).toMatchObject({ failed: 0, unreachable: 0 });
    expect(first.checkDiff).toContain('bridge-release before=- after=aaa111');
    for (const secret of Object.values(VM_FIXTURE_SECRETS))
      expect(first.checkDiff + first.output).not.toContain(secret);
    expect(await readlink(join(vm.bridgeRoot, 'current'))).toBe('releases/aaa111');
    expect(await readFile(join(vm.bridgeRoot, 'releases', 'aaa111', 'bridge.mjs'), 'utf8')).toBe(
      'export const release = 1;\n',
    );
    const envFile = join(vm.vmRoot, 'etc', 'mqtt-bridge', 'bridge.env');
    expect((await stat(envFile)).mode & 0o777).toBe(0o600);
    const envText = await readFile(envFile, 'utf8');
    expect(envText).toContain(`BRIDGE_INGEST_KEY="${VM_FIXTURE_SECRETS.ingestKey}"`);
    expect(envText).toContain('BRIDGE_INGEST_URL="https://func.example.net/api/mqtt_ingest"');
    expect(envText).toContain(
      `BRIDGE_JOURNAL_DIR="${join(vm.vmRoot, 'var', 'lib', 'mqtt-bridge', 'journal')}"`,
    );
    const pid1 = await vm.readPid();
    expect(pid1).not.toBe(pid0); // restarted

    // The rendered unit is valid for systemd (systemd-analyze prints nothing for a clean unit).
    const unit = join(vm.vmRoot, 'etc', 'systemd', 'system', 'mqtt-bridge.service');
    const verify = await run('systemd-analyze', ['verify', unit]).catch(
      (e: { stdout: string; stderr: string }) => e,
    );
    expect(`${verify.stdout}${verify.stderr}`.trim()).toBe('');
    expect(await readFile(unit, 'utf8')).toMatch(/^Restart=always$/m);

    // The same commit again: 0 changed, no restart.
    const again = await runVmStage({ target, commit: 'aaa111', bundle: b1, root: vm.checkout });
    expect(again).toMatchObject({ status: 'success', changed: 0 });
    expect(await vm.readPid()).toBe(pid1);

    // --check --diff of a new release says what would change and changes nothing.
    const journalMarker = join(vm.vmRoot, 'var', 'lib', 'mqtt-bridge', 'journal', 'marker');
    await writeFile(journalMarker, 'kept');
    const b2 = await vm.bundle('b2.mjs', 'export const release = 2;\n');
    const check = await runVmStage({
      target,
      commit: 'bbb222',
      bundle: b2,
      root: vm.checkout,
      checkOnly: true,
    });
    expect(check.status).toBe('success');
    expect(check.changed).toBeGreaterThan(0);
    expect(check.after?.bridgeRelease).toBe('bbb222');
    expect(check.checkDiff).toContain('Switch current to the release');
    expect(await readlink(join(vm.bridgeRoot, 'current'))).toBe('releases/aaa111');
    await expect(lstat(join(vm.bridgeRoot, 'releases', 'bbb222'))).rejects.toThrow(/ENOENT/);
    expect(await readFile(journalMarker, 'utf8')).toBe('kept');
    expect(await vm.readPid()).toBe(pid1);
  },
  ANSIBLE_RUNS_MS,
);

test('a known_hosts secret without the pinned key is refused before Ansible runs', async () => {
  const result = await runVmStage({
    target: vm.target(await vm.knownHosts('stranger_ed25519')),
    commit: 'ddd444',
    bundle: await vm.bundle('b4.mjs', 'export const release = 4;\n'),
    root: vm.checkout,
  });
  expect(result.status).toBe('failure');
  expect(result.summary).toContain(`no key with the pinned fingerprint ${vm.sshd.hostKeySha256}`);
  expect(result.checkDiff).toBe('');
  expect(result.recap).toEqual({});
});
