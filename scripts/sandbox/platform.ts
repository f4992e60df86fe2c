/**
 * The whole platform on one machine: database (migrated, seeded), broker, the functions behind the
 * local host, the bridge, the alert engine's timer, a webhook receiver for alert notifications.
 * `npm start` and `npm run dev` both build on this; it writes the env file (common/local-env.ts)
 * with the owner record, and marks it stopped when stopped.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import pg from 'pg';
import { bundleBridge } from '../../bridge/bundle.js';
import { DEFAULT_OPTIONS as BRIDGE_DEFAULTS } from '../../bridge/options.js';
import {
  markLocalEnvStopped,
  writeLocalEnv,
  type LocalEnv,
  type SandboxOwner,
} from '../../common/local-env.js';
import { probeTopic } from '../../common/topics.js';
import { freePort } from '../../test/support/free-port.js';
import { lazyMqttPublisher, runAlertsTick } from '../../functions/src/alerts/index.js';
import { createIngestWithAlerts } from '../../functions/src/app-context.js';
import { probeChecks } from '../../functions/src/probe/probe-settings.js';
import { runUptimeProbe } from '../../functions/src/probe/run-probe.js';
import type { IngestService } from '../../functions/src/ingest/ingest-service.js';
import { LatencyRecorder } from '../lib/latency.js';
import { startWebhookReceiver, type WebhookReceiver } from '../lib/webhook-receiver.js';
import { installBridgeRelease, startBridgeService, type BridgeService } from './bridge-service.js';
import { provideBroker, type SandboxBroker } from './broker.js';
import { provideDatabase, type SandboxDatabase } from './database.js';
import { startSandboxFunctions, type SandboxFunctionsHost } from './functions-deploy.js';
import { seedSandbox, type SeedResult } from './seed.js';
import { startSupabaseStandin } from './supabase-standin.js';
import { serveDist } from './dashboard-server.js';
import { buildDashboard } from '../lib/build-dashboard.js';
import { lockStateDir } from './state-lock.js';

export interface PlatformOptions {
  /** Who runs it (common/local-env.ts currentOwner): names its database, goes into the env file. */
  owner: SandboxOwner;
  /** Working directory for broker files, the bridge journal, status files: wiped at start. */
  dir: string;
  databaseUrl?: string;
  mqttUrl?: string;
  /** The env file; its directory is the run's state directory, locked while it runs. */
  envPath: string;
  log: (line: string) => void;
  /** Alert timer period (no-data rules, outbox delivery). */
  alertsTickMs?: number;
  /** Uptime probe period (the Functions timer runs it every minute). */
  probeTickMs?: number;
  /** Use the embedded fallbacks (PGlite, aedes) even where PostgreSQL / Mosquitto are installed. */
  embedded?: boolean;
  /** Build the dashboard and serve it against the Supabase stand-in (npm run dev). */
  dashboard?: boolean;
  /** Admin URL of the local PostgreSQL the run's database is created on (tests). */
  databaseAdminUrl?: string;
  /**
   * The bridge's latency budget (BRIDGE_LINGER_MS, docs/bridge.md "Latency budget"). Default: the
   * production default (1 s), so the sandbox batches as the VM does; tests that wait for data pass
   * a short one (test/support/sandbox.ts).
   */
  bridgeLingerMs?: number;
}

