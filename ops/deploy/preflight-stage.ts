/**
 * The preflight stage (issue 9, 1.2): before anything changes, for the stages this deploy runs,
 * 1. every secret and setting they read is present and not a placeholder (the same recording
 *    exercise every ops command runs first, config/preflight.ts), else the deploy is refused by
 *    name;
 * 2. each target answers: the database (a `select 1`), the Function App (its health endpoint
 *    answers HTTP at all), the VM's SSH port (an SSH banner), else the deploy fails before it starts;
 * 3. the health before the deploy: one run of the smoke test's cadence (no retries). Deploying
 *    onto an already failing system is allowed and said in the report; the smoke test after the
 *    deploy is judged against it (smoke.ts `judgeAgainstBefore`).
 */
import { connect as tcpConnect } from 'node:net';
import pg from 'pg';
import { backupStoreFor } from '../checks/shared-sources.js';
import { planCadence } from '../cadences.js';
import { preflightFindings, type PreflightFindings } from '../config/preflight.js';
import {
  databaseUrl,
  ingestHealthUrl,
  NotConfiguredError,
  required,
  type OpsTarget,
} from '../config/ops-target.js';
import type { RunbookConfig } from '../config/runbook-config.js';
import { ownedAppSettings } from './function-app-settings.js';
import { CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN } from './pages-stage.js';
import { SMOKE_CADENCE, type HealthBefore } from './smoke.js';

export type { HealthBefore } from './smoke.js';

/** The stages a preflight looks ahead to: those the plan runs, and smoke when asked. */
export type PreflightStage = 'database' | 'functions' | 'vm' | 'pages' | 'smoke';

export interface Reachability {
  stage: PreflightStage;
  what: string;
  ok: boolean;
  detail: string;
  ms: number;
}

export interface PreflightStageResult {
  status: 'success' | 'refused' | 'failure';
  summary: string;
  ms: number;
  missingSecrets: string[];
  placeholders: PreflightFindings['placeholders'];
  reachability: Reachability[];
  /** Null when not measured (no smoke test in this deploy, or preflight stopped before it). */
  healthBefore: HealthBefore | null;
  /** Why the health before could not be measured, when it could not. */
  healthNote?: string;
}

export interface PreflightProbes {
  /** `select 1` on the database; resolves with a detail line, rejects when it does not answer. */
  database(url: string, timeoutMs: number): Promise<string>;
  /** Any HTTP answer from `url`; resolves with the status line. */
  http(url: string, timeoutMs: number): Promise<string>;
  /** A TCP connection that greets with an SSH banner; resolves with the banner. */
  ssh(host: string, port: number, timeoutMs: number): Promise<string>;
  /**
   * Azure as the functions stage signs in to it: a token and the environment's subscription active
   * (ops/preflight/azure-access.ts `azurePreflightProbe`, which the deploy command passes).
   */
  azure?(target: OpsTarget, timeoutMs: number): Promise<string>;
}

export interface PreflightStageOptions {
  target: OpsTarget;
  stages: readonly PreflightStage[];
  runbook?: RunbookConfig;
  /** One run of the smoke cadence against the environment as it is now. */
  healthBefore?: () => Promise<HealthBefore>;
  probes?: Partial<PreflightProbes>;
  timeoutMs?: number;
  log: (line: string) => void;
}

/**
 * What the given stages read from the environment: the exercise of config/preflight.ts, so a
 * missing secret is named before anything runs. Each stage module reads the same settings.
 */
