/**
 * Runs `ansible-playbook` for the deploy's vm stage and reads what it printed: the PLAY RECAP
 * (ok / changed / unreachable / failed per host) and the bridge role's `bridge-release` line. The
 * default callback's text is kept as it is (it goes into the report: the `--check --diff` output
 * first); ansible/ansible.cfg fixes the callback, so the parse does not depend on a user's config.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface HostRecap {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export interface PlaybookRun {
  /** Exit code (2: a host failed, 4: unreachable, 127: not found...). */
  code: number;
  /** stdout and stderr as printed, interleaved. */
  output: string;
  recap: Record<string, HostRecap>;
  ms: number;
}

export interface PlaybookOptions {
  /** The repository root: ansible/ansible.cfg and ansible/site.yml are found under it. */
  root: string;
  playbook: string;
  inventories: string[];
  /** Files passed as `-e @file` (mode 0600: they hold secrets). */
  extraVarsFiles?: string[];
  check?: boolean;
  diff?: boolean;
  /** The ansible-playbook binary; default: found on PATH. */
  binary?: string;
  env?: Record<string, string | undefined>;
  /** Lines as they come (already redacted by the caller's log function if it wants). */
  onLine?: (line: string) => void;
  timeoutMs?: number;
}

export class AnsibleNotInstalledError extends Error {
  constructor(searched: string) {
    super(
      `ansible-playbook was not found (${searched}): install Ansible (Debian/Ubuntu: sudo apt-get install ansible; ` +
        'elsewhere: pipx install ansible-core, then ansible-galaxy collection install ansible.posix community.general)',
    );
    this.name = 'AnsibleNotInstalledError';
  }
}

/** The ansible-playbook binary on PATH, or AnsibleNotInstalledError saying how to install it. */
export function findAnsiblePlaybook(env: Record<string, string | undefined> = process.env): string {
  const dirs = (env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const dir of dirs) {
    const candidate = join(dir, 'ansible-playbook');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new AnsibleNotInstalledError(`PATH: ${dirs.join(delimiter) || '(empty)'}`);
}

const DEFAULT_TIMEOUT_MS = 15 * 60_000;

export async function runPlaybook(options: PlaybookOptions): Promise<PlaybookRun> {
  const binary = options.binary ?? findAnsiblePlaybook(options.env ?? process.env);
  const args = [
    ...options.inventories.flatMap((i) => ['-i', i]),
    ...(options.extraVarsFiles ?? []).flatMap((f) => ['-e', `@${f}`]),
    ...(options.check ? ['--check'] : []),
    ...(options.diff ? ['--diff'] : []),
    options.playbook,
  ];
  const started = Date.now();
  const env = {
    ...(options.env ?? process.env),
    ANSIBLE_CONFIG: join(options.root, 'ansible', 'ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_FORCE_COLOR: '0',
    // Never trust a host key that is not in the known_hosts file the stage wrote.
    ANSIBLE_HOST_KEY_CHECKING: 'True',
    ANSIBLE_RETRY_FILES_ENABLED: 'False',
    // One SSH connection per run, shared by its tasks, gone 2 s after the last (the default 60 s
    // would outlive the run and hold the VM's sshd session).
    ANSIBLE_SSH_ARGS: '-C -o ControlMaster=auto -o ControlPersist=2s',
    PYTHONUNBUFFERED: '1',
  };
  return await new Promise<PlaybookRun>((resolve, reject) => {
    const child = spawn(binary, args, { cwd: options.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      if (!options.onLine) return;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) options.onLine(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      output += `\n(ansible-playbook stopped after ${options.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms)\n`;
      child.kill('SIGTERM');
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(error.code === 'ENOENT' ? new AnsibleNotInstalledError(binary) : error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (pending.trim() && options.onLine) options.onLine(pending);
      resolve({
        code: code ?? (signal ? 128 : 1),
        output,
        recap: parseRecap(output),
        ms: Date.now() - started,
      });
    });
  });
}

const RECAP_LINE = /^(\S+)\s+:\s+((?:\w+=\d+\s*)+)$/;

/** The PLAY RECAP's counters per host (the last recap when a run printed several). */
export function parseRecap(output: string): Record<string, HostRecap> {
  const at = output.lastIndexOf('PLAY RECAP');
  if (at < 0) return {};
  const recap: Record<string, HostRecap> = {};
  for (const line of output.slice(at).split('\n').slice(1)) {
    const m = RECAP_LINE.exec(line.trim());
    if (!m) continue;
    const counts = Object.fromEntries(
      m[2]!
        .trim()
        .split(/\s+/)
        .map((pair) => pair.split('='))
        .map(([k, v]) => [k, Number(v)]),
    ) as Partial<HostRecap>;
    recap[m[1]!] = {
      ok: counts.ok ?? 0,
      changed: counts.changed ?? 0,
      unreachable: counts.unreachable ?? 0,
      failed: counts.failed ?? 0,
      skipped: counts.skipped ?? 0,
      rescued: counts.rescued ?? 0,
      ignored: counts.ignored ?? 0,
    };
  }
  return recap;
}

export interface BridgeReleaseLine {
  before: string | null;
  after: string | null;
  previous: string | null;
}

/** The bridge role's last `bridge-release before=... after=... previous=...` line ('-' is none). */
export function parseBridgeRelease(output: string): BridgeReleaseLine | null {
  const all = [...output.matchAll(/bridge-release\s+before=(\S+)\s+after=(\S+)\s+previous=(\S+)/g)];
  const last = all.at(-1);
  if (!last) return null;
  const value = (v: string | undefined) => (v === undefined || v === '-' ? null : v);
  return { before: value(last[1]), after: value(last[2]), previous: value(last[3]) };
}
