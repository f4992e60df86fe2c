/**
 * Releases over SSH with the real ansible-playbook (test/support/vm-ssh-fixture.ts): a new bundle
 * makes a new release and a restart with the journal untouched, old releases are pruned (never
 * current or previous), and rollbackVm switches back to the previous release and restarts.
 */
import { lstat, readFile, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startVmSshFixture, type VmSshFixture } from '../../test/support/vm-ssh-fixture.js';
import { rollbackVm, runVmStage } from './vm-stage.js';

// Several ansible-playbook runs: about 100 s on a quiet 2-core machine, 2.5 times that when CI
// shares the cores with the rest of the suite.
const ANSIBLE_RUNS_MS = 600_000;

let vm: VmSshFixture;

beforeAll(async () => {
  vm = await startVmSshFixture({ keepReleases: 1 });
}, 30_000);
afterAll(async () => vm?.stop());

test(
  'new releases restart the bridge on the same journal; rollback switches back',
  async () => {
    const target = vm.target(await vm.knownHosts('host_ed25519'));
    const deploy = async (commit: string, n: number) =>
      runVmStage({
        target,
        commit,
        bundle: await vm.bundle(`b${n}.mjs`, `export const release = ${n};\n`),
        root: vm.checkout,
      });
    expect((await deploy('aaa111', 1)).status).toBe('success');
    const journalMarker = join(vm.vmRoot, 'var', 'lib', 'mqtt-bridge', 'journal', 'marker');
    await writeFile(journalMarker, 'kept');
    const pid1 = await vm.readPid();

    const second = await deploy('bbb222', 2);
    expect(second).toMatchObject({ status: 'success', before: { bridgeRelease: 'aaa111' } });
    expect(second.after).toEqual({ bridgeRelease: 'bbb222', previousRelease: 'aaa111' });
    expect(await readlink(join(vm.bridgeRoot, 'current'))).toBe('releases/bbb222');
    expect(await readlink(join(vm.bridgeRoot, 'previous'))).toBe('releases/aaa111');
    const pid2 = await vm.readPid();
    expect(pid2).not.toBe(pid1);
    expect(await readFile(journalMarker, 'utf8')).toBe('kept');

    // bridge_keep_releases 1: besides current, only the newest (previous) stays.
    const third = await deploy('ccc333', 3);
    expect(third.after).toEqual({ bridgeRelease: 'ccc333', previousRelease: 'bbb222' });
    await expect(lstat(join(vm.bridgeRoot, 'releases', 'aaa111'))).rejects.toThrow(/ENOENT/);
    const pid3 = await vm.readPid();
    expect(pid3).not.toBe(pid2);

    const rollback = await rollbackVm({ target, root: vm.checkout });
    expect(rollback).toMatchObject({ status: 'success', before: { bridgeRelease: 'ccc333' } });
    expect(rollback.after?.bridgeRelease).toBe('bbb222');
    expect(await readlink(join(vm.bridgeRoot, 'current'))).toBe('releases/bbb222');
    expect(await vm.readPid()).not.toBe(pid3);
    expect(await readFile(journalMarker, 'utf8')).toBe('kept');

    // The release rolled back from is out of line: a second rollback has nowhere to go.
    const none = await rollbackVm({ target, root: vm.checkout });
    expect(none.status).toBe('failure');
    expect(none.output).toContain('no previous release to roll back to');
    expect(await readlink(join(vm.bridgeRoot, 'current'))).toBe('releases/bbb222');
  },
  ANSIBLE_RUNS_MS,
);
