/**
 * The broker VM as the ops checks see it over SSH (`ssh2`): disk use, memory, and the warnings and
 * errors of its services in the systemd journal. Key authentication only; the host key is pinned by
 * its SHA256 fingerprint (as `ssh-keygen -lf` prints it), so a rebuilt or impostor host is refused.
 * One connection is opened on first use, shared by the commands that follow, and closed by close()
 * or after `idleCloseMs` without a command. The private key never appears in errors or results.
 * What the commands print is parsed by the pure functions of ssh-parsers.ts.
 */
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ClientChannel, Client as SshClient } from 'ssh2';
import {
  DF_COMMAND,
  journalCommand,
  parseDf,
  parseJournalJson,
  parseMeminfo,
  type DiskUsage,
  type JournalEntry,
  type MemoryInfo,
} from './ssh-parsers.js';

// What the source returns: callers import these types from here, the parsers from ssh-parsers.ts.
export type { DiskUsage, JournalEntry, MemoryInfo } from './ssh-parsers.js';

export interface JournalQuery {
  /** systemd units, e.g. `mosquitto` and the bridge's `mqtt-bridge`. */
  units: string[];
  sinceHours: number;
}

export interface JournalReading {
  /** Priority warning and worse, newest first per unit. */
  entries: JournalEntry[];
  /** Units that had more than `maxJournalEntries` entries: only the newest were read. */
  truncatedUnits: string[];
}

export interface SshHostSource {
  diskUsage(signal?: AbortSignal): Promise<DiskUsage[]>;
  memory(signal?: AbortSignal): Promise<MemoryInfo>;
  journalErrors(query: JournalQuery, signal?: AbortSignal): Promise<JournalReading>;
  /**
   * Runs one shell command line on the host over the shared connection and returns what it printed
   * and its exit status (a non-zero exit is a result, not an error). The caller quotes its arguments.
   */
  run(command: string, signal?: AbortSignal): Promise<ExecResult>;
  /** Closes the shared connection (a later call opens a new one). */
  close(): Promise<void>;
}

export interface SshHostOptions {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  /** OpenSSH or PEM private key (the content, from a secret; never a path). */
  privateKey: string | Buffer;
  passphrase?: string;
  /** The host key's fingerprint, `SHA256:<base64>` (`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`). */
  hostKeySha256: string;
  /** Bound on TCP connect + SSH handshake + authentication. Default 10 s. */
  connectTimeoutMs?: number;
  /** Bound on each remote command. Default 30 s. */
  commandTimeoutMs?: number;
  /** Close the connection after this long without a command. Default 5 s. */
  idleCloseMs?: number;
  /** Newest entries read per unit; a log flood beyond it is reported as truncated. Default 5,000. */
  maxJournalEntries?: number;
  now?: () => number;
}

/** What a failed SSH connection was refused for, so callers can tell a bad pin from a bad key. */
export class SshConnectError extends Error {
  constructor(
    message: string,
    readonly reason: 'host-key-mismatch' | 'authentication' | 'timeout' | 'network' | 'aborted',
  ) {
    super(message);
    this.name = 'SshConnectError';
  }
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

export function createSshHostSource(options: SshHostOptions): SshHostSource {
  const port = options.port ?? 22;
  const expected = normalizeFingerprint(options.hostKeySha256);
  if (!options.host) throw new Error('ssh host source: host is required');
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`ssh host source: port ${port} is not a TCP port`);
  if (!options.username) throw new Error('ssh host source: username is required');
  const parsed = ssh2.utils.parseKey(options.privateKey, options.passphrase);
  if (parsed instanceof Error)
    throw new Error(`ssh host source: the private key is not usable: ${parsed.message}`);
  const where = `${options.username}@${options.host}:${port}`;
  const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  const commandTimeoutMs = options.commandTimeoutMs ?? 30_000;
  const idleCloseMs = options.idleCloseMs ?? 5_000;
  const maxEntries = options.maxJournalEntries ?? 5_000;
  const now = options.now ?? Date.now;

  let connection: Promise<SshClient> | undefined;
  let inFlight = 0;
  let idleTimer: NodeJS.Timeout | undefined;