export interface Platform {
  env: LocalEnv;
  seed: SeedResult;
  pool: pg.Pool;
  ingest: IngestService;
  /** The bridge process from <dir>/vm/opt/mqtt-bridge/current under its supervisor (bridge-service.ts). */
  bridge: BridgeService;
  broker: SandboxBroker;
  database: SandboxDatabase;
  /** The Functions endpoint: the sources in-process, or a package deployed to it (functions-deploy.ts). */
  host: SandboxFunctionsHost;
  webhook: WebhookReceiver;
  latency: LatencyRecorder;
  /** Runs the alert timer's work now (no-data + outbox delivery). */
  alertsTick(): Promise<void>;
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 10_000;

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  // Absolute: the paths go into env.json and to processes and Ansible tasks with other working
  // directories (npm run dev passes .ops/local/dev/run).
  const dir = resolve(options.dir);
  const { log, owner, envPath } = options;
  // Before anything is wiped: a sandbox still running from this state directory keeps it.
  const lock = await lockStateDir(dirname(envPath), owner);
  const stack: { name: string; stop: () => Promise<void> }[] = [];
  const onStop = (name: string, stop: () => Promise<void>) => stack.push({ name, stop });
  onStop('state lock', () => lock.release());
  // Each part gets STOP_TIMEOUT_MS; one that hangs is reported and left behind, not waited on.
  const stopAll = async () => {
    // First, so the ops tools stop checking a sandbox that is going away.
    await markLocalEnvStopped(envPath, owner.runId).catch((e: Error) => log(`env file: ${e.message}`));
    for (const { name, stop } of stack.splice(0).reverse()) {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>(
        (resolve) => (timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS)),
      );
      const outcome = await Promise.race([
        stop().catch((e: Error) => log(`stop ${name}: ${e.message}`)),
        timedOut,
      ]);
      clearTimeout(timer);
      if (outcome === 'timeout') log(`stop ${name}: no answer after ${STOP_TIMEOUT_MS / 1000} s, going on`);
    }
  };
  try {
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const database = await provideDatabase({
      url: options.databaseUrl,
      owner,
      log,
      embedded: options.embedded,
      adminUrl: options.databaseAdminUrl,
    });
    onStop('database', () => database.stop());
    const pool = new pg.Pool({ connectionString: database.url, max: database.poolMax });
    pool.on('error', (e) => log(`database pool: ${e.message}`));
    onStop('database pool', () => pool.end());

    const webhook = await startWebhookReceiver();
    onStop('webhook receiver', () => webhook.close());
    const jwtSecret = randomBytes(32).toString('base64url');
    const seed = await seedSandbox(pool, {
      jwtSecret,
      webhookUrl: webhook.url,
      now: Date.now(),
      tenantRatePerSecond: 5_000,
    });
    log(
      `seed: ${seed.tenants.length} tenants, ${seed.devices.length} devices + probe, ${seed.users.length} users`,
    );

    // Supabase's Auth and data API cannot run here: the local stand-in, RLS enforced by Postgres.
    const supabase = await startSupabaseStandin({ pool, jwtSecret });
    onStop('supabase stand-in', () => supabase.close());
    log(`supabase (local stand-in): ${supabase.url}`);
    let dashboardUrl: string | undefined;
    if (options.dashboard) {
      const distDir = join(dir, 'dashboard');
      log('dashboard: building (vite)');
      await buildDashboard(distDir);
      const server = await serveDist(distDir, {
        supabaseUrl: supabase.url,
        supabaseAnonKey: supabase.anonKey,
      });
      onStop('dashboard', () => server.close());
      dashboardUrl = server.url;
    }

    const broker = await provideBroker({
      url: options.mqttUrl,
      users: seed.brokerUsers,
      dir: join(dir, 'broker'),
      log,
      embedded: options.embedded,
    });
    onStop('broker', () => broker.stop());

    // Over the device listener, as the Functions app connects in production (client id = username).
    const alertsPublisher = lazyMqttPublisher(broker.deviceUrl, {
      username: seed.service.alerts.username,
      password: seed.service.alerts.password,
      clientId: `svc-alerts-${process.pid}`,
      protocolVersion: broker.protocolVersion,
      ...(broker.ca ? { ca: broker.ca } : {}),
    });
    onStop('alerts publisher', () => alertsPublisher.close());
    const latency = new LatencyRecorder();
    const ingest = createIngestWithAlerts(pool, {
      observe: (rows) => latency.record(rows.map((r) => r.ts.getTime())),
      onError: (what, e) => log(`${what}: ${(e as Error).message}`),
    });
    const functionKey = randomBytes(24).toString('base64url');
    // Served from the sources until `ops deploy --env local` publishes a package to the deploy
    // endpoint; then from that package, in a worker of its own, on the same port.
    const functions = await startSandboxFunctions({
      pool,
      ingest,
      functionKey,
      dir: join(dir, 'functions'),
      settings: {
        DATABASE_URL: database.url,
        DATABASE_POOL_MAX: '4',
        ALERTS_MQTT_URL: broker.deviceUrl,
        ALERTS_MQTT_USERNAME: seed.service.alerts.username,
        ALERTS_MQTT_PASSWORD: seed.service.alerts.password,
        ...(broker.ca ? { ALERTS_MQTT_CA_PEM: broker.ca } : {}),
        ALERTS_WEBHOOK_ALLOW_PRIVATE: '1',
        PROBE_MQTT_LISTENERS: [
          `mqtt=${broker.url}`,
          ...(broker.wsUrl ? [`websocket=${broker.wsUrl}`] : []),
        ].join(','),
        PROBE_MQTT_USERNAME: seed.service.uptimeTimer.username,
        PROBE_MQTT_PASSWORD: seed.service.uptimeTimer.password,
      },
      log,
    });
    onStop('functions host', () => functions.close());
    const host = functions.host;
    log(`functions: ${host.url} (mqtt_ingest, health); deploy endpoint ${functions.deploy.url}`);

    // The bridge as on the VM: a bundle in a release directory, its own process run from the
    // `current` symlink and restarted when it exits; `ops deploy --env local` (the vm stage)
    // installs new releases there with Ansible (LocalEnv.vm).
    const statusFile = join(dir, 'bridge-status.json');
    const vmRoot = join(dir, 'vm');
    const bridgeHealthPort = await freePort();
    const bridgeSettings: Record<string, string> = {
      BRIDGE_MQTT_URL: broker.url,
      BRIDGE_MQTT_USERNAME: seed.service.bridge.username,
      BRIDGE_MQTT_PASSWORD: seed.service.bridge.password,
      // A reserved name: no device key can equal it (docs/broker.md, "Client ids").
      BRIDGE_MQTT_CLIENT_ID: 'bridge-sandbox',
      BRIDGE_MQTT_PROTOCOL_VERSION: String(broker.protocolVersion),
      BRIDGE_MQTT_SHARED: String(broker.sharedSubscriptions),
      BRIDGE_INGEST_URL: host.ingestUrl,
      BRIDGE_INGEST_KEY: functionKey,
      BRIDGE_HEALTH_PORT: String(bridgeHealthPort),
      BRIDGE_STATUS_FILE: statusFile,
      BRIDGE_STATUS_INTERVAL_MS: '1000',
      BRIDGE_LINGER_MS: String(options.bridgeLingerMs ?? BRIDGE_DEFAULTS.lingerMs),
      BRIDGE_LOG_LEVEL: 'info',
    };
    await installBridgeRelease({
      root: vmRoot,
      release: 'sandbox-start',
      bundle: await bundleBridge(join(dir, 'bridge-build')),
      settings: bridgeSettings,
    });
    const bridgePidFile = join(dir, 'bridge.pid');
    const bridge = await startBridgeService({
      root: vmRoot,
      pidFile: bridgePidFile,
      healthPort: bridgeHealthPort,
      log,
      reported: async () => {
        const { rowCount } = await pool.query(
          `select 1 from ops.bridge_status where bridge_id = 'bridge-sandbox'`,
        );
        return rowCount === 1;
      },
    });
    onStop('bridge', () => bridge.stop());
    let subscribeTimer: NodeJS.Timeout | undefined;
    await Promise.race([
      bridge.subscribed,
      new Promise((_, reject) => {
        subscribeTimer = setTimeout(
          () => reject(new Error('the bridge did not subscribe within 30 s (its log is above)')),
          30_000,
        );
      }),
    ]).finally(() => clearTimeout(subscribeTimer));
    log(`bridge: subscribed (${broker.sharedSubscriptions ? 'shared subscription' : 'plain subscription'})`);

    const alertsTick = async () => {
      await runAlertsTick(pool, {
        publishMqtt: alertsPublisher.publish,
        allowPrivateWebhookTargets: true,
        budgetMs: 2_000,
      });
    };
    let ticking = false;
    const timer = setInterval(() => {
      if (ticking) return;
      ticking = true;
      alertsTick()
        .catch((e: Error) => log(`alerts tick: ${e.message}`))
        .finally(() => (ticking = false));
    }, options.alertsTickMs ?? 2_000);
    onStop('alerts timer', async () => clearInterval(timer));

    const env: LocalEnv = {
      generatedAt: new Date().toISOString(),
      owner,
      services: { database: database.kind, broker: broker.kind },
      // No tlsUrl: the ops checks would probe it without trusting the sandbox's throwaway CA.
      mqtt: {
        url: broker.url,
        deviceUrl: broker.deviceUrl,
        ...(broker.ca ? { ca: broker.ca } : {}),
        wsUrl: broker.wsUrl,
      },
      devices: seed.devices.map(({ dbId: _d, tenantId: _t, ...device }) => device),
      probe: (({ dbId: _d, tenantId: _t, ...device }) => device)(seed.probe),
      db: { url: database.url },
      ingest: { url: host.ingestUrl, key: functionKey, healthUrl: host.healthUrl },
      functionsDeploy: functions.deploy,
      bridge: {
        healthUrl: `http://127.0.0.1:${bridge.healthPort}/health`,
        statusFile,
      },
      vm: { root: vmRoot, bridgePidFile, bridgeSettings },
      users: seed.users,
      auth: { jwtSecret },
      webhook: { url: webhook.url },
      supabase: { url: supabase.url, anonKey: supabase.anonKey },
      ...(dashboardUrl ? { dashboard: { url: dashboardUrl } } : {}),
      uptimeProbe: { ...seed.service.uptime, topic: probeTopic(seed.service.uptime.username) },
    };
    await writeLocalEnv(env, envPath);

    // The minute-level uptime probe, as the Functions timer runs it: its heartbeat is a go-live check.
    const probe = probeChecks(
      {
        listeners: [
          { name: 'mqtt', url: env.mqtt.url },
          ...(env.mqtt.wsUrl ? [{ name: 'websocket', url: env.mqtt.wsUrl }] : []),
        ],
        // Its own user: the ops CLI probes as seed.service.uptime (env.json uptimeProbe).
        ...seed.service.uptimeTimer,
        endpoints: [],
        healthUrl: env.ingest.healthUrl,
        protocolVersion: broker.protocolVersion,
      },
      { pool },
    );
    await bridge.firstReport; // the probe and the ops checks read what the bridge reported
    const probeTick = async () => {
      await runUptimeProbe({ pool, checks: probe, dispatch: null });
    };
    await probeTick();
    let probing = false;
    const probeTimer = setInterval(() => {
      if (probing) return;
      probing = true;
      probeTick()
        .catch((e: Error) => log(`uptime probe: ${e.message}`))
        .finally(() => (probing = false));
    }, options.probeTickMs ?? 60_000);
    onStop('uptime probe timer', async () => clearInterval(probeTimer));
    return {
      env,
      seed,
      pool,
      ingest,
      bridge,
      broker,
      database,
      host,
      webhook,
      latency,
      alertsTick,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
