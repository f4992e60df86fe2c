/**
 * The sandbox's data: two tenants on different plans with several devices each, an internal tenant
 * holding the ops probe device, alert rules, and dashboard users with JWTs from the auth stand-in.
 * Device and user passwords are random per run; only their hashes reach the database.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { BrokerIdentity } from '../../broker/acl.js';
import { hashPassword } from '../../broker/password-hash.js';
import { createAuthUser, issueJwt } from '../../test/support/auth-standin.js';
import { setAuthUserPassword } from './supabase-standin/passwords.js';
import type { LocalDevice, LocalUser } from '../../common/local-env.js';
import {
  createDevice,
  createTenant,
  setTenantRateLimit,
  upsertPlan,
  type PlanSpec,
} from '../../common/provisioning.js';
import { examplePayload } from '../../common/telemetry.js';
import { telemetryTopic } from '../../common/topics.js';

export const PLANS: PlanSpec[] = [
  {
    id: 'starter',
    name: 'Starter',
    maxDevices: 5,
    maxMessagesPerDay: 50_000,
    retentionDays: 7,
    aiTokensPerMonth: 20_000,
    monthlyPriceCents: 0,
  },
  {
    id: 'pro',
    name: 'Pro',
    maxDevices: 100,
    maxMessagesPerDay: 5_000_000,
    retentionDays: 90,
    aiTokensPerMonth: 1_000_000,
    monthlyPriceCents: 4_900,
  },
  {
    id: 'internal',
    name: 'Internal (ops)',
    maxDevices: 10,
    maxMessagesPerDay: 10_000_000,
    retentionDays: 7,
    aiTokensPerMonth: 0,
    monthlyPriceCents: 0,
  },
];

export const TENANTS = [
  { slug: 'acme', name: 'Acme Cold Chain', planId: 'starter', devices: 3 },
  { slug: 'globex', name: 'Globex Farms', planId: 'pro', devices: 4 },
];
export const PROBE_TENANT = { slug: 'ops', name: 'Operations probe', planId: 'internal' };
export const PROBE_DEVICE_KEY = 'ops-probe';

export interface SeededTenant {
  id: string;
  slug: string;
  planId: string;
}

export interface SeedResult {
  tenants: SeededTenant[];
  devices: (LocalDevice & { dbId: string; tenantId: string })[];
  probe: LocalDevice & { dbId: string; tenantId: string };
  users: LocalUser[];
  /** Broker users (devices and services) with their hashes, for the broker's password file. */
  brokerUsers: (BrokerIdentity & { hash: string })[];
  service: {
    bridge: { username: string; password: string };
    alerts: { username: string; password: string };
    /** The ops uptime probe's broker user (MQTT round trips on its own topic), for the ops CLI. */
    uptime: { username: string; password: string };
    /**
     * The minute-level probe's own user (the Functions timer's vantage point): on the listeners that
     * bind client ids, two probes as one user would drop each other's connections.
     */
    uptimeTimer: { username: string; password: string };
  };
}

const secret = () => randomBytes(12).toString('base64url');

