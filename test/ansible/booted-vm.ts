/**
 * A Debian root booted with systemd-nspawn as a test VM with its own address: a network namespace
 * (`ip netns add`) joined to this machine by a veth pair, a /30 of its own (10.251.x.y), and the
 * container in that namespace (`--network-namespace-path`, plus CAP_NET_ADMIN so ufw and fail2ban
 * can load their rules there). `--register=no --keep-unit`: no machined; the container is this
 * process's child, stopped by signalling it. Names and the subnet are unique per run, so two runs
 * can share a machine.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface VmNetwork {
  netns: string;
  hostIf: string;
  /** The VM's address, reachable from this machine. */
  address: string;
  /** This machine's address on the link (the VM sees connections from it). */
  hostAddress: string;
  remove(): Promise<void>;
}

export interface BootedVm {
  name: string;
  network: VmNetwork;
  /** The container's init (systemd) as this machine sees it. */
  leaderPid: number;
  /** Runs argv inside the container (all its namespaces), as root; never throws on a non-zero exit. */
  exec(argv: string[], options?: { timeoutMs?: number }): Promise<ExecResult>;
  /** Powers the container off (SIGTERM to nspawn, SIGKILL after a bound), waits for it to exit. */
  stop(): Promise<void>;
  bootMs: number;
}

export function uniqueName(prefix: string): string {
  return `${prefix}${randomBytes(3).toString('hex')}`;
}

/** A network namespace and veth pair with a /30 not used on this machine. */
export async function createVmNetwork(id: string): Promise<VmNetwork> {
  const netns = `mqtt-vm-${id}`;
  const hostIf = `vmh${id}`;
  const vmIf = `vmc${id}`;
  const used = (await run('ip', ['-4', '-o', 'addr', 'show'])).stdout;
  let base = '';
  for (let i = 0; i < 50 && !base; i++) {
    const candidate = `10.251.${randomInt(256)}.`;
    const last = randomInt(64) * 4;
    if (!used.includes(`${candidate}${last + 1}/`) && !used.includes(`${candidate}${last + 2}/`))
      base = `${candidate}${last}`;
  }
  if (!base) throw new Error('no free /30 in 10.251.0.0/16 for the test VM');
  const [a, b, c, d] = base.split('.').map(Number) as [number, number, number, number];
  const hostAddress = `${a}.${b}.${c}.${d + 1}`;
  const address = `${a}.${b}.${c}.${d + 2}`;
  const remove = async () => {
    await run('ip', ['link', 'del', hostIf]).catch(() => undefined);
    await run('ip', ['netns', 'del', netns]).catch(() => undefined);
  };
  try {
    await run('ip', ['netns', 'add', netns]);
    await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', vmIf]);
    await run('ip', ['link', 'set', vmIf, 'netns', netns]);
    await run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', hostIf]);
    await run('ip', ['link', 'set', hostIf, 'up']);
    await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
    await run('ip', ['-n', netns, 'addr', 'add', `${address}/30`, 'dev', vmIf]);
    await run('ip', ['-n', netns, 'link', 'set', vmIf, 'up']);
  } catch (error) {
    await remove();
    throw error;
  }
  return { netns, hostIf, address, hostAddress, remove };
}

/** Boots `root` in `network`; resolves once systemd reports the system running (or degraded). */
export async function bootVm(options: {
  root: string;
  name: string;
  network: VmNetwork;
  /** The container's console output goes here. */
  consoleLog: string;
  timeoutMs?: number;
}): Promise<BootedVm> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 60_000;
  const console = createWriteStream(options.consoleLog);
  const child: ChildProcess = spawn(
    'systemd-nspawn',
    [
      '--boot',
      '--register=no',
      '--keep-unit',
      '--capability=CAP_NET_ADMIN',
      `--network-namespace-path=/run/netns/${options.network.netns}`,
      `--machine=${options.name}`,
      '--directory',
      options.root,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(console);
  child.stderr?.pipe(console);
  let exited: number | null | undefined;
  const gone = new Promise<void>((resolve) =>
    child.once('exit', (code) => {
      exited = code;
      resolve();
    }),
  );
  const stop = async () => {
    if (exited === undefined) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    }
    console.end();
  };
  try {
    const leaderPid = await leaderOf(child, started + timeoutMs, () => exited);
    const exec: BootedVm['exec'] = (argv, execOptions = {}) =>
      new Promise((resolve) => {
        execFile(
          'nsenter',
          ['-t', String(leaderPid), '-a', '--', ...argv],
          { timeout: execOptions.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
          (error, stdout, stderr) => {
            const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
            resolve({ code, stdout, stderr });
          },
        );
      });
    // is-system-running --wait: until start-up is over (running, or degraded when a unit failed);
    // it fails while systemd's own socket is not there yet.
    let state: ExecResult = { code: 1, stdout: '', stderr: '' };
    while (Date.now() < started + timeoutMs && !/^(running|degraded)/.test(state.stdout)) {
      state = await exec(['systemctl', 'is-system-running', '--wait'], {
        timeoutMs: Math.max(1_000, started + timeoutMs - Date.now()),
      });
      if (!/^(running|degraded)/.test(state.stdout)) await new Promise((r) => setTimeout(r, 200));
    }
    if (!/^(running|degraded)/.test(state.stdout))
      throw new Error(
        `the container did not finish booting: ${state.stdout.trim() || state.stderr.trim()} (${options.consoleLog})`,
      );
    return {
      name: options.name,
      network: options.network,
      leaderPid,
      exec,
      stop,
      bootMs: Date.now() - started,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** nspawn's child: the container's PID 1. */
async function leaderOf(
  child: ChildProcess,
  deadline: number,
  exited: () => number | null | undefined,
): Promise<number> {
  while (Date.now() < deadline) {
    if (exited() !== undefined) throw new Error(`systemd-nspawn exited (${exited()}) before booting`);
    const children = await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
    const pid = Number(children.trim().split(/\s+/)[0]);
    if (pid > 0) {
      // PID 1 in the container is systemd once nspawn has exec'd it.
      const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
      if (comm.trim() === 'systemd') return pid;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the container did not start systemd in time');
}
