/**
 * The deploy's functions stage, and the functions half of a rollback.
 *
 * runFunctionsStage: build the package for the commit (`npm run -s build:functions` in a child
 * process: ops may not import functions/, and the build's esbuild + worker check belong to the
 * Functions app), read /health, skip when the running release is this very package (its commit in
 * /health and its sha256 the release store's newest: a second identical deploy redeploys nothing),
 * deploy through the environment's transport (functions-transport.ts), keep the package in the
 * release store, then wait (bounded) until /health reports the new commit.
 *
 * rollbackFunctions: deploy the store's previous release through the same transport, wait until
 * /health reports its commit, then `store.rollback()` so the failed package is never gone back to.
 */
import type { TokenCredential } from '@azure/core-auth';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { ingestHealthUrl, type OpsTarget } from '../config/ops-target.js';
import { MissingSecretError } from '../config/secrets.js';
import {
  appSettingsClientFor,
  ownedAppSettings,
  syncAppSettings,
  type AppSettingsClient,
  type AppSettingsSyncResult,
  type OwnedSettings,
} from './function-app-settings.js';
import { blobFunctionsReleaseStore } from './functions-releases-blob.js';
import {
  localFunctionsReleaseStore,
  type FunctionsRelease,
  type FunctionsReleaseStore,
} from './functions-releases.js';
import { functionsTransportFor, type FunctionsTransport } from './functions-transport.js';

/** What `npm run build:functions` prints (functions/package-zip.ts FunctionsPackage), the part used here. */
export interface BuiltFunctionsPackage {
  path: string;
  sha256: string;
  bytes: number;
  commitSha: string;
  functions: string[];
}

export type BuildFunctionsPackage = (options: {
  root: string;
  commitSha: string;
  outDir: string;
}) => Promise<BuiltFunctionsPackage>;

/** `npm run -s build:functions -- --sha <commit> --out <dir>` in the checkout; its stdout's JSON. */
export const npmBuildFunctionsPackage: BuildFunctionsPackage = ({ root, commitSha, outDir }) =>
  new Promise((resolve, reject) => {
    execFile(
      'npm',
      ['run', '-s', 'build:functions', '--', '--sha', commitSha, '--out', outDir],
      { cwd: root, maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) return reject(new Error(`npm run build:functions: ${(stderr || error.message).trim()}`));
        const line = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(line) as BuiltFunctionsPackage);
        } catch {
          reject(new Error(`npm run build:functions printed no package JSON: ${line.slice(0, 200)}`));
        }
      },
    );
  });

/** What GET /api/health answered (common/ingest-protocol.ts HealthReport), or why nothing. */
export interface HealthReading {
  reachable: boolean;
  httpStatus: number | null;
  /** `ok` / `degraded` ... from the body. */
  status: string | null;
  /** The commit the app was built from; null when it runs from sources or predates packages. */
  version: string | null;
  error?: string;
}

export async function fetchHealth(url: string, timeoutMs = 10_000): Promise<HealthReading> {
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
    const text = await res.text();
    let body: { status?: unknown; version?: unknown } = {};
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      return { reachable: true, httpStatus: res.status, status: null, version: null, error: 'no JSON body' };
    }
    return {
      reachable: true,
      httpStatus: res.status,
      status: typeof body.status === 'string' ? body.status : null,
      version: typeof body.version === 'string' ? body.version : null,
    };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    return {
      reachable: false,
      httpStatus: null,
      status: null,
      version: null,
      error: e.cause?.code ?? e.message,
    };
  }
}

/** A running version: the commit /health reports, and the package hash when the store knows it. */
export interface FunctionsVersion {
  commit: string | null;
  sha256: string | null;
}

export interface HealthWait {
  url: string;
  /** The last reading. */
  reading: HealthReading;
  reached: boolean;
  waitedMs: number;
  polls: number;
}

