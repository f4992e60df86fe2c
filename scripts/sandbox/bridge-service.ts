/**
 * The sandbox's bridge as on the VM: the bundle (bridge/bundle.ts) in a release directory under
 * `<sandbox dir>/vm` (the bridge role's layout, ops/deploy/vm-stage-layout.ts), run as its own
 * node process from the `current` symlink, configured by bridge.env, under a supervisor that does
 * what the unit's Restart=always does: when the process exits, start `current` again (after
 * RestartSec, re-reading bridge.env). The deploy's vm stage (`--env local`) installs a new release
 * with Ansible, switches `current` and sends SIGTERM to the pid in the pid file; this supervisor
 * then starts the new release on the same journal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BridgeStats } from '../../bridge/index.js';
import { BRIDGE_NODE_FLAGS, BRIDGE_PROCESS_ENV } from '../../bridge/node-flags.js';
import {
  BRIDGE_BUNDLE_FILE,
  bridgeLayout,
  formatBridgeEnv,
  parseBridgeEnv,
  type BridgeLayout,
} from '../../ops/deploy/vm-stage-layout.js';

export interface BridgeServiceOptions {
  /** The sandbox's VM root (`<sandbox dir>/vm`). */
  root: string;
  /** Where the running process's pid is written (what a restart signals). */
  pidFile: string;
  healthPort: number;
  log: (line: string) => void;
  /** Resolves true once ingest has heard from the bridge (firstReport); polled until then. */
  reported?: () => Promise<boolean>;
  /** systemd's RestartSec. */
  restartDelayMs?: number;
  /** Bound on a graceful stop before SIGKILL (the unit's TimeoutStopSec). */
  stopTimeoutMs?: number;
}

export interface BridgeService {
  readonly healthPort: number;
  readonly layout: BridgeLayout;
  /** The running process (undefined while restarting). */
  readonly pid: number | undefined;
  /** How many processes were started so far. */
  readonly starts: number;
  /** Counters of the running process, as its GET /metrics last answered (polled twice a second). */
  stats(): BridgeStats;
  /** The running process's GET /metrics now. */
  metrics(): Promise<BridgeStats>;
  /**
   * The message counters since the sandbox started, summed over the bridge processes (a deploy
   * restarts it): for progress lines. A process's last half second before it exited may be missing.
   */
  totals(): Pick<BridgeStats, CountedField> & { pending: number };
  /** Resolves once a bridge process subscribed (its `mqtt_subscribed` log line), or on stop. */
  readonly subscribed: Promise<void>;
  /** Resolves once ingest heard from the bridge (or on stop). */
  readonly firstReport: Promise<void>;
  /** Graceful stop (SIGTERM, the bridge forwards what it can), no restart. */
  stop(): Promise<void>;
}

/**
 * Installs a release as the role does: `releases/<release>/bridge.mjs`, `current` pointing to it,
 * bridge.env (mode 0600) with the settings. For the sandbox's first release, before any deploy.
 */
export async function installBridgeRelease(options: {
  root: string;
  release: string;
  bundle: string;
  settings: Record<string, string>;
}): Promise<BridgeLayout> {
  const layout = bridgeLayout(options.root);
  const dir = join(layout.releases, options.release);
  await mkdir(dir, { recursive: true });
  await mkdir(layout.journalDir, { recursive: true, mode: 0o750 });
  await mkdir(layout.configDir, { recursive: true });
  await copyFile(options.bundle, join(dir, BRIDGE_BUNDLE_FILE));
  await writeFile(join(dir, 'release.json'), `${JSON.stringify({ commit: options.release }, null, 2)}\n`);
  const link = `${layout.current}.tmp`;
  await rm(link, { force: true });
  await symlink(join('releases', options.release), link);
  await rename(link, layout.current);
  await writeFile(layout.envFile, formatBridgeEnv(options.settings, layout.journalDir), { mode: 0o600 });
  return layout;
}

const EMPTY_STATS: BridgeStats = {
  received: 0,
  forwarded: 0,
  pending: 0,
  retries: 0,
  inserted: 0,
  duplicates: 0,
  rejected: 0,
  oldestPendingAgeMs: 0,
  journalBytes: 0,
  connected: false,
  lastError: null,
  redeliveries: 0,
  journalFull: false,
  journalFullEpisodes: 0,
  journalWriteFailing: false,
  maxJournalBytes: 0,
  journalSegments: 0,
  cursor: 0,
  lastSeq: 0,
  inflightBatches: 0,
  batches: 0,
  spilled: false,
  lastErrorAt: null,
  lastForwardAt: null,
  lastSyncAt: null,
  startedAt: new Date(0).toISOString(),
  uptimeMs: 0,
  rssBytes: 0,
  heapUsedBytes: 0,
  externalBytes: 0,
};

