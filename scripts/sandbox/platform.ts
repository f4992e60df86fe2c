/**
 * The whole platform on one machine: database (migrated, seeded), broker, the functions behind the
 * local host, the bridge, the alert engine's timer, a webhook receiver for alert notifications.
 * `npm start` and `npm run dev` both build on this; it writes the env file (common/local-env.ts)
 * with the owner record, and marks it stopped when stopped.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { startBridge, createJsonLogger, type Bridge } from '../../bridge/index.js';
import {
  markLocalEnvStopped,
  writeLocalEnv,
  type LocalEnv,
  type SandboxOwner,
} from '../../common/local-env.js';
import { HEALTH_ROUTE } from '../../common/ingest-protocol.js';
import { probeTopic } from '../../common/topics.js';
import { freePort } from '../../test/support/free-port.js';
import { lazyMqttPublisher, runAlertsTick } from '../../functions/src/alerts/index.js';
import { createIngestWithAlerts } from '../../functions/src/app-context.js';
import { probeChecks } from '../../functions/src/probe/probe-settings.js';
import { runUptimeProbe } from '../../functions/src/probe/run-probe.js';
import type { IngestService } from '../../functions/src/ingest/ingest-service.js';
import { startLocalFunctionsHost, type LocalHost } from '../../functions/src/local-host.js';
import { LatencyRecorder } from '../lib/latency.js';
import { startWebhookReceiver, type WebhookReceiver } from '../lib/webhook-receiver.js';
import { provideBroker, type SandboxBroker } from './broker.js';
import { provideDatabase, type SandboxDatabase } from './database.js';
import { seedSandbox, type SeedResult } from './seed.js';
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
  /** Admin URL of the local PostgreSQL the run's database is created on (tests). */
  databaseAdminUrl?: string;
}

export interface Platform {
  env: LocalEnv;
  seed: SeedResult;
  pool: pg.Pool;
  ingest: IngestService;
  bridge: Bridge;
  broker: SandboxBroker;
  database: SandboxDatabase;
  host: LocalHost;
  webhook: WebhookReceiver;
  latency: LatencyRecorder;
  /** Runs the alert timer's work now (no-data + outbox delivery). */
  alertsTick(): Promise<void>;
  stop(): Promise<void>;
}

const STOP_TIMEOUT_MS = 10_000;

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
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
    await rm(options.dir, { recursive: true, force: true });
    await mkdir(options.dir, { recursive: true });
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

    const broker = await provideBroker({
      url: options.mqttUrl,
      users: seed.brokerUsers,
      dir: join(options.dir, 'broker'),
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
    const host = await startLocalFunctionsHost({ pool, ingest, functionKey });
    onStop('functions host', () => host.close());
    log(`functions: ${host.url} (mqtt_ingest, health)`);

    const statusFile = join(options.dir, 'bridge-status.json');
    const bridge = await startBridge(
      {
        mqttUrl: broker.url,
        mqttUsername: seed.service.bridge.username,
        mqttPassword: seed.service.bridge.password,
        // A reserved name: no device key can equal it (docs/broker.md, "Client ids").
        clientId: 'bridge-sandbox',
        protocolVersion: broker.protocolVersion,
        sharedSubscription: broker.sharedSubscriptions,
        ingestUrl: host.ingestUrl,
        ingestKey: functionKey,
        journalDir: join(options.dir, 'bridge-journal'),
        healthPort: await freePort(),
        statusFile,
        statusIntervalMs: 1_000,
      },
      { logger: createJsonLogger('warn') },
    );
    onStop('bridge', () => bridge.stop());
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
      ingest: { url: host.ingestUrl, key: functionKey, healthUrl: `${host.url}${HEALTH_ROUTE}` },
      bridge: {
        healthUrl: bridge.healthPort ? `http://127.0.0.1:${bridge.healthPort}/health` : null,
        statusFile,
      },
      users: seed.users,
      auth: { jwtSecret },
      webhook: { url: webhook.url },
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