export async function seedSandbox(
  pool: pg.Pool,
  options: { jwtSecret: string; webhookUrl: string; now: number; tenantRatePerSecond?: number },
): Promise<SeedResult> {
  for (const plan of PLANS) await upsertPlan(pool, plan);
  const tenants: SeededTenant[] = [];
  const devices: SeedResult['devices'] = [];
  const brokerUsers: SeedResult['brokerUsers'] = [];

  const addDevice = async (tenant: SeededTenant, deviceKey: string) => {
    const password = secret();
    const passwordHash = hashPassword(password);
    const dbId = await createDevice(pool, { tenantId: tenant.id, deviceKey, credentialHash: passwordHash });
    brokerUsers.push({ username: deviceKey, hash: passwordHash, tenantSlug: tenant.slug, role: 'device' });
    return {
      dbId,
      tenantId: tenant.id,
      tenant: tenant.slug,
      deviceId: deviceKey,
      username: deviceKey,
      password,
      topic: telemetryTopic(tenant.slug, deviceKey),
      examplePayload: examplePayload(options.now),
    };
  };

  for (const spec of TENANTS) {
    const tenant = { id: await createTenant(pool, spec), slug: spec.slug, planId: spec.planId };
    tenants.push(tenant);
    if (options.tenantRatePerSecond) {
      await setTenantRateLimit(pool, tenant.id, {
        perSecond: options.tenantRatePerSecond,
        burst: options.tenantRatePerSecond * 2,
        reason: 'sandbox',
      });
    }
    for (let i = 1; i <= spec.devices; i++) devices.push(await addDevice(tenant, `${spec.slug}-sensor-${i}`));
  }
  const probeTenant = {
    id: await createTenant(pool, PROBE_TENANT),
    slug: PROBE_TENANT.slug,
    planId: PROBE_TENANT.planId,
  };
  tenants.push(probeTenant);
  const probe = await addDevice(probeTenant, PROBE_DEVICE_KEY);

  const [acme, globex] = tenants as [SeededTenant, SeededTenant];
  await pool.query(
    `insert into public.alert_rules (tenant_id, name, kind, metric, operator, threshold, clear_threshold, for_seconds, cooldown_seconds, severity, channels)
     values ($1, 'Cold room too warm', 'threshold', 'temperature', '>', 30, 28, 0, 30, 'critical', $3),
            ($2, 'Greenhouse humid', 'threshold', 'humidity', '>', 85, 80, 2, 60, 'warning', $3)`,
    [acme.id, globex.id, JSON.stringify([{ type: 'webhook', url: options.webhookUrl }, { type: 'mqtt' }])],
  );
  await pool.query(
    `insert into public.alert_rules (tenant_id, name, kind, no_data_seconds, severity, channels)
     values ($1, 'Sensor silent', 'no_data', 300, 'warning', $2)`,
    [globex.id, JSON.stringify([{ type: 'webhook', url: options.webhookUrl }])],
  );

  const users: LocalUser[] = [];
  const members: [SeededTenant, string, LocalUser['role']][] = [
    [acme, 'owner@acme.test', 'owner'],
    [acme, 'viewer@acme.test', 'viewer'],
    [globex, 'owner@globex.test', 'owner'],
    // The ops canary's tenant: the go-live check golive.dashboard-live signs in as this user.
    [probeTenant, 'canary@ops.test', 'viewer'],
  ];
  for (const [tenant, email, role] of members) {
    const { id: userId } = await createAuthUser(pool, { email });
    await pool.query(`insert into public.tenant_members (tenant_id, user_id, role) values ($1, $2, $3)`, [
      tenant.id,
      userId,
      role,
    ]);
    const jwt = await issueJwt({ userId, email, expiresInSeconds: 7 * 86_400 }, options.jwtSecret);
    // Signs in through the local Supabase stand-in; only its scrypt hash reaches the database.
    const password = secret();
    await setAuthUserPassword(pool, userId, password);
    users.push({ tenant: tenant.slug, email, userId, role, jwt, password });
  }

  const service = {
    bridge: { username: 'svc-bridge', password: secret() },
    alerts: { username: 'svc-alerts', password: secret() },
    uptime: { username: 'svc-uptime', password: secret() },
    uptimeTimer: { username: 'svc-uptime-timer', password: secret() },
  };
  brokerUsers.push({
    username: service.bridge.username,
    hash: hashPassword(service.bridge.password),
    role: 'bridge',
  });
  brokerUsers.push({
    username: service.alerts.username,
    hash: hashPassword(service.alerts.password),
    role: 'alerts',
  });
  for (const probe of [service.uptime, service.uptimeTimer]) {
    brokerUsers.push({ username: probe.username, hash: hashPassword(probe.password), role: 'probe' });
  }
  return { tenants, devices, probe, users, brokerUsers, service };
}
