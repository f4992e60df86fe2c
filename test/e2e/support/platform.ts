/**
 * The whole pipeline for end-to-end tests, every piece real and on loopback:
 *
 *   device (mqtt.js, own credentials) -> Mosquitto (the role's config, users + ACL from broker/)
 *   -> bridge (in this process through startBridge, or bridge/main.ts bundled as a child process)
 *   -> mqtt_ingest on the local Functions host (createIngestWithAlerts, as deployed)
 *   -> PostgreSQL (a fresh migrated database on the shared server, or a server of the test's own
 *      when the test restarts it)
 *
 * Seeded registry: tenants acme and globex on a plan with a large daily quota, and
 *   acme-1, acme-2 (acme), globex-1 (globex)  active devices, in the broker and the registry
 *   acme-off                                   disabled in the registry, still in the broker
 *   acme-ghost                                 in the broker only (unknown to the registry)
 *   acme-stale                                 acme's device whose broker ACL still names globex
 *                                              (a stale ACL: defence in depth for ingest)
 * and two service users: svc-bridge (the bridge) and svc-observer (reads all telemetry, a control
 * subscriber for the isolation test).
 *
 * Tenant rate limits are raised far above the test traffic: a backlog drained after an outage
 * arrives as a burst, and these tests count loss, not the rate limiter (tested in
 * functions/src/ingest). See the report of the e2e tests for what the default limit does there.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { BrokerIdentity } from '../../../broker/acl.js';
import { startMosquitto, type MosquittoBroker } from '../../support/mosquitto-process.js';
import { hashPassword } from '../../../broker/password-hash.js';
import type { BrokerUser } from '../../../broker/render-config.js';
import { createTestCa } from '../../support/test-ca.js';
import { createMemoryLogger, startBridge, type Bridge } from '../../../bridge/index.js';
import type { MemoryLogger } from '../../../bridge/log.js';
import { freePort } from '../../support/free-port.js';
import { TEST_LINGER_MS } from '../../support/bridge-harness.js';
import { HEALTH_ROUTE } from '../../../common/ingest-protocol.js';
import { createDevice, createTenant, setTenantRateLimit, upsertPlan } from '../../../common/provisioning.js';
import { telemetryTopic } from '../../../common/topics.js';
import { createIngestWithAlerts } from '../../../functions/src/app-context.js';
import { startLocalFunctionsHost, type LocalHost } from '../../../functions/src/local-host.js';
import { applyMigrations } from '../../../supabase/migrate.js';
import { createTestDatabase } from '../../support/database.js';
import { startOwnPostgres, type OwnPostgres } from '../../support/own-postgres.js';
import { bundleBridge, spawnBridge, type BridgeChild } from './bridge-child.js';
import { connectDevice, endAllDevices, type Device, type Stream } from './device.js';
import { waitFor } from './wait.js';

export const TENANTS = ['acme', 'globex'] as const;
export type TenantSlug = (typeof TENANTS)[number];

interface DeviceSpec {
  key: string;
  tenant: TenantSlug;
  registry: 'active' | 'disabled' | 'absent';
  /** Tenant the broker ACL names (default: tenant). */
  aclTenant?: TenantSlug;
}

export const DEVICES: readonly DeviceSpec[] = [
  { key: 'acme-1', tenant: 'acme', registry: 'active' },
  { key: 'acme-2', tenant: 'acme', registry: 'active' },
  { key: 'globex-1', tenant: 'globex', registry: 'active' },
  { key: 'acme-off', tenant: 'acme', registry: 'disabled' },
  { key: 'acme-ghost', tenant: 'acme', registry: 'absent' },
  { key: 'acme-stale', tenant: 'acme', registry: 'active', aclTenant: 'globex' },
];

export interface SeededDevice {
  key: string;
  tenant: TenantSlug;
  /** devices.id, when in the registry. */
  id: string | null;
  password: string;
  /** The telemetry topic its broker ACL lets it write. */
  topic: string;
}

export interface PlatformOptions {
  label: string;
  /** 'shared': a fresh database on the shared server; 'own': a PostgreSQL server of the test's own. */
  database?: 'shared' | 'own';
  /** 'in-process' (startBridge), 'child' (bridge/main.ts bundled; start it with startBridgeChild), or 'none'. */
  bridge?: 'in-process' | 'child' | 'none';
  /**
   * Where connect() puts devices. 'plain' (default): the loopback service listener, free client
   * ids (a device may hold several connections, which some tests need). 'tls': the devices'
   * listener as in production, with a test CA: the broker replaces each client id by the username.
   */
  deviceListener?: 'plain' | 'tls';
}

