/**
 * A real OpenSSH server on 127.0.0.1 for tests of the SSH sources: its own temp host key, a client
 * key generated for the test and authorized for the current user, password logins off. Sessions
 * get `binDir` first on their PATH (sshd_config `SetEnv`), so a test decides what `journalctl` or
 * `df` print by writing fake programs there; programs without a fake are the real ones.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, portAccepts } from './free-port.js';

export interface TestSshd {
  host: string;
  port: number;
  /** The user the client key logs in as (the one running the tests). */
  username: string;
  /** `SHA256:<base64>` of the server's host key, as `ssh-keygen -lf` prints it. */
  hostKeySha256: string;
  /** OpenSSH private key authorized for `username`. */
  clientKey: string;
  /** A valid private key that is not authorized. */
  strangerKey: string;
  /** First on the sessions' PATH: put fake programs here with fake(). */
  binDir: string;
  dir: string;
  /** Writes an executable `binDir/<program>` with this shell script body (after `#!/bin/sh`). */
  fake(program: string, script: string): Promise<void>;
  /** sshd's own output so far (-e: log to stderr). */
  log(): string;
  stop(): Promise<void>;
}

const SSHD = '/usr/sbin/sshd';
const run = promisify(execFile);

/** The sshd binary, or an error that says how to install it (tests never skip for it). */
export function sshdBinary(): string {
  const path = process.env.SSHD_BIN ?? SSHD;
  try {
    accessSync(path, constants.X_OK);
    accessSync('/usr/bin/ssh-keygen', constants.X_OK);
    return path;
  } catch {
    throw new Error(
      `${path} or ssh-keygen not found: install OpenSSH (Debian/Ubuntu: apt-get install -y openssh-server) or set SSHD_BIN`,
    );
  }
}

export async function startSshd(options: { startTimeoutMs?: number } = {}): Promise<TestSshd> {
  const binary = sshdBinary();
  const timeoutMs = options.startTimeoutMs ?? 10_000;
  const dir = await mkdtemp(join(tmpdir(), 'sshd-'));
  const binDir = join(dir, 'bin');
  let child: ChildProcess | undefined;
  let output = '';
  try {
    await mkdir(binDir);
    const keygen = (file: string) =>
      run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ops-test', '-f', join(dir, file)]);
    await Promise.all([keygen('host_ed25519'), keygen('client_ed25519'), keygen('stranger_ed25519')]);
    await writeFile(join(dir, 'authorized_keys'), await readFile(join(dir, 'client_ed25519.pub')), {
      mode: 0o600,
    });
    const { stdout } = await run('ssh-keygen', ['-l', '-E', 'sha256', '-f', join(dir, 'host_ed25519.pub')]);
    const hostKeySha256 = stdout.split(' ')[1] ?? '';
    if (!hostKeySha256.startsWith('SHA256:')) throw new Error(`unexpected ssh-keygen -l output: ${stdout}`);
    // Running as root, sshd insists on its privilege separation directory (the package creates it at boot).
    if (process.getuid?.() === 0) await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

    for (let attempt = 1; ; attempt += 1) {
      const port = await freePort();
      const config = join(dir, 'sshd_config');
      await writeFile(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${join(dir, 'host_ed25519')}`,
          `PidFile ${join(dir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
          'PermitRootLogin prohibit-password',
          'PubkeyAuthentication yes',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'UsePAM no',
          // The temp dir's permissions are not what StrictModes wants for a home directory.
          'StrictModes no',
          'MaxStartups 50',
          // SHLVL=1: bash started by sshd skips ~/.bashrc (slow here: pyenv init) as on a second level.
          `SetEnv PATH=${binDir}:/usr/bin:/bin:/usr/sbin:/sbin SHLVL=1`,
          'LogLevel VERBOSE',
          '',
        ].join('\n'),
      );
      output = '';
      const started = spawn(binary, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      child = started;
      // A test runner that dies must not leave the server behind.
      const killOnExit = () => started.kill('SIGKILL');
      process.once('exit', killOnExit);
      started.once('exit', () => process.off('exit', killOnExit));
      started.stderr?.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
      let exit: string | undefined;
      started.once('exit', (code, signal) => (exit = signal ? `killed by ${signal}` : `exited with ${code}`));
      started.once('error', (error) => (exit = `could not start: ${error.message}`));
      const deadline = Date.now() + timeoutMs;
      while (exit === undefined && Date.now() < deadline && !(await portAccepts(port))) await sleep(25);
      if (exit === undefined && Date.now() < deadline) {
        const running = started;
        return {
          host: '127.0.0.1',
          port,
          username: userInfo().username,
          hostKeySha256,
          clientKey: await readFile(join(dir, 'client_ed25519'), 'utf8'),
          strangerKey: await readFile(join(dir, 'stranger_ed25519'), 'utf8'),
          binDir,
          dir,
          async fake(program, script) {
            const path = join(binDir, program);
            await writeFile(path, `#!/bin/sh\n${script}\n`);
            await chmod(path, 0o755);
          },
          log: () => output,
          async stop() {
            if (running.exitCode === null && running.signalCode === null) {
              const exited = new Promise((resolve) => running.once('exit', resolve));
              running.kill('SIGTERM');
              const timer = setTimeout(() => running.kill('SIGKILL'), 3_000);
              await exited;
              clearTimeout(timer);
            }
            await rm(dir, { recursive: true, force: true });
          },
        };
      }
      if (exit === undefined) started.kill('SIGKILL');
      child = undefined;
      if (attempt < 3 && /Address already in use/.test(output)) continue;
      throw new Error(
        `sshd ${exit ?? `not accepting connections on 127.0.0.1:${port} after ${timeoutMs} ms`} (${binary} -D -e -f ${config}):\n${output.trim() || '(no output)'}`,
      );
    }
  } catch (error) {
    child?.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