const COUNTED = ['received', 'forwarded', 'retries', 'inserted', 'duplicates', 'rejected'] as const;
type CountedField = (typeof COUNTED)[number];

export async function startBridgeService(options: BridgeServiceOptions): Promise<BridgeService> {
  const layout = bridgeLayout(options.root);
  const restartDelayMs = options.restartDelayMs ?? 1_000;
  const stopTimeoutMs = options.stopTimeoutMs ?? 20_000;
  const metricsUrl = `http://127.0.0.1:${options.healthPort}/metrics`;
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let stopping = false;
  let starts = 0;
  let last: BridgeStats = EMPTY_STATS;
  // What the processes before the running one counted.
  const carried = Object.fromEntries(COUNTED.map((k) => [k, 0])) as Record<CountedField, number>;
  let restartTimer: NodeJS.Timeout | undefined;
  const killOnExit = () => child?.kill('SIGKILL');
  process.once('exit', killOnExit);

  const start = async (): Promise<void> => {
    // Like systemd, the settings are read at each start: a deploy may have changed them.
    const settings = parseBridgeEnv(await readFile(layout.envFile, 'utf8'));
    const proc = spawn(process.execPath, [...BRIDGE_NODE_FLAGS, join(layout.current, BRIDGE_BUNDLE_FILE)], {
      env: {
        PATH: process.env.PATH ?? '',
        ...BRIDGE_PROCESS_ENV,
        ...settings,
        BRIDGE_HEALTH_PORT: String(options.healthPort),
        BRIDGE_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    starts += 1;
    // JSON lines at info level: mqtt_subscribed is read here; only warnings and errors are shown.
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.includes('"msg":"mqtt_subscribed"')) resolveSubscribed();
        if (line.trim() && !/"level":"(debug|info)"/.test(line)) options.log(`bridge: ${line}`);
      }
    };
    proc.stdout?.on('data', forward);
    proc.stderr?.on('data', forward);
    exited = new Promise<void>((resolve) => {
      proc.once('exit', (code, signal) => {
        if (child === proc) child = undefined;
        for (const k of COUNTED) carried[k] += last[k];
        last = EMPTY_STATS;
        resolve();
        if (stopping) return;
        options.log(
          `bridge: process ${proc.pid} exited (${signal ?? `code ${code}`}); starting ${layout.current} in ${restartDelayMs} ms`,
        );
        restartTimer = setTimeout(() => {
          if (!stopping) start().catch((e: Error) => options.log(`bridge: start failed: ${e.message}`));
        }, restartDelayMs);
      });
    });
    proc.once('error', (e) => options.log(`bridge: ${e.message}`));
    const tmp = `${options.pidFile}.tmp`;
    await writeFile(tmp, `${proc.pid}\n`);
    await rename(tmp, options.pidFile);
  };

  const poll = setInterval(() => {
    const polled = child;
    getJson<BridgeStats>(metricsUrl)
      // An answer that arrives after its process exited would be counted twice (carried already).
      .then((s) => void (polled && child === polled && (last = s)))
      .catch(() => undefined);
  }, 500);

  let resolveSubscribed!: () => void;
  const subscribed = new Promise<void>((resolve) => (resolveSubscribed = resolve));
  let resolveReported!: () => void;
  const firstReport = new Promise<void>((resolve) => (resolveReported = resolve));
  if (options.reported) {
    const check = options.reported;
    const wait = async () => {
      while (!stopping && !(await check().catch(() => false))) await sleep(200);
      resolveReported();
    };
    void wait();
  } else resolveReported();

  await start();
  return {
    healthPort: options.healthPort,
    layout,
    get pid() {
      return child?.pid;
    },
    get starts() {
      return starts;
    },
    stats: () => last,
    totals: () => ({
      ...(Object.fromEntries(COUNTED.map((k) => [k, carried[k] + last[k]])) as Record<CountedField, number>),
      pending: last.pending,
    }),
    metrics: () => getJson<BridgeStats>(metricsUrl),
    subscribed,
    firstReport,
    async stop() {
      stopping = true;
      clearTimeout(restartTimer);
      clearInterval(poll);
      resolveReported();
      resolveSubscribed();
      const running = child;
      if (running && running.exitCode === null && running.signalCode === null) {
        running.kill('SIGTERM');
        const timer = setTimeout(() => running.kill('SIGKILL'), stopTimeoutMs);
        await exited;
        clearTimeout(timer);
      }
      process.off('exit', killOnExit);
      await rm(options.pidFile, { force: true });
    },
  };
}

async function getJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return (await response.json()) as T;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