export interface IngestHost {
  readonly port: number;
  readonly ingestUrl: string;
  readonly functionKey: string;
  readonly isUp: boolean;
  /** Stops listening and drops every connection: mqtt_ingest is unreachable. */
  down(): Promise<void>;
  /** Listens again on the same port, with a fresh IngestService (a cold instance). */
  up(): Promise<void>;
  /** HTTP status of GET /api/health. */
  health(): Promise<number>;
}

export interface Platform {
  dir: string;
  /** Pool for the tests' own queries (the host has its own). */
  db: pg.Pool;
  databaseUrl: string;
  ownPostgres: OwnPostgres | undefined;
  broker: MosquittoBroker;
  /** The listener connect() uses (options.deviceListener), and the CA (PEM) to trust for it. */
  deviceUrl: string;
  ca: string | undefined;
  /** The bridge's MQTT client id (its persistent session). */
  bridgeClientId: string;
  host: IngestHost;
  tenants: Record<TenantSlug, string>;
  devices: Record<string, SeededDevice>;
  service: {
    bridge: { username: string; password: string };
    observer: { username: string; password: string };
  };
  /** Errors the ingest service reported through onError (alerts), and pool errors. */
  serviceErrors: string[];
  /** The in-process bridge and its log, with bridge: 'in-process'. */
  bridge: Bridge | undefined;
  bridgeLog: MemoryLogger | undefined;
  /** Child-process bridge: bundle built, journal dir and health port fixed for restarts. */
  startBridgeChild(): Promise<BridgeChild>;
  connect(deviceKey: string, options?: Parameters<typeof connectDevice>[2]): Promise<Device>;
  stop(): Promise<void>;
}

const secret = () => randomBytes(12).toString('base64url');
// A reserved name (bridge-...): no device key can equal it (docs/broker.md, "Client ids").
const BRIDGE_CLIENT_ID = 'bridge-e2e';