interface WaitOptions {
  readHealth?: (url: string) => Promise<HealthReading>;
  healthTimeoutMs?: number;
  healthIntervalMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

interface CommonOptions extends WaitOptions {
  target: OpsTarget;
  log?: (line: string) => void;
  /** Default: the environment's (functionsTransportFor). */
  transport?: FunctionsTransport;
  /** Azure environments, when `transport` is not given: DefaultAzureCredential in production. */
  credential?: TokenCredential;
  /** Default: functionsReleaseStoreFor(target, root). */
  store?: FunctionsReleaseStore;
  /** Default: the environment's /health (ingest.healthUrl; the sandbox's env.json). */
  healthUrl?: string;
}

export interface FunctionsStageOptions extends CommonOptions {
  /** The checkout the package is built from. */
  root: string;
  /** The commit being deployed (HEAD): what /health must report. */
  commitSha: string;
  buildPackage?: BuildFunctionsPackage;
  /** Where the zip is written; default <root>/.ops/build/functions. */
  outDir?: string;
  /**
   * The Function App's settings (function-app-settings.ts): those the environment YAML owns are
   * written before the package is deployed. Default: through Resource Manager with `credential`;
   * null (the sandbox) writes none.
   */
  appSettings?: AppSettingsClient | null;
}

export interface FunctionsStageResult {
  stage: 'functions';
  /** skipped: the running release is this package (unchanged); failure: see error. */
  status: 'success' | 'skipped' | 'failure';
  summary: string;
  ms: number;
  /** What ran before (null: /health was unreachable). */
  before: FunctionsVersion | null;
  /** What runs after (null: /health was unreachable at the end). */
  after: FunctionsVersion | null;
  unchanged: boolean;
  /**
   * The platform accepted the package and the store has it as the newest release: a rollback now
   * goes back to the one before. False when nothing was deployed (skipped, build or upload failed).
   */
  deployed: boolean;
  package?: BuiltFunctionsPackage;
  transport?: string;
  store?: string;
  health?: HealthWait;
  /** What the deploy wrote of the settings the YAML owns (names only), one entry per group. */
  appSettings?: AppSettingsSyncResult[];
  error?: string;
  timings: { buildMs: number; deployMs: number; healthMs: number };
}

export interface FunctionsRollbackOptions extends CommonOptions {
  /** Refuse unless the store's newest release is this one (the package the failed deploy shipped). */
  expectLatestSha256?: string;
  /** Where the previous zip is downloaded; default a temporary folder. */
  workDir?: string;
  /** The checkout (where a non-sandbox environment's local release store is); default the working directory. */
  root?: string;
}

export interface FunctionsRollbackResult {
  stage: 'functions';
  status: 'success' | 'failure';
  summary: string;
  ms: number;
  before: FunctionsVersion | null;
  after: FunctionsVersion | null;
  /** The release rolled back to. */
  release?: FunctionsRelease;
  /** The release rolled back from. */
  from?: FunctionsRelease;
  transport?: string;
  health?: HealthWait;
  error?: string;
  timings: { deployMs: number; healthMs: number };
}

/**
 * Where the packages are kept: the sandbox's state directory (`.ops/local/dev/releases/functions`);
 * an environment whose backups go to Blob storage keeps them in that account, container
 * `functions-releases`, under the backup prefix (a fresh CI runner has no local state); otherwise
 * `<root>/.ops/deploy/<env>/releases/functions`, which lasts as long as that checkout.
 */
export function functionsReleaseStoreFor(target: OpsTarget, root: string): FunctionsReleaseStore {
  if (target.local) {
    if (!target.localDir) throw new Error('the sandbox target has no state directory (localDir)');
    return localFunctionsReleaseStore(join(target.localDir, 'releases', 'functions'));
  }
  const backup = target.config.backup;
  if (backup?.store === 'blob' && backup.connectionStringEnv) {
    let serviceClient: BlobServiceClient;
    try {
      serviceClient = BlobServiceClient.fromConnectionString(target.secrets.read(backup.connectionStringEnv));
    } catch (error) {
      if (error instanceof MissingSecretError) throw error;
      throw new Error(`${backup.connectionStringEnv} is not a storage connection string`);
    }
    return blobFunctionsReleaseStore({ serviceClient, prefix: backup.prefix });
  }
  return localFunctionsReleaseStore(join(root, '.ops', 'deploy', target.name, 'releases', 'functions'));
}

/** How a stage's result is closed: summary and error redacted, timed, logged; a thrown error as its first line. */
function finisher<R extends { status: string; summary: string; error?: string; ms: number }>(
  result: R,
  ctx: { redact: (text: string) => string; now: () => number; started: number; log: (line: string) => void },
) {
  const finish = (status: R['status'], summary: string, error?: string): R => {
    result.status = status;
    result.summary = ctx.redact(summary);
    if (error) result.error = ctx.redact(error);
    result.ms = ctx.now() - ctx.started;
    ctx.log(result.summary);
    return result;
  };
  const fail = (what: string, error: unknown): R => {
    const message = `${what}: ${(error as Error).message}`;
    return finish('failure' as R['status'], message.split('\n')[0]!, message);
  };
  return { finish, fail };
}

export async function runFunctionsStage(options: FunctionsStageOptions): Promise<FunctionsStageResult> {
  const started = (options.now ?? Date.now)();
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => undefined);
  const redact = (text: string) => options.target.secrets.redact(text);
  const result: FunctionsStageResult = {
    stage: 'functions',
    status: 'failure',
    summary: '',
    ms: 0,
    before: null,
    after: null,
    unchanged: false,
    deployed: false,
    timings: { buildMs: 0, deployMs: 0, healthMs: 0 },
  };
  const { finish, fail } = finisher(result, { redact, now, started, log });

