/**
 * Runs the Ansible role reverse_proxy for real (ansible-playbook, local connection, no become)
 * against a temporary prefix instead of /etc/nginx: the role's paths are variables and its `direct`
 * service manager starts the distribution's nginx binary as a daemon on high loopback ports. Also
 * finds the programs the tests need (skip on a laptop without them, saying why; fail with CI=true).
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPlaybook, type PlaybookRun } from '../../ops/deploy/ansible-runner.js';

export const REPO_ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const ROLE_DIR = join(REPO_ROOT, 'ansible', 'roles', 'reverse_proxy');
const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

/** Each program's path, or null after saying why the tests skip. With CI=true a missing one throws. */
export function programsForTests<K extends string>(
  programs: Record<K, { name: string; package: string }>,
): Record<K, string> | null {
  const dirs = [...SEARCH_DIRS, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  const found = {} as Record<K, string>;
  const missing: string[] = [];
  for (const [key, { name, package: pkg }] of Object.entries(programs) as [
    K,
    { name: string; package: string },
  ][]) {
    const path = dirs.map((dir) => join(dir, name)).find(isExecutable);
    if (path) found[key] = path;
    else missing.push(`${name} (Debian package ${pkg})`);
  }
  if (missing.length === 0) return found;
  const why = `not installed: ${missing.join(', ')}; .ci/run installs them`;
  if (process.env.CI === 'true') throw new Error(`${why}. CI=true forbids skipping these tests.`);
  console.warn(`Skipping the reverse proxy tests: ${why}.`);
  return null;
}

export interface ProxyPrefix {
  dir: string;
  confFile: string;
  pidFile: string;
  logDir: string;
  /** The role variables that put every path under dir and start nginx directly. */
  vars: Record<string, unknown>;
  /** Runs the role with these vars on top (check: --check --diff, as the deploy does first); bounded. */
  apply(extra?: Record<string, unknown>, options?: { check?: boolean }): Promise<PlaybookRun>;
  /** nginx's error log so far (for failure messages). */
  errorLog(): Promise<string>;
  /** Stops the nginx the role started (SIGTERM, SIGKILL after 5 s) and removes dir. */
  remove(): Promise<void>;
}

/**
 * A prefix for one nginx. `nginx` is the binary's path; vars are the test's role variables
 * (ports, domain, certificate, upstreams).
 */
export async function proxyPrefix(nginx: string, vars: Record<string, unknown>): Promise<ProxyPrefix> {
  const dir = await mkdtemp(join(tmpdir(), 'reverse-proxy-'));
  // Run as root here, nginx's workers are `nobody` (no `user` directive): they must reach the
  // ACME webroot and their temp directories under dir.
  await chmod(dir, 0o755);
  const confFile = join(dir, 'nginx', 'nginx.conf');
  const pidFile = join(dir, 'nginx.pid');
  const logDir = join(dir, 'log');
  const prefixVars: Record<string, unknown> = {
    ansible_connection: 'local',
    ansible_python_interpreter: '/usr/bin/python3',
    reverse_proxy_packages: [],
    reverse_proxy_acme_packages: [],
    reverse_proxy_service_manager: 'direct',
    reverse_proxy_nginx: nginx,
    reverse_proxy_user: '',
    reverse_proxy_conf_file: confFile,
    reverse_proxy_pid_file: pidFile,
    reverse_proxy_log_dir: logDir,
    reverse_proxy_state_dir: join(dir, 'state'),
    reverse_proxy_acme_webroot: join(dir, 'acme-webroot'),
    reverse_proxy_acme_config_dir: join(dir, 'letsencrypt'),
    reverse_proxy_acme_work_dir: join(dir, 'letsencrypt-work'),
    reverse_proxy_acme_logs_dir: join(dir, 'letsencrypt-log'),
    reverse_proxy_listen_addresses: ['127.0.0.1'],
    ...vars,
  };
  const playbook = join(dir, 'playbook.yml');
  await writeFile(
    playbook,
    [
      '- name: Reverse proxy (test)',
      '  hosts: proxy',
      '  become: false',
      '  gather_facts: false',
      '  roles:',
      `    - role: ${JSON.stringify(ROLE_DIR)}`,
      '',
    ].join('\n'),
  );
  trackPidFile(pidFile);
  let runs = 0;
  return {
    dir,
    confFile,
    pidFile,
    logDir,
    vars: prefixVars,
    async apply(extra = {}, { check = false } = {}) {
      // JSON is YAML: Ansible's yaml inventory plugin reads it.
      const inventory = join(dir, `inventory-${(runs += 1)}.json`);
      await writeFile(inventory, JSON.stringify({ all: { hosts: { proxy: { ...prefixVars, ...extra } } } }));
      return runPlaybook({
        root: REPO_ROOT,
        playbook,
        inventories: [inventory],
        check,
        diff: check,
        timeoutMs: 120_000,
        // Modules piped to python instead of written to a temp file first (measured: 11 s -> 6 s a run).
        env: { ...process.env, ANSIBLE_PIPELINING: 'True' },
      });
    },
    errorLog: () => readFile(join(logDir, 'error.log'), 'utf8').catch(() => '(no error.log)'),
    async remove() {
      await stopNginx(pidFile);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Summary of a run for expectations: failures show the playbook's output. */
export function outcome(run: PlaybookRun): { code: number; changed: number; failed: number; output: string } {
  const hosts = Object.values(run.recap);
  return {
    code: run.code,
    changed: hosts.reduce((n, h) => n + h.changed, 0),
    failed: hosts.reduce((n, h) => n + h.failed + h.unreachable, 0),
    output: run.code === 0 ? '' : run.output.slice(-6_000),
  };
}

const STOP_GRACE_MS = 5_000;
const pidFiles = new Set<string>();
let exitHookInstalled = false;

async function stopNginx(pidFile: string): Promise<void> {
  pidFiles.delete(pidFile);
  const pid = readPid(pidFile);
  if (pid === null || !alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + STOP_GRACE_MS;
  while (alive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  // The daemon leads its own process group (setsid): the group takes its workers too.
  if (alive(pid)) process.kill(-pid, 'SIGKILL');
}

/** A test runner that dies must not leave an nginx behind (it is a daemon, not our child). */
function trackPidFile(pidFile: string): void {
  pidFiles.add(pidFile);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const file of pidFiles) {
      const pid = readPid(file);
      // SIGTERM: nginx's fast shutdown stops its workers too (a killed master would leave them).
      if (pid !== null && alive(pid)) process.kill(pid, 'SIGTERM');
    }
  });
}

function readPid(pidFile: string): number | null {
  try {
    const pid = Number(readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