export function exerciseStages(
  target: OpsTarget,
  stages: readonly PreflightStage[],
  runbook?: RunbookConfig,
): void | Promise<void> {
  if (stages.includes('database')) {
    databaseUrl(target);
    backupStoreFor(target);
  }
  if (stages.includes('functions')) {
    ingestHealthUrl(target);
    if (!target.local) {
      required(target, 'deploy.functions (the Function App plan)', target.config.deploy?.functions);
      required(target, 'azure.functionApp', target.config.azure?.functionApp);
      // The settings the deploy writes to the app (the archive's storage connection string).
      ownedAppSettings(target);
    }
  }
  if (stages.includes('vm') && !target.local) {
    const ssh = required(target, 'ssh (the VM the deploy configures)', target.config.ssh);
    const vm = required(target, 'deploy.vm (the Ansible inventory)', target.config.deploy?.vm);
    target.secrets.read(ssh.privateKeyEnv);
    target.secrets.read(vm.knownHostsEnv);
    // With infra, Ansible logs in as the VM's admin (vm-stage.ts, adminLogin).
    if (target.config.infra)
      target.secrets.read(required(target, 'deploy.vm.adminPrivateKeyEnv', vm.adminPrivateKeyEnv));
    // What the roles are given (vm-stage.ts): the bridge's ingest key and the broker's service users.
    target.secrets.read(required(target, 'deploy.vm.ingestKeyEnv', vm.ingestKeyEnv));
    const users = required(target, 'deploy.vm.serviceUsers', vm.serviceUsers);
    if (!users.some((u) => u.role === 'bridge'))
      throw new NotConfiguredError('deploy.vm.serviceUsers bridge user', target.name);
    for (const u of users) {
      target.secrets.read(u.usernameEnv);
      target.secrets.read(u.passwordEnv);
    }
    // Read so that a placeholder host is named (the recording exercise sees settings read).
    void ssh.host;
    // What the system roles are given (vmSystemVars): sshd's AllowUsers and ufw's SSH ranges. A
    // placeholder range (a documentation address) or admin name would lock the admins out of the
    // VM the moment ufw or sshd applies it, so a placeholder here refuses the deploy by name.
    const infra = target.config.infra;
    if (infra) {
      void infra.vm.adminUsername;
      for (const range of infra.network.adminAddressRanges) void range;
      if (infra.reverseProxy?.enabled) {
        void infra.reverseProxy.domain;
        void infra.reverseProxy.acmeEmail;
      }
    }
  }
  if (stages.includes('pages') && !target.local) {
    // What pages-stage.ts reads: wrangler's token and account, the anon key built into the dashboard.
    const pages = required(
      target,
      'deploy.pages (the Cloudflare Pages project)',
      target.config.deploy?.pages,
    );
    target.secrets.read(CLOUDFLARE_API_TOKEN);
    target.secrets.read(CLOUDFLARE_ACCOUNT_ID);
    target.secrets.read(pages.anonKeyEnv);
    // Read so that a placeholder project or Supabase URL is named.
    void pages.project;
    void pages.supabaseUrl;
  }
  if (stages.includes('smoke') && runbook) return planCadence(SMOKE_CADENCE, target, runbook).close();
}

