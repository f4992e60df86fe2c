/** Two tenants on different plans with devices, in a migrated test database. */
import type pg from 'pg';
import { createDevice, createTenant, upsertPlan } from '../../common/provisioning.js';

export const FAKE_HASH = '$7$101$c2FsdHNhbHRzYWx0$aGFzaA==';

export interface IngestFixture {
  tenantA: string;
  tenantB: string;
  deviceA: string;
  deviceA2: string;
  deviceB: string;
  disabled: string;
}

export async function seedIngestFixture(pool: pg.Pool, quotaA = 1_000_000): Promise<IngestFixture> {
  await upsertPlan(pool, {
    id: 'free',
    name: 'Free',
    maxDevices: 5,
    maxMessagesPerDay: quotaA,
    retentionDays: 7,
    aiTokensPerMonth: 10_000,
    monthlyPriceCents: 0,
  });
  await upsertPlan(pool, {
    id: 'pro',
    name: 'Pro',
    maxDevices: 100,
    maxMessagesPerDay: 10_000_000,
    retentionDays: 90,
    aiTokensPerMonth: 1_000_000,
    monthlyPriceCents: 4900,
  });
  const tenantA = await createTenant(pool, { slug: 'acme', name: 'Acme', planId: 'free' });
  const tenantB = await createTenant(pool, { slug: 'globex', name: 'Globex', planId: 'pro' });
  return {
    tenantA,
    tenantB,
    deviceA: await createDevice(pool, { tenantId: tenantA, deviceKey: 'acme-1', credentialHash: FAKE_HASH }),
    deviceA2: await createDevice(pool, { tenantId: tenantA, deviceKey: 'acme-2', credentialHash: FAKE_HASH }),
    deviceB: await createDevice(pool, {
      tenantId: tenantB,
      deviceKey: 'globex-1',
      credentialHash: FAKE_HASH,
    }),
    disabled: await createDevice(pool, {
      tenantId: tenantA,
      deviceKey: 'acme-off',
      credentialHash: FAKE_HASH,
      status: 'disabled',
    }),
  };
}