  let transport: FunctionsTransport;
  let store: FunctionsReleaseStore;
  let healthUrl: string;
  let settingsClient: AppSettingsClient | null;
  let owned: OwnedSettings[];
  try {
    transport =
      options.transport ??
      functionsTransportFor(options.target, { credential: options.credential, commitSha: options.commitSha });
    store = options.store ?? functionsReleaseStoreFor(options.target, options.root);
    healthUrl = options.healthUrl ?? ingestHealthUrl(options.target);
    // Read now (a missing secret fails the stage before anything is built or changed).
    owned = ownedAppSettings(options.target);
    settingsClient =
      options.appSettings !== undefined
        ? options.appSettings
        : owned.length
          ? appSettingsClientFor(options.target, { credential: options.credential })
          : null;
  } catch (error) {
    return fail('functions', error);
  }
  result.transport = transport.description;
  result.store = store.description;
  const waitOptions = defaultsFor(options.target, options);

  let pkg: BuiltFunctionsPackage;
  let t = now();
  try {
    log(`building the package for ${options.commitSha.slice(0, 7)}`);
    pkg = await (options.buildPackage ?? npmBuildFunctionsPackage)({
      root: options.root,
      commitSha: options.commitSha,
      outDir: options.outDir ?? join(options.root, '.ops', 'build', 'functions'),
    });
  } catch (error) {
    result.timings.buildMs = now() - t;
    return fail('building the functions package', error);
  }
  result.timings.buildMs = now() - t;
  result.package = pkg;
  log(`package ${pkg.sha256.slice(0, 12)} (${pkg.bytes} bytes): ${pkg.functions.join(', ')}`);

  let latest: FunctionsRelease | null;
  try {
    latest = await store.latest();
  } catch (error) {
    return fail('reading the release store', error);
  }
  const before = await waitOptions.readHealth(healthUrl);
  result.before = versionOf(before, latest);
  log(
    before.reachable
      ? `before: /health reports ${before.version ?? 'no version'} (${before.status ?? before.httpStatus})`
      : `before: /health unreachable (${before.error}); deploying anyway`,
  );
  // The settings first: the new package starts with them, and an unchanged package still gets them.
  if (settingsClient && owned.length) {
    try {
      result.appSettings = [];
      for (const group of owned) result.appSettings.push(await syncAppSettings(settingsClient, group, log));
    } catch (error) {
      return fail('writing the Function App settings (nothing deployed)', error);
    }
  } else if (!options.target.local && !owned.length)
    log('app settings: the environment YAML owns none (no archive section): left as they are');
  const settingsChanged = (result.appSettings ?? []).filter((s) => !s.unchanged);
  if (before.version === pkg.commitSha && latest?.sha256 === pkg.sha256) {
    result.unchanged = true;
    result.after = result.before;
    const running = `${pkg.commitSha.slice(0, 7)} (package ${pkg.sha256.slice(0, 12)}) already runs`;
    return settingsChanged.length
      ? finish(
          'success',
          `${settingsChanged.map((s) => s.summary).join('; ')}; package unchanged: ${running}`,
        )
      : finish('skipped', `unchanged: ${running}`);
  }