export async function runPreflightStage(options: PreflightStageOptions): Promise<PreflightStageResult> {
  const started = Date.now();
  const { target, stages, log } = options;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const result: PreflightStageResult = {
    status: 'success',
    summary: '',
    ms: 0,
    missingSecrets: [],
    placeholders: [],
    reachability: [],
    healthBefore: null,
  };
  const done = (status: PreflightStageResult['status'], summary: string) => {
    result.status = status;
    result.summary = summary;
    result.ms = Date.now() - started;
    return result;
  };

  let notConfigured: string | undefined;
  const findings = await preflightFindings(target, async (t) => {
    try {
      await exerciseStages(t, stages, options.runbook);
    } catch (error) {
      if (error instanceof NotConfiguredError) notConfigured ??= error.message;
      throw error;
    }
  });
  result.missingSecrets = findings.missingSecrets;
  result.placeholders = findings.placeholders;
  const problems: string[] = [];
  if (notConfigured) problems.push(notConfigured);
  if (findings.missingSecrets.length) problems.push(`missing secrets ${findings.missingSecrets.join(', ')}`);
  if (findings.placeholders.length)
    problems.push(
      `placeholders in runbook/environments/${target.name}.yaml: ${findings.placeholders.map((p) => `${p.path}=${p.value}`).join(', ')}`,
    );
  if (problems.length) {
    for (const p of problems) log(p);
    return done('refused', `not ready, nothing deployed: ${problems.join('; ')}`);
  }
  log(`settings and secrets present for ${stages.join(', ') || 'nothing'}`);

  const probes: PreflightProbes = { ...defaultProbes, ...options.probes };
  const reach = async (stage: PreflightStage, what: string, probe: () => Promise<string>) => {
    const t0 = Date.now();
    let entry: Reachability;
    try {
      entry = { stage, what, ok: true, detail: await probe(), ms: Date.now() - t0 };
    } catch (error) {
      entry = {
        stage,
        what,
        ok: false,
        detail: target.secrets.redact((error as Error).message),
        ms: Date.now() - t0,
      };
    }
    result.reachability.push(entry);
    log(`${what}: ${entry.ok ? 'reachable' : 'NOT reachable'} (${entry.detail}, ${entry.ms} ms)`);
  };
  if (stages.includes('database'))
    await reach('database', 'database', () => probes.database(databaseUrl(target), timeoutMs));
  if (stages.includes('functions'))
    await reach('functions', 'function app', () => probes.http(ingestHealthUrl(target), timeoutMs));
  if (stages.includes('functions') && !target.local && target.config.azure && probes.azure)
    await reach('functions', 'azure', () => probes.azure!(target, timeoutMs));
  if (stages.includes('vm') && !target.local) {
    const ssh = target.config.ssh!;
    await reach('vm', `ssh ${ssh.host}:${ssh.port}`, () => probes.ssh(ssh.host, ssh.port, timeoutMs));
  }
  const unreachable = result.reachability.filter((r) => !r.ok);
  if (unreachable.length)
    return done(
      'failure',
      `unreachable, nothing deployed: ${unreachable.map((r) => `${r.what} (${r.detail})`).join('; ')}`,
    );

  if (stages.includes('smoke') && options.healthBefore) {
    try {
      result.healthBefore = await options.healthBefore();
      const h = result.healthBefore;
      log(`health before: ${h.verdict}${h.failing.length ? ` (${h.failing.join(', ')} failing)` : ''}`);
    } catch (error) {
      result.healthNote = `not measured: ${target.secrets.redact((error as Error).message)}`;
      log(`health before: ${result.healthNote}`);
    }
  } else result.healthNote = 'not measured: no smoke test in this deploy';

  const reached = result.reachability.map((r) => r.what);
  const h = result.healthBefore;
  const health = h
    ? h.failing.length
      ? `; already failing before the deploy: ${h.failing.join(', ')}`
      : `; health before: ${h.verdict}`
    : '';
  return done('success', `ready${reached.length ? `: ${reached.join(', ')} reachable` : ''}${health}`);
}

const defaultProbes: PreflightProbes = {
  async database(url, timeoutMs) {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      const { rows } = await client.query<{ v: string }>('select current_setting($1) as v', [
        'server_version',
      ]);
      return `PostgreSQL ${rows[0]!.v}`;
    } finally {
      await client.end().catch(() => {});
    }
  },
  async http(url, timeoutMs) {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await response.body?.cancel();
    return `HTTP ${response.status}`;
  },
  ssh(host, port, timeoutMs) {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect({ host, port });
      let banner = '';
      const finish = (error?: Error) => {
        clearTimeout(timer);
        socket.destroy();
        if (error) reject(error);
        else resolve(banner);
      };
      const timer = setTimeout(() => finish(new Error(`no SSH banner in ${timeoutMs} ms`)), timeoutMs);
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        banner += chunk;
        const line = banner.split(/\r?\n/)[0]!;
        if (banner.includes('\n') || banner.length > 255) {
          banner = line.slice(0, 100);
          finish(
            line.startsWith('SSH-') ? undefined : new Error(`not an SSH server: ${JSON.stringify(banner)}`),
          );
        }
      });
      socket.on('error', (error) => finish(error));
      socket.on('close', () => finish(new Error('closed before an SSH banner')));
    });
  },
};
