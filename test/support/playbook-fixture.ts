/**
 * Test helpers for the playbooks: an environment directory with one `test` environment pointing
 * at a test database (and optionally a test sshd), a CliIo that records what was printed, and a
 * small seed of plans, tenants and devices.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { createDevice, createTenant, upsertPlan } from '../../common/provisioning.js';
import type { CliIo } from '../../ops/cli-io.js';

export interface TestEnvironment {
  dir: string;
  env: Record<string, string | undefined>;
  remove(): Promise<void>;
}

export async function writeTestEnvironment(options: {
  databaseUrl: string;
  ssh?: { host: string; port: number; username: string; hostKeySha256: string; privateKey: string };
  extraEnv?: Record<string, string>;
}): Promise<TestEnvironment> {
  const dir = await mkdtemp(join(tmpdir(), 'playbook-env-'));
  const ssh = options.ssh
    ? [
        'ssh:',
        `  host: ${options.ssh.host}`,
        `  port: ${options.ssh.port}`,
        `  username: ${options.ssh.username}`,
        `  hostKeySha256: ${options.ssh.hostKeySha256}`,
        '  privateKeyEnv: OPS_SSH_PRIVATE_KEY',
      ]
    : [];
  await writeFile(
    join(dir, 'test.yaml'),
    [
      'name: test',
      'description: playbook tests',
      'sandbox: false',
      'database:',
      '  urlEnv: OPS_DATABASE_URL',
      ...ssh,
      'budget:',
      '  monthlyUsd: 60',
      '  aiMonthlyUsd: 25',
      'thresholds: {}',
      '',
    ].join('\n'),
  );
  return {
    dir,
    env: {
      OPS_DATABASE_URL: options.databaseUrl,
      ...(options.ssh ? { OPS_SSH_PRIVATE_KEY: options.ssh.privateKey } : {}),
      ...options.extraEnv,
    },
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

export interface RecordingIo extends CliIo {
  printed: string[];
  errors: string[];
  /** The last printed line (the outcome). */
  last(): string;
}

export function recordingIo(environment: TestEnvironment, over: Partial<CliIo> = {}): RecordingIo {
  const printed: string[] = [];
  const errors: string[] = [];
  return {
    printed,
    errors,
    out: (text) => printed.push(...text.replace(/\n$/, '').split('\n')),
    err: (text) => errors.push(text),
    env: environment.env,
    environmentsDir: environment.dir,
    last: () => printed[printed.length - 1] ?? '',
    ...over,
  };
}

const HASH = '$7$101$c2FsdHNhbHRzYWx0$' + 'A'.repeat(86);

/** Plans `small` (retention 30 days) and `large` (90), and tenants with devices; returns ids. */
export async function seedTenants(
  db: pg.Pool,
  tenants: { slug: string; plan: 'small' | 'large'; devices: string[] }[],
): Promise<Map<string, { tenantId: string; devices: Map<string, string> }>> {
  await upsertPlan(db, {
    id: 'small',
    name: 'Small',
    maxDevices: 10,
    maxMessagesPerDay: 1_000_000,
    retentionDays: 30,
    aiTokensPerMonth: 10_000,
    monthlyPriceCents: 900,
  });
  await upsertPlan(db, {
    id: 'large',
    name: 'Large',
    maxDevices: 100,
    maxMessagesPerDay: 10_000_000,
    retentionDays: 90,
    aiTokensPerMonth: 1_000_000,
    monthlyPriceCents: 9_900,
  });
  const ids = new Map<string, { tenantId: string; devices: Map<string, string> }>();
  for (const t of tenants) {
    const tenantId = await createTenant(db, { slug: t.slug, name: t.slug, planId: t.plan });
    const devices = new Map<string, string>();
    for (const key of t.devices)
      devices.set(key, await createDevice(db, { tenantId, deviceKey: key, credentialHash: HASH }));
    ids.set(t.slug, { tenantId, devices });
  }
  return ids;
}

/** Hourly rollup rows for one device: `messages` and `bytes` in each hour of [fromMs, toMs). */
export async function seedUsage(
  db: pg.Pool,
  row: { tenantId: string; deviceId: string; fromMs: number; toMs: number; messages: number; bytes: number },
): Promise<void> {
  await db.query(
    `insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes)
     select $1, $2, h, $5, $6 from generate_series($3::timestamptz, $4::timestamptz - interval '1 hour', interval '1 hour') h`,
    [row.tenantId, row.deviceId, new Date(row.fromMs), new Date(row.toMs), row.messages, row.bytes],
  );
}
