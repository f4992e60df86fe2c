/**
 * The benchmarks' tenant: plan `bench` (no message cap), tenant `bench` with its rate limit lifted,
 * `devices` devices `bench-<i>` sharing one password (one hash: the broker checks it on connect
 * only), and the broker users for them plus the bridge's service user.
 */
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { hashPassword } from '../../broker/password-hash.js';
import { createDevice, createTenant, setTenantRateLimit, upsertPlan } from '../../common/provisioning.js';
import { telemetryTopic } from '../../common/topics.js';
import type { HashedIdentity } from '../sandbox/embedded-broker.js';
import type { BenchDevice } from './publisher.js';

export interface BenchTenant {
  tenantId: string;
  devices: (BenchDevice & { id: string })[];
  /** Broker users: every device, then the bridge. */
  users: HashedIdentity[];
  bridgeUser: { username: string; password: string };
}

export async function seedBenchTenant(pool: pg.Pool, devices: number): Promise<BenchTenant> {
  await upsertPlan(pool, {
    id: 'bench',
    name: 'Bench',
    maxDevices: devices + 10,
    maxMessagesPerDay: 1e12,
    retentionDays: 7,
    aiTokensPerMonth: 0,
    monthlyPriceCents: 0,
  });
  const tenantId = await createTenant(pool, { slug: 'bench', name: 'Bench', planId: 'bench' });
  await setTenantRateLimit(pool, tenantId, { perSecond: 1e9, burst: 1e9, reason: 'benchmark' });
  const password = randomBytes(9).toString('base64url');
  const hash = hashPassword(password);
  const out: BenchTenant['devices'] = [];
  const users: BenchTenant['users'] = [];
  for (let i = 0; i < devices; i++) {
    const key = `bench-${i}`;
    const id = await createDevice(pool, { tenantId, deviceKey: key, credentialHash: hash });
    out.push({ id, username: key, password, topic: telemetryTopic('bench', key) });
    users.push({ username: key, hash, tenantSlug: 'bench', role: 'device' });
  }
  const bridgeUser = { username: 'svc-bridge', password: randomBytes(12).toString('base64url') };
  users.push({ username: bridgeUser.username, hash: hashPassword(bridgeUser.password), role: 'bridge' });
  return { tenantId, devices: out, users, bridgeUser };
}