  t = now();
  try {
    log(`deploying through ${transport.description}`);
    await transport.deploy(pkg.path, (line) => log(redact(line)));
  } catch (error) {
    result.timings.deployMs = now() - t;
    return fail('deploying the package', error);
  }
  result.timings.deployMs = now() - t;
  try {
    await store.put(pkg.path, {
      commitSha: pkg.commitSha,
      sha256: pkg.sha256,
      bytes: pkg.bytes,
      functions: pkg.functions,
    });
    result.deployed = true;
  } catch (error) {
    return fail('keeping the package in the release store (it is deployed)', error);
  }

  t = now();
  const wait = await waitForVersion(healthUrl, pkg.commitSha, waitOptions, log);
  result.timings.healthMs = now() - t;
  result.health = wait;
  result.after = wait.reached
    ? { commit: pkg.commitSha, sha256: pkg.sha256 }
    : wait.reading.reachable
      ? { commit: wait.reading.version, sha256: null }
      : null;
  if (!wait.reached)
    return finish(
      'failure',
      `deployed, but /health ${describe(wait.reading)} after ${Math.round(wait.waitedMs / 1000)} s, not ${pkg.commitSha.slice(0, 7)}`,
    );
  const from = result.before?.commit ? result.before.commit.slice(0, 7) : 'unknown';
  return finish(
    'success',
    `${from} -> ${pkg.commitSha.slice(0, 7)}: /health reports it${wait.reading.status && wait.reading.status !== 'ok' ? ` (status ${wait.reading.status})` : ''}` +
      settingsChanged.map((s) => `; ${s.summary}`).join(''),
  );
}