export async function startPlatform(options: PlatformOptions): Promise<Platform> {
  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    const errors: string[] = [];
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: Error) => errors.push(error.message));
    cleanups.length = 0;
    if (errors.length > 0) throw new Error(`cleanup failed: ${errors.join('; ')}`);
  };
  try {
    const dir = await mkdtemp(join(tmpdir(), `e2e-${options.label}-`));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));

    // ---- database
    let databaseUrl: string;
    let ownPostgres: OwnPostgres | undefined;
    if (options.database === 'own') {
      ownPostgres = await startOwnPostgres();
      const own = ownPostgres;
      cleanups.push(() => own.stop());
      databaseUrl = own.url;
      await applyMigrations(databaseUrl, { shim: true });
    } else {
      const database = await createTestDatabase(`e2e_${options.label}`);
      cleanups.push(() => database.drop());
      databaseUrl = database.url;
    }
    const serviceErrors: string[] = [];
    const newPool = (max: number, name: string) => {
      const pool = new pg.Pool({ connectionString: databaseUrl, max });
      // A restarted server kills idle connections: without a listener that would crash the test run.
      pool.on('error', (error) => serviceErrors.push(`${name} pool: ${error.message}`));
      cleanups.push(() => pool.end());
      return pool;
    };
    const db = newPool(2, 'test');
    const hostPool = newPool(4, 'ingest');

    // ---- registry and broker users
    await upsertPlan(db, {
      id: 'e2e',
      name: 'E2E',
      maxDevices: 100,
      maxMessagesPerDay: 10_000_000,
      retentionDays: 7,
      aiTokensPerMonth: 0,
      monthlyPriceCents: 0,
    });
    const tenants = {} as Record<TenantSlug, string>;
    for (const slug of TENANTS) {
      tenants[slug] = await createTenant(db, { slug, name: slug, planId: 'e2e' });
      await setTenantRateLimit(db, tenants[slug], { perSecond: 100_000, burst: 100_000, reason: 'e2e' });
    }
    const devices: Record<string, SeededDevice> = {};
    const brokerUsers: BrokerUser[] = [];
    for (const spec of DEVICES) {
      const password = secret();
      const hash = hashPassword(password);
      const id =
        spec.registry === 'absent'
          ? null
          : await createDevice(db, {
              tenantId: tenants[spec.tenant],
              deviceKey: spec.key,
              credentialHash: hash,
              status: spec.registry,
            });
      const aclTenant = spec.aclTenant ?? spec.tenant;
      devices[spec.key] = {
        key: spec.key,
        tenant: spec.tenant,
        id,
        password,
        topic: telemetryTopic(aclTenant, spec.key),
      };
      const identity: BrokerIdentity = { role: 'device', username: spec.key, tenantSlug: aclTenant };
      brokerUsers.push({ ...identity, hash });
    }
    const service = {
      bridge: { username: 'svc-bridge', password: secret() },
      observer: { username: 'svc-observer', password: secret() },
    };
    brokerUsers.push({ role: 'bridge', ...service.bridge }, { role: 'bridge', ...service.observer });

    // The role's configuration as shipped (persistence on, message_size_limit, ACL), on loopback.
    const ca = options.deviceListener === 'tls' ? await createTestCa({ dir: join(dir, 'ca') }) : undefined;
    const broker = await startMosquitto({
      users: brokerUsers,
      ...(ca ? { tls: { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey } } : {}),
    });
    cleanups.push(() => broker.stop());
    const deviceUrl = ca ? broker.tlsUrl! : broker.url;

    // ---- mqtt_ingest on the local Functions host, restartable on the same port
    const functionKey = secret();
    const port = await freePort();
    let local: LocalHost | undefined;
    const host: IngestHost = {
      port,
      ingestUrl: `http://127.0.0.1:${port}/api/mqtt_ingest`,
      functionKey,
      get isUp() {
        return local !== undefined;
      },
      async down() {
        const running = local;
        local = undefined;
        await running?.close();
      },
      async up() {
        if (local) return;
        const ingest = createIngestWithAlerts(hostPool, {
          onError: (what, error) => serviceErrors.push(`${what}: ${(error as Error).message}`),
        });
        local = await startLocalFunctionsHost({ pool: hostPool, ingest, functionKey, port });
      },
      async health() {
        const res = await fetch(`http://127.0.0.1:${port}${HEALTH_ROUTE}`);
        await res.arrayBuffer();
        return res.status;
      },
    };
    await host.up();
    cleanups.push(() => host.down());

    // ---- bridge
    const journalDir = join(dir, 'journal');
    const bridgeOptions = {
      mqttUrl: broker.url,
      mqttUsername: service.bridge.username,
      mqttPassword: service.bridge.password,
      clientId: BRIDGE_CLIENT_ID,
      ingestUrl: host.ingestUrl,
      ingestKey: functionKey,
      journalDir,
      reconnectPeriodMs: 250,
      // The production cap (30 s) would add up to 30 s after each outage before the next attempt.
      retryMaxMs: 1_000,
      shutdownTimeoutMs: 3_000,
      // The production latency budget (1 s) would add up to a second to every wait for data.
      lingerMs: TEST_LINGER_MS,
    };
    let bridge: Bridge | undefined;
    let bridgeLog: MemoryLogger | undefined;
    if ((options.bridge ?? 'in-process') === 'in-process') {
      bridgeLog = createMemoryLogger(process.env.E2E_LOG === '1');
      const started = await startBridge(bridgeOptions, { logger: bridgeLog });
      bridge = started;
      cleanups.push(() => started.stop());
      await withTimeout(started.subscribed, 10_000, 'the bridge subscribing');
    }

    let bundle: string | undefined;
    let healthPort: number | undefined;
    const children: BridgeChild[] = [];
    cleanups.push(async () => {
      await Promise.all(children.map((child) => child.kill()));
    });
    const startBridgeChild = async (): Promise<BridgeChild> => {
      bundle ??= await bundleBridge(dir);
      healthPort ??= await freePort();
      const child = spawnBridge(
        bundle,
        {
          BRIDGE_MQTT_URL: bridgeOptions.mqttUrl,
          BRIDGE_MQTT_USERNAME: bridgeOptions.mqttUsername,
          BRIDGE_MQTT_PASSWORD: bridgeOptions.mqttPassword,
          BRIDGE_MQTT_CLIENT_ID: bridgeOptions.clientId,
          BRIDGE_MQTT_RECONNECT_MS: String(bridgeOptions.reconnectPeriodMs),
          BRIDGE_INGEST_URL: bridgeOptions.ingestUrl,
          BRIDGE_INGEST_KEY: bridgeOptions.ingestKey,
          BRIDGE_JOURNAL_DIR: journalDir,
          BRIDGE_RETRY_MAX_MS: String(bridgeOptions.retryMaxMs),
          BRIDGE_SHUTDOWN_TIMEOUT_MS: String(bridgeOptions.shutdownTimeoutMs),
          BRIDGE_LINGER_MS: String(bridgeOptions.lingerMs),
          BRIDGE_LOG_LEVEL: 'info',
        },
        healthPort,
      );
      children.push(child);
      await waitFor(
        'the bridge process to subscribe',
        () => child.output().includes('"msg":"mqtt_subscribed"'),
        {
          timeoutMs: 15_000,
          describe: () =>
            `exit ${child.proc.exitCode ?? child.proc.signalCode}; output:\n${child.output().slice(-3_000)}`,
        },
      );
      return child;
    };

    return {
      dir,
      db,
      databaseUrl,
      ownPostgres,
      broker,
      deviceUrl,
      ca: ca?.caPem,
      bridgeClientId: BRIDGE_CLIENT_ID,
      host,
      tenants,
      devices,
      service,
      serviceErrors,
      bridge,
      bridgeLog,
      startBridgeChild,
      async connect(deviceKey, connectOptions) {
        const device = devices[deviceKey];
        if (!device) throw new Error(`no seeded device ${deviceKey}`);
        return connectDevice(
          deviceUrl,
          { username: device.key, password: device.password },
          { ...(ca ? { ca: ca.caPem } : {}), ...connectOptions },
        );
      },
      async stop() {
        await endAllDevices();
        await stopAll();
      },
    };
  } catch (error) {
    await endAllDevices();
    await stopAll().catch(() => undefined);
    throw error;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)),
    ),
  ]);
}

