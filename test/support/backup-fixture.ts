/**
 * Test-only: a platform database with a few rows in the tenant tables (two tenants, devices,
 * telemetry across partitions, usage rollups, AI usage), for the backup and restore tests.
 */
import pg from 'pg';
import { createDevice, createTenant, upsertPlan } from '../../common/provisioning.js';

export async function seedBackupFixture(databaseUrl: string, options: { telemetryPerDevice?: number } = {}) {
  const perDevice = options.telemetryPerDevice ?? 40;
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await upsertPlan(client, {
      id: 'pro',
      name: 'Pro',
      maxDevices: 100,
      maxMessagesPerDay: 1_000_000,
      retentionDays: 30,
      aiTokensPerMonth: 100_000,
      monthlyPriceCents: 4_900,
    });
    for (const slug of ['acme', 'globex']) {
      const tenantId = await createTenant(client, { slug, name: slug, planId: 'pro' });
      for (let d = 0; d < 2; d++) {
        const deviceId = await createDevice(client, {
          tenantId,
          deviceKey: `${slug}-${d}`,
          credentialHash: '$7$fixture',
        });
        // Hourly steps back from now: rows land in the daily partitions and the default one.
        await client.query(
          `insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
           select $1, $2, now() - make_interval(hours => i * 6), 'm' || i, jsonb_build_object('t', i)
             from generate_series(0, $3 - 1) i`,
          [tenantId, deviceId, perDevice],
        );
        await client.query(
          `insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes)
           select $1, $2, date_trunc('hour', now()) - make_interval(hours => i), 10, 1000
             from generate_series(0, 4) i`,
          [tenantId, deviceId],
        );
      }
      await client.query(
        `insert into public.ai_usage (tenant_id, provider, model, input_tokens, output_tokens, cost_usd)
         values ($1, 'openai', 'gpt-4o-mini', 100, 50, 0.01)`,
        [tenantId],
      );
    }
  } finally {
    await client.end();
  }
}