  const drop = (client: SshClient) => {
    clearTimeout(idleTimer);
    connection = undefined;
    client.end();
  };

  // Not tied to one caller's signal: the connection is shared; each caller races its own signal.
  const connect = (): Promise<SshClient> => {
    const client = new ssh2.Client();
    let presented: string | undefined;
    const opening = new Promise<SshClient>((resolve, reject) => {
      const fail = (error: SshConnectError) => {
        if (connection === opening) connection = undefined;
        client.end();
        reject(error);
      };
      client.once('ready', () => resolve(client));
      client.on('error', (error: Error & { level?: string }) => {
        if (presented !== undefined && presented !== expected) {
          return fail(
            new SshConnectError(
              `host key of ${options.host}:${port} is ${presented}, not the pinned ${expected}: refusing to connect ` +
                '(if the VM was rebuilt, pin its new key after checking it out of band)',
              'host-key-mismatch',
            ),
          );
        }
        if (error.level === 'client-authentication') {
          return fail(
            new SshConnectError(
              `SSH login ${where} refused: the server did not accept the private key`,
              'authentication',
            ),
          );
        }
        if (error.level === 'client-timeout') {
          return fail(
            new SshConnectError(
              `no SSH session with ${where} within ${connectTimeoutMs} ms (connect, handshake, login)`,
              'timeout',
            ),
          );
        }
        fail(new SshConnectError(`SSH connection to ${where} failed: ${error.message}`, 'network'));
      });
      client.on('close', () => {
        if (connection === opening) connection = undefined;
      });
      client.connect({
        host: options.host,
        port,
        username: options.username,
        privateKey: options.privateKey,
        passphrase: options.passphrase,
        readyTimeout: connectTimeoutMs,
        hostVerifier: (key: Buffer) => {
          presented = fingerprintOf(key);
          return presented === expected;
        },
      });
    });
    opening.catch(() => undefined); // rejections reach the callers awaiting it
    return opening;
  };

  const exec = async (label: string, command: string, signal?: AbortSignal): Promise<ExecResult> => {
    clearTimeout(idleTimer);
    inFlight += 1;
    try {
      connection ??= connect();
      const client = await untilAborted(connection, signal, `SSH connection to ${where} aborted`);
      return await runCommand(client, label, command, signal);
    } finally {
      inFlight -= 1;
      const open = connection;
      if (inFlight === 0 && open) {
        clearTimeout(idleTimer);
        idleTimer = setTimeout(() => {
          if (connection === open && inFlight === 0) void open.then(drop, () => undefined);
        }, idleCloseMs);
        idleTimer.unref();
      }
    }
  };