export async function rollbackFunctions(options: FunctionsRollbackOptions): Promise<FunctionsRollbackResult> {
  const now = options.now ?? Date.now;
  const started = now();
  const log = options.log ?? (() => undefined);
  const redact = (text: string) => options.target.secrets.redact(text);
  const result: FunctionsRollbackResult = {
    stage: 'functions',
    status: 'failure',
    summary: '',
    ms: 0,
    before: null,
    after: null,
    timings: { deployMs: 0, healthMs: 0 },
  };
  const { finish, fail } = finisher(result, { redact, now, started, log });

  let transport: FunctionsTransport;
  let store: FunctionsReleaseStore;
  let healthUrl: string;
  let latest: FunctionsRelease | null;
  let previous: FunctionsRelease | null;
  try {
    store = options.store ?? functionsReleaseStoreFor(options.target, options.root ?? process.cwd());
    latest = await store.latest();
    previous = await store.previous();
    healthUrl = options.healthUrl ?? ingestHealthUrl(options.target);
  } catch (error) {
    return fail('functions rollback', error);
  }
  if (!latest || !previous)
    return finish('failure', `no previous functions release in ${store.description} to roll back to`);
  if (options.expectLatestSha256 && latest.sha256 !== options.expectLatestSha256)
    return finish(
      'failure',
      `the newest release is ${latest.sha256.slice(0, 12)}, not the deployed ${options.expectLatestSha256.slice(0, 12)}: nothing rolled back`,
    );
  result.from = latest;
  result.release = previous;
  try {
    transport =
      options.transport ??
      functionsTransportFor(options.target, {
        credential: options.credential,
        commitSha: previous.commitSha,
      });
  } catch (error) {
    return fail('functions rollback', error);
  }
  result.transport = transport.description;
  const waitOptions = defaultsFor(options.target, options);
  const before = await waitOptions.readHealth(healthUrl);
  result.before = versionOf(before, latest);

  const work = options.workDir ?? (await mkdtemp(join(tmpdir(), 'functions-rollback-')));
  const zip = join(work, `functions-${previous.commitSha}.zip`);
  let t = now();
  try {
    await store.download(previous.sha256, zip);
    log(
      `rolling back to ${previous.commitSha.slice(0, 7)} (package ${previous.sha256.slice(0, 12)}) through ${transport.description}`,
    );
    await transport.deploy(zip, (line) => log(redact(line)));
  } catch (error) {
    result.timings.deployMs = now() - t;
    return fail('deploying the previous package', error);
  } finally {
    if (!options.workDir) await rm(work, { recursive: true, force: true });
  }
  result.timings.deployMs = now() - t;

  t = now();
  const wait = await waitForVersion(healthUrl, previous.commitSha, waitOptions, log);
  result.timings.healthMs = now() - t;
  result.health = wait;
  result.after = wait.reached
    ? { commit: previous.commitSha, sha256: previous.sha256 }
    : wait.reading.reachable
      ? { commit: wait.reading.version, sha256: null }
      : null;
  if (!wait.reached)
    return finish(
      'failure',
      `the previous package is deployed, but /health ${describe(wait.reading)} after ${Math.round(wait.waitedMs / 1000)} s, not ${previous.commitSha.slice(0, 7)}`,
    );
  try {
    await store.rollback();
  } catch (error) {
    return fail(`rolled back to ${previous.commitSha.slice(0, 7)}, but the release store`, error);
  }
  return finish(
    'success',
    `rolled back ${latest.commitSha.slice(0, 7)} -> ${previous.commitSha.slice(0, 7)}: /health reports it`,
  );
}

/** Polls /health until it reports `commit`, at most `healthTimeoutMs`; a line when the reading changes. */
export async function waitForVersion(
  url: string,
  commit: string,
  options: Required<WaitOptions>,
  log: (line: string) => void,
): Promise<HealthWait> {
  const started = options.now();
  let polls = 0;
  let last = '';
  for (;;) {
    const reading = await options.readHealth(url);
    polls++;
    const waitedMs = options.now() - started;
    if (reading.version === commit) {
      log(`/health reports ${commit.slice(0, 7)} after ${(waitedMs / 1000).toFixed(1)} s`);
      return { url, reading, reached: true, waitedMs, polls };
    }
    const said = describe(reading);
    if (said !== last) log(`waiting for /health to report ${commit.slice(0, 7)}: it ${said}`);
    last = said;
    if (waitedMs >= options.healthTimeoutMs) return { url, reading, reached: false, waitedMs, polls };
    await options.sleep(Math.min(options.healthIntervalMs, options.healthTimeoutMs - waitedMs));
  }
}

function describe(r: HealthReading): string {
  if (!r.reachable) return `is unreachable (${r.error ?? 'no answer'})`;
  return `reports ${r.version ?? 'no version'} (HTTP ${r.httpStatus}${r.status ? `, ${r.status}` : ''})`;
}

function versionOf(reading: HealthReading, latest: FunctionsRelease | null): FunctionsVersion | null {
  if (!reading.reachable) return null;
  return {
    commit: reading.version,
    sha256: latest && reading.version && latest.commitSha === reading.version ? latest.sha256 : null,
  };
}

/** The sandbox swaps in about a second; an Azure app may take minutes to pick a package up. */
function defaultsFor(target: OpsTarget, o: WaitOptions): Required<WaitOptions> {
  return {
    readHealth: o.readHealth ?? ((url) => fetchHealth(url)),
    healthTimeoutMs: o.healthTimeoutMs ?? (target.local ? 60_000 : 600_000),
    healthIntervalMs: o.healthIntervalMs ?? (target.local ? 250 : 10_000),
    sleep: o.sleep ?? ((ms) => new Promise<void>((r) => setTimeout(r, ms))),
    now: o.now ?? Date.now,
  };
}
