/**
 * The broker VM as the ops checks see it over SSH (`ssh2`): disk use, memory, and the warnings and
 * errors of its services in the systemd journal. Key authentication only; the host key is pinned by
 * its SHA256 fingerprint (as `ssh-keygen -lf` prints it), so a rebuilt or impostor host is refused.
 * One connection is opened on first use, shared by the commands that follow, and closed by close()
 * or after `idleCloseMs` without a command. The private key never appears in errors or results.
 */
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import type { ClientChannel, Client as SshClient } from 'ssh2';

export interface DiskUsage {
  mount: string;
  sizeBytes: number;
  usedBytes: number;
  /** What an unprivileged writer can still use (size - used - root's reserved blocks). */
  availableBytes: number;
}

export interface MemoryInfo {
  totalBytes: number;
  /** The kernel's estimate of memory available without swapping (MemAvailable). */
  availableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

/** syslog priorities: 0 emerg, 1 alert, 2 crit, 3 err, 4 warning. */
export interface JournalEntry {
  /** The unit asked for (`mosquitto`, `mqtt-bridge`). */
  unit: string;
  priority: number;
  message: string;
  time: Date;
}

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

const UNIT = /^[A-Za-z0-9@._:-]{1,128}$/;
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

// Virtual and read-only image file systems say nothing about capacity.
export const DF_COMMAND =
  'LC_ALL=C df -B1 --output=target,size,used,avail -x tmpfs -x devtmpfs -x squashfs -x efivarfs';

/** Parses `df -B1 --output=target,size,used,avail`; mount points may contain spaces. */
export function parseDf(text: string): DiskUsage[] {
  const disks: DiskUsage[] = [];
  for (const line of text.split('\n').slice(1)) {
    const m = /^(.+?)\s+(\d+)\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (!m) continue;
    disks.push({
      mount: m[1]!,
      sizeBytes: Number(m[2]),
      usedBytes: Number(m[3]),
      availableBytes: Number(m[4]),
    });
  }
  return disks;
}

export function parseMeminfo(text: string): MemoryInfo {
  const kib = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(\w+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) kib.set(m[1]!, Number(m[2]));
  }
  const get = (name: string): number => {
    const value = kib.get(name);
    if (value === undefined) throw new Error(`/proc/meminfo has no ${name} line`);
    return value * 1024;
  };
  return {
    totalBytes: get('MemTotal'),
    availableBytes: get('MemAvailable'),
    swapTotalBytes: get('SwapTotal'),
    swapFreeBytes: get('SwapFree'),
  };
}

/**
 * The journalctl command for one unit since `since`, newest first, at most `maxEntries`:
 * - `priority`: entries at warning or worse (syslog priority; systemd's own messages about the unit);
 * - `json-level`: entries journald stored at notice/info whose MESSAGE is a JSON log line with a
 *   warn/error level: what a service logging JSON to stdout (the bridge) reports as errors.
 */
export function journalCommand(
  unit: string,
  since: Date,
  maxEntries: number,
  kind: 'priority' | 'json-level' = 'priority',
): string {
  if (!UNIT.test(unit)) throw new Error(`not a systemd unit name: ${JSON.stringify(unit)}`);
  const epoch = Math.floor(since.getTime() / 1000);
  const filter = kind === 'priority' ? '-p warning' : `-p notice..info --grep '${JSON_LEVEL_PATTERN}'`;
  return (
    `LC_ALL=C journalctl -u '${unit}' --since '@${epoch}' ${filter} -o json ` +
    `--output-fields=MESSAGE,PRIORITY --no-pager -r -n ${Math.floor(maxEntries)}`
  );
}

const JSON_LEVEL_PATTERN = '"level": ?"(warn|warning|error|fatal|critical)"';
const LEVEL_PRIORITY: Record<string, number> = { warn: 4, warning: 4, error: 3, fatal: 2, critical: 2 };

/**
 * Parses `journalctl -o json` (one object per line). MESSAGE is a string, an array of bytes when it
 * is not valid UTF-8, or null when it is larger than journalctl prints without --all. A MESSAGE that
 * is a JSON log line (`{"level","msg",...}`) gets its priority from its level, and reads as
 * `msg {other fields}` without its timestamp.
 */
export function parseJournalJson(text: string, unit: string): JournalEntry[] {
  const entries: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue; // "-- No entries --" and the like
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    const micros = typeof record.__REALTIME_TIMESTAMP === 'string' ? record.__REALTIME_TIMESTAMP : '';
    const journalPriority = Number(record.PRIORITY);
    const entry: JournalEntry = {
      unit,
      priority: Number.isInteger(journalPriority) ? journalPriority : 6,
      message: messageText(record.MESSAGE),
      time: /^\d+$/.test(micros) ? new Date(Number(BigInt(micros) / 1000n)) : new Date(Number.NaN),
    };
    entries.push(withJsonLevel(entry));
  }
  return entries;
}

function withJsonLevel(entry: JournalEntry): JournalEntry {
  if (!entry.message.startsWith('{')) return entry;
  let log: unknown;
  try {
    log = JSON.parse(entry.message);
  } catch {
    return entry;
  }
  if (typeof log !== 'object' || log === null || Array.isArray(log)) return entry;
  const { level, msg, ts: _ts, time: _time, ...rest } = log as Record<string, unknown>;
  const priority = typeof level === 'string' ? LEVEL_PRIORITY[level.toLowerCase()] : undefined;
  if (priority === undefined || typeof msg !== 'string') return entry;
  const fields = Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
  return { ...entry, priority: Math.min(priority, entry.priority), message: `${msg}${fields}` };
}

function messageText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((b) => typeof b === 'number'))
    return Buffer.from(value as number[]).toString('utf8');
  if (value === null) return '(message too large to show)';
  return '';
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
