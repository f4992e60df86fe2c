/** Two tenants on different plans with devices, in a migrated test database. */
import type pg from 'pg';
import { createDevice, createTenant, setTenantRateLimit, upsertPlan } from '../../common/provisioning.js';

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

/** Lifts both tenants' rate limits, so a test of the write path is not a test of the limiter. */
export async function liftRateLimits(pool: pg.Pool, fx: IngestFixture): Promise<void> {
  for (const tenant of [fx.tenantA, fx.tenantB])
    await setTenantRateLimit(pool, tenant, { perSecond: 1e9, burst: 1e9 });
}

/**
 * A refusal validation cannot foresee: a trigger makes the database raise a data exception (22023,
 * the content's fault) for a reading with a `poison` metric and, when `infraMetric` is given, a
 * disk-full error (53100, the infrastructure's) for a reading with that metric.
 */
export async function installRefusalTrigger(
  pool: pg.Pool,
  options: { infraMetric?: string } = {},
): Promise<void> {
  const infra = options.infraMetric
    ? `if new.metrics ? ${pgLiteral(options.infraMetric)} then raise exception 'disk full' using errcode = '53100'; end if;`
    : '';
  await pool.query(`
    create function public.test_refuse_poison() returns trigger language plpgsql as $$
    begin
      if new.metrics ? 'poison' then raise exception 'poison metric' using errcode = '22023'; end if;
      ${infra}
      return new;
    end $$;
    create trigger test_refuse_poison before insert on public.telemetry
      for each row execute function public.test_refuse_poison();`);
}

const pgLiteral = (text: string) => `'${text.replace(/'/g, "''")}'`;
