/** The sandbox run's summary: what was published, ingested, rejected, alerted, and how fast. */
import type pg from 'pg';
import type { ServiceKind } from '../../common/local-env.js';
import type { SimulatorTally } from './simulator.js';

export interface SandboxSummary {
  services: { database: ServiceKind; broker: ServiceKind };
  tenants: {
    tenant: string;
    publishedValid: number;
    publishedInvalid: number;
    ingested: number;
    rejected: number;
    rejectReasons: Record<string, number>;
  }[];
  alerts: {
    fired: number;
    resolved: number;
    notificationsDelivered: number;
    notificationsPending: number;
    webhookReceived: number;
  };
  latencyMs: { p50: number; p99: number; samples: number };
  bridge: { received: number; forwarded: number; pending: number; retries: number };
  seconds: number;
}

export async function collectSummary(
  pool: pg.Pool,
  input: {
    services: SandboxSummary['services'];
    tally: SimulatorTally;
    latency: { p50: number; p99: number; samples: number };
    webhookReceived: number;
    bridge: SandboxSummary['bridge'];
    seconds: number;
  },
): Promise<SandboxSummary> {
  const ingested = await pool.query<{ slug: string; n: number }>(
    `select t.slug, count(x.*)::int as n from public.tenants t left join public.telemetry x on x.tenant_id = t.id group by t.slug`,
  );
  const rejects = await pool.query<{ slug: string | null; reason: string; n: number }>(
    `select t.slug, r.reason, count(*)::int as n from public.ingest_rejects r left join public.tenants t on t.id = r.tenant_id
      group by t.slug, r.reason`,
  );
  const alerts = await pool.query<{ fired: number; resolved: number }>(
    `select count(*)::int as fired, count(*) filter (where status = 'resolved')::int as resolved from public.alerts`,
  );
  const outbox = await pool.query<{ delivered: number; pending: number }>(
    `select count(*) filter (where status = 'delivered')::int as delivered, count(*) filter (where status = 'pending')::int as pending
       from public.notification_outbox`,
  );
  const slugs = Object.keys(input.tally.published);
  return {
    services: input.services,
    tenants: slugs.map((slug) => {
      const reasons = Object.fromEntries(
        rejects.rows.filter((r) => r.slug === slug).map((r) => [r.reason, r.n]),
      );
      return {
        tenant: slug,
        publishedValid: input.tally.published[slug]!.valid,
        publishedInvalid: input.tally.published[slug]!.invalid,
        ingested: ingested.rows.find((r) => r.slug === slug)?.n ?? 0,
        rejected: Object.values(reasons).reduce((a, b) => a + b, 0),
        rejectReasons: reasons,
      };
    }),
    alerts: {
      fired: alerts.rows[0]!.fired,
      resolved: alerts.rows[0]!.resolved,
      notificationsDelivered: outbox.rows[0]!.delivered,
      notificationsPending: outbox.rows[0]!.pending,
      webhookReceived: input.webhookReceived,
    },
    latencyMs: input.latency,
    bridge: input.bridge,
    seconds: input.seconds,
  };
}

export function formatSummary(s: SandboxSummary): string {
  const lines = [
    '',
    '== Sandbox summary ==',
    `services: database ${s.services.database}, broker ${s.services.broker}`,
    '',
    'tenant      published  (invalid)  ingested  rejected  reasons',
    ...s.tenants.map(
      (t) =>
        `${t.tenant.padEnd(10)}  ${String(t.publishedValid + t.publishedInvalid).padStart(9)}  ${String(t.publishedInvalid).padStart(9)}  ${String(t.ingested).padStart(8)}  ${String(t.rejected).padStart(8)}  ${
          Object.entries(t.rejectReasons)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ') || '-'
        }`,
    ),
    '',
    `alerts: ${s.alerts.fired} fired (${s.alerts.resolved} resolved); notifications ${s.alerts.notificationsDelivered} delivered, ${s.alerts.notificationsPending} pending; webhook received ${s.alerts.webhookReceived}`,
    `publish -> commit latency: p50 ${fmt(s.latencyMs.p50)} ms, p99 ${fmt(s.latencyMs.p99)} ms (${s.latencyMs.samples} messages)`,
    `bridge: received ${s.bridge.received}, forwarded ${s.bridge.forwarded}, pending ${s.bridge.pending}, retries ${s.bridge.retries}`,
    `run time: ${s.seconds.toFixed(1)} s`,
  ];
  return lines.join('\n');
}

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(0) : 'n/a');
