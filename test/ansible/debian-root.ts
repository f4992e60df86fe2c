/**
 * A Debian 12 (bookworm) root file system made by debootstrap from the Debian mirror apt uses on
 * this machine, cached outside the repository (~/.cache/mqtt-saas-ops/debootstrap/<key>-<release>/root):
 * the key hashes the suite, mirror, variant and package list, so a changed list builds a new root;
 * the suite's Release date on the mirror makes a point release build a new one too.
 * A build goes into a temporary directory renamed into place only once it is complete: an
 * interrupted build never counts, and two runs building at once both end with a complete root.
 *
 * The package list holds what the roles install (sshd, Mosquitto, ufw, fail2ban...), so a
 * converge finds them installed: the booted container has no route to the mirror, and the chroot
 * converge (which shares the host's network) then only refreshes the package lists when they are
 * older than the base role's cache_valid_time.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const SUITE = 'bookworm';
const VARIANT = 'minbase';
/** What the roles install, and what a booted system needs to be reached (systemd, dbus, sshd). */
export const ROOT_PACKAGES = [
  'systemd',
  'systemd-sysv',
  'dbus',
  'python3',
  'python3-apt',
  'openssh-server',
  'sudo',
  'mosquitto',
  'mosquitto-clients',
  'ufw',
  'fail2ban',
  'python3-systemd',
  'unattended-upgrades',
  'systemd-timesyncd',
  'logrotate',
  'iptables',
  'ca-certificates',
  'xz-utils',
  'iproute2',
  'procps',
];
/** Builds older than this are leftovers of an interrupted run (a build takes about 2 minutes). */
const STALE_BUILD_MS = 60 * 60_000;

export interface DebianRoot {
  /** The cached root: copy it, never change it. */
  path: string;
  /** Whether this call built it (a cold cache) or found it. */
  built: boolean;
  ms: number;
  mirror: string;
}

/** The Debian mirror of apt's sources (deb822 .sources or one-line sources.list), else deb.debian.org. */
export function aptMirror(): string {
  const files = ['/etc/apt/sources.list'];
  try {
    for (const f of readdirSync('/etc/apt/sources.list.d'))
      if (/\.(sources|list)$/.test(f)) files.push(join('/etc/apt/sources.list.d', f));
  } catch {
    // no directory
  }
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n')) {
      const uri =
        /^URIs:\s*(\S+)/.exec(line)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+/.exec(line.trim())?.[1];
      // The main archive, not debian-security.
      if (uri && /^https?:\/\//.test(uri) && !/security/.test(uri)) return uri.replace(/\/$/, '');
    }
  }
  return 'http://deb.debian.org/debian';
}

/** What the root is made of: a changed package list, mirror or suite is another root. */
export function cacheKey(mirror: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ suite: SUITE, variant: VARIANT, mirror, packages: ROOT_PACKAGES }))
    .digest('hex')
    .slice(0, 16);
}

/**
 * The suite's Release date on the mirror (e.g. 20260110T101010): a point release rebuilds the root,
 * so the converge's safe upgrade does not download the same updates on every run. null when the
 * mirror cannot be read now (the newest cached root is used then).
 */
async function releaseStamp(mirror: string): Promise<string | null> {
  try {
    const response = await fetch(`${mirror}/dists/${SUITE}/Release`, { signal: AbortSignal.timeout(15_000) });
    if (!response.ok) return null;
    const date = /^Date:\s*(.+)$/m.exec(await response.text())?.[1];
    const time = date ? new Date(date) : null;
    return time && !Number.isNaN(time.getTime()) ? time.toISOString().replace(/[-:]|\.\d+Z$/g, '') : null;
  } catch {
    return null;
  }
}

export async function cachedDebianRoot(
  options: { cacheDir?: string; log?: (line: string) => void } = {},
): Promise<DebianRoot> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const mirror = aptMirror();
  const base =
    options.cacheDir ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'mqtt-saas-ops', 'debootstrap');
  await mkdir(base, { recursive: true });
  const key = cacheKey(mirror);
  const stamp = await releaseStamp(mirror);
  const complete: string[] = [];
  for (const name of (await readdir(base)).filter((n) => n.startsWith(`${key}-`)).sort())
    if (await isComplete(join(base, name))) complete.push(name);
  const found = stamp ? complete.find((n) => n === `${key}-${stamp}`) : complete.at(-1);
  if (found) return { path: join(base, found, 'root'), built: false, ms: Date.now() - started, mirror };
  const final = join(base, `${key}-${stamp ?? 'unknown'}`);
  const path = join(final, 'root');

  await removeStaleBuilds(base);
  const build = await mkdtemp(join(base, '.build-'));
  try {
    log(`debootstrap ${SUITE} from ${mirror} into ${build} (cold cache: about 2 minutes)`);
    await debootstrap(join(build, 'root'), mirror);
    await writeFile(
      join(build, 'complete.json'),
      JSON.stringify({ suite: SUITE, mirror, packages: ROOT_PACKAGES, ms: Date.now() - started }),
    );
    try {
      await rename(build, final);
    } catch (error) {
      // Another run finished first: keep its root, drop ours.
      if (!(await isComplete(final))) throw error;
      await rm(build, { recursive: true, force: true });
    }
    // Roots of older releases are not used again (a run still copying one has its own copy soon).
    for (const name of complete) await rm(join(base, name), { recursive: true, force: true });
  } catch (error) {
    await rm(build, { recursive: true, force: true });
    throw error;
  }
  return { path, built: true, ms: Date.now() - started, mirror };
}

async function isComplete(dir: string): Promise<boolean> {
  return stat(join(dir, 'complete.json')).then(
    () => true,
    () => false,
  );
}

async function removeStaleBuilds(base: string): Promise<void> {
  for (const name of await readdir(base)) {
    if (!name.startsWith('.build-')) continue;
    const info = await stat(join(base, name)).catch(() => null);
    if (info && Date.now() - info.mtimeMs > STALE_BUILD_MS)
      await rm(join(base, name), { recursive: true, force: true });
  }
}

function debootstrap(target: string, mirror: string): Promise<void> {
  const args = [`--variant=${VARIANT}`, `--include=${ROOT_PACKAGES.join(',')}`, SUITE, target, mirror];
  return new Promise((resolve, reject) => {
    const child = spawn('debootstrap', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString('utf8')).slice(-4000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.once('error', reject);
    child.once('close', (code) =>
      code === 0 ? resolve() : reject(new Error(`debootstrap exited ${code}:\n${tail}`)),
    );
  });
}

/** A copy of the cached root for one run (reflinked where the file system can). */
export async function copyRoot(from: string, to: string): Promise<void> {
  await run('cp', ['-a', '--reflink=auto', from, to], { maxBuffer: 1024 * 1024 });
}