  const runCommand = (
    client: SshClient,
    label: string,
    command: string,
    signal?: AbortSignal,
  ): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error(`${label} on ${options.host} aborted`));
      client.exec(command, (error, stream: ClientChannel) => {
        if (error) return reject(new Error(`cannot run ${label} on ${options.host}: ${error.message}`));
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        let bytes = 0;
        let code: number | null = null;
        let exited = false;
        let settled = false;
        const finish = (failure?: Error) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (failure) {
            stream.close();
            return reject(failure);
          }
          resolve({
            stdout: Buffer.concat(stdout).toString('utf8'),
            stderr: Buffer.concat(stderr).toString('utf8'),
            code,
          });
        };
        const onAbort = () => finish(new Error(`${label} on ${options.host} aborted`));
        signal?.addEventListener('abort', onAbort, { once: true });
        const timer = setTimeout(
          () => finish(new Error(`${label} on ${options.host} did not finish within ${commandTimeoutMs} ms`)),
          commandTimeoutMs,
        );
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_OUTPUT_BYTES)
            return finish(
              new Error(`${label} on ${options.host} printed more than ${MAX_OUTPUT_BYTES} bytes`),
            );
          into.push(chunk);
        };
        stream.on('data', collect(stdout));
        stream.stderr.on('data', collect(stderr));
        stream.on('exit', (exitCode: number | null, signalName?: string) => {
          exited = true;
          code = exitCode;
          if (exitCode === null)
            finish(new Error(`${label} on ${options.host} was killed by ${signalName ?? 'a signal'}`));
        });
        stream.on('close', () =>
          finish(
            exited
              ? undefined
              : new Error(`${label} on ${options.host} ended without an exit status (connection lost?)`),
          ),
        );
      });
    });

  return {
    async diskUsage(signal) {
      const result = await exec('df', DF_COMMAND, signal);
      const disks = parseDf(result.stdout);
      // df exits 1 when one mount cannot be read yet prints the others.
      if (disks.length === 0)
        throw new Error(
          `df on ${options.host} printed no file systems (exit ${result.code}): ${brief(result.stderr)}`,
        );
      return disks;
    },
    async memory(signal) {
      const result = await exec('cat /proc/meminfo', 'cat /proc/meminfo', signal);
      if (result.code !== 0)
        throw new Error(
          `cat /proc/meminfo on ${options.host} exited ${result.code}: ${brief(result.stderr)}`,
        );
      return parseMeminfo(result.stdout);
    },
    async journalErrors(query, signal) {
      if (query.units.length === 0) throw new Error('journalErrors: give at least one unit');
      if (!(query.sinceHours > 0))
        throw new Error(`journalErrors: sinceHours must be > 0, not ${query.sinceHours}`);
      const since = new Date(now() - query.sinceHours * 3_600_000);
      // Per unit and kind, so a flood in one cannot hide another's entries.
      const readings = await Promise.all(
        query.units.flatMap((unit) =>
          (['priority', 'json-level'] as const).map(async (kind) => {
            const result = await exec('journalctl', journalCommand(unit, since, maxEntries, kind), signal);
            assertJournalRead(result, kind, options.host, options.username);
            const entries = parseJournalJson(result.stdout, unit);
            return { unit, entries, truncated: entries.length >= maxEntries };
          }),
        ),
      );
      return {
        entries: readings.flatMap((r) => r.entries).filter((e) => e.priority <= 4),
        truncatedUnits: [...new Set(readings.filter((r) => r.truncated).map((r) => r.unit))],
      };
    },
    run(command, signal) {
      if (!command.trim()) return Promise.reject(new Error('ssh host source: run needs a command'));
      return exec(command.split(/\s+/).slice(0, 3).join(' '), command, signal);
    },
    async close() {
      const open = connection;
      clearTimeout(idleTimer);
      if (open) await open.then(drop, () => undefined);
    },
  };
}

/** `SHA256:<base64 without padding>`, as OpenSSH prints fingerprints. */
export function fingerprintOf(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

export function normalizeFingerprint(value: string): string {
  const body = value
    .trim()
    .replace(/^SHA256:/, '')
    .replace(/=+$/, '');
  if (!/^[A-Za-z0-9+/]{43}$/.test(body)) {
    throw new Error(
      `host key fingerprint ${JSON.stringify(value)} is not a SHA256 fingerprint: expected "SHA256:" and 43 base64 characters, as \`ssh-keygen -lf <host key>.pub\` prints it`,
    );
  }
  return `SHA256:${body}`;
}

/**
 * journalctl run by a user outside systemd-journal/adm shows only that user's own journal, silently
 * but for a hint on stderr. With --grep, no match is exit 1 and no output (systemd 252).
 */
function assertJournalRead(
  result: ExecResult,
  kind: 'priority' | 'json-level',
  host: string,
  username: string,
): void {
  if (/not seeing messages from other users|insufficient permissions/i.test(result.stderr)) {
    throw new Error(
      `${username} cannot read the system journal on ${host}: add the user to the systemd-journal group`,
    );
  }
  if (result.code === 0) return;
  if (kind === 'json-level' && result.code === 1 && !result.stdout.trim() && !result.stderr.trim()) return;
  throw new Error(`journalctl on ${host} exited ${result.code}: ${brief(result.stderr)}`);
}

function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined, message: string): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new SshConnectError(message, 'aborted'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new SshConnectError(message, 'aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function brief(text: string): string {
  const t = text.trim().replace(/\s+/g, ' ');
  return t.length > 300 ? `${t.slice(0, 300)}...` : t || '(no output)';
}