/**
 * For a describe block: `start` starts the platform of the running test, stopped after the test
 * whatever its outcome.
 */
export function platformPerTest(): { start(options: PlatformOptions): Promise<Platform> } {
  let platform: Platform | undefined;
  afterEach(async () => {
    await platform?.stop();
    platform = undefined;
  });
  return { start: async (options) => (platform = await startPlatform(options)) };
}

// ---- what the database holds ------------------------------------------------------------------

export async function count(db: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  const res = await db.query<{ n: string | number | null }>(sql, params);
  return Number(res.rows[0]?.n ?? 0);
}

export const telemetryCount = (db: pg.Pool) => count(db, 'select count(*) as n from public.telemetry');

/**
 * Loss and duplicates, end to end: every message the broker PUBACKed is in public.telemetry exactly
 * once (rows = distinct (device, message id) = PUBACKed), nothing else is, usage counts each once,
 * and nothing was dead-lettered (unless the test sent messages that must be).
 */
export async function expectExactlyOnce(
  platform: Platform,
  traffic: {
    streams: readonly Stream[];
    /** When given (a Traffic's), the number of messages that must have been published. */
    total?: number;
  },
  options: { otherRejectsExpected?: boolean } = {},
): Promise<{ published: number }> {
  const published = new Set<string>();
  for (const stream of traffic.streams) {
    expect({ device: stream.device.username, refused: stream.refused.size }).toEqual({
      device: stream.device.username,
      refused: 0,
    });
    // Every message was answered, so "published" is all of them; checked rather than assumed.
    expect(stream.acked.size).toBe(stream.ids.length);
    for (const id of stream.acked) published.add(`${stream.device.username}|id:${id}`);
  }
  const rows = await platform.db.query<{ key: string }>(
    `select d.device_key || '|' || t.msg_key as key from public.telemetry t join public.devices d on d.id = t.device_id`,
  );
  const committed = rows.rows.map((r) => r.key);
  const distinct = new Set(committed);
  const missing = [...published].filter((key) => !distinct.has(key));
  const unexpected = [...distinct].filter((key) => !published.has(key));
  expect({ missing: missing.slice(0, 10), missingCount: missing.length }).toEqual({
    missing: [],
    missingCount: 0,
  });
  expect({ unexpected: unexpected.slice(0, 10), unexpectedCount: unexpected.length }).toEqual({
    unexpected: [],
    unexpectedCount: 0,
  });
  expect(committed.length).toBe(distinct.size);
  expect(distinct.size).toBe(published.size);
  // Usage (billing) counts what was inserted, so a redelivered duplicate would show here too.
  expect(await count(platform.db, 'select coalesce(sum(messages), 0) as n from public.usage_hourly')).toBe(
    published.size,
  );
  if (!options.otherRejectsExpected) {
    const rejects = await platform.db.query<{ reason: string; n: string }>(
      'select reason, count(*) as n from public.ingest_rejects group by reason',
    );
    expect(rejects.rows).toEqual([]);
  }
  if (traffic.total !== undefined) expect(published.size).toBe(traffic.total);
  return { published: published.size };
}

/** Waits until public.telemetry holds `expected` rows (polling the database), with a diagnosis on timeout. */
export async function waitForCommitted(
  platform: Platform,
  expected: number,
  timeoutMs: number,
  diagnose: () => Promise<string> | string = () => '',
): Promise<void> {
  await waitFor(
    `${expected} rows in public.telemetry`,
    async () => (await telemetryCount(platform.db)) >= expected,
    {
      timeoutMs,
      intervalMs: 100,
      describe: async () => `have ${await telemetryCount(platform.db)}; ${await diagnose()}`,
    },
  );
}

export function log(line: string): void {
  if (process.env.E2E_LOG === '1' || process.env.E2E_TIMINGS === '1') process.stderr.write(`[e2e] ${line}\n`);
}
