/**
 * mqtt_ingest as a plain module: validates every message of a bridge batch, attributes it through
 * the device registry, applies the tenant's payload caps, daily quota and rate limit, and writes the
 * batch in one transaction. The answer is per message; the caller answers 2xx only when this resolves.
 */
import type pg from 'pg';
import {
  DEFAULT_TELEMETRY_LIMITS,
  validateTelemetry,
  type RejectReason,
  type TelemetryLimits,
} from '../../../common/telemetry.js';
import { parseTelemetryTopic } from '../../../common/topics.js';
import type {
  IngestBatch,
  IngestEnvelope,
  IngestResponse,
  IngestResult,
} from '../../../common/ingest-protocol.js';
import { systemClock, type Clock } from './clock.js';
import { DailyQuota } from './daily-quota.js';
import { DeviceRegistry, type RegisteredDevice } from './device-registry.js';
import { OpsSettings } from './ops-settings.js';
import { storableText } from '../../../common/storable-text.js';
import { payloadBase64, payloadExcerpt } from './payload-excerpt.js';
import { TenantRateLimiter } from './rate-limiter.js';
import { checkTenantPayloadLimit } from './tenant-payload-limits.js';
import { writeBatch, type AcceptedRow, type RejectRow } from './write-batch.js';

export interface IngestServiceOptions {
  pool: pg.Pool;
  clock?: Clock;
  limits?: TelemetryLimits;
  /** Called with what was inserted, after commit (the alert engine). Its failure never fails ingest. */
  onCommitted?: (rows: AcceptedRow[]) => Promise<void>;
  onError?: (what: string, error: unknown) => void;
  registryTtlMs?: number;
  settingsTtlMs?: number;
}

export type IngestOutcome =
  | { kind: 'handled'; response: IngestResponse; inserted: number; duplicates: number; rejected: number }
  | { kind: 'maintenance'; retryAfterSeconds: number; reason: string };

export const MAX_BATCH_MESSAGES = 5_000;

export class IngestService {
  readonly registry: DeviceRegistry;
  readonly settings: OpsSettings;
  private readonly quota: DailyQuota;
  private readonly limiter: TenantRateLimiter;
  private readonly clock: Clock;
  private readonly limits: TelemetryLimits;
  private partitionsCheckedDay = '';

  constructor(private readonly options: IngestServiceOptions) {
    this.clock = options.clock ?? systemClock;
    this.limits = options.limits ?? DEFAULT_TELEMETRY_LIMITS;
    this.registry = new DeviceRegistry(options.pool, this.clock, options.registryTtlMs);
    this.settings = new OpsSettings(options.pool, this.clock, options.settingsTtlMs);
    this.quota = new DailyQuota(options.pool, this.clock);
    this.limiter = new TenantRateLimiter(this.clock);
  }

  async ingest(batch: IngestBatch): Promise<IngestOutcome> {
    const settings = await this.settings.get();
    if (settings.maintenance.enabled) {
      return {
        kind: 'maintenance',
        retryAfterSeconds: settings.maintenance.retryAfterSeconds,
        reason: settings.maintenance.reason,
      };
    }
    const now = this.clock();
    await Promise.all([this.quota.refresh(), this.ensurePartitions(now)]);

    const parsed = batch.messages.map((m) => ({ envelope: m, topic: parseTelemetryTopic(m.topic) }));
    const devices = await this.registry.lookup(parsed.flatMap((p) => (p.topic ? [p.topic.deviceKey] : [])));

    const accepted: AcceptedRow[] = [];
    const rejects: RejectRow[] = [];
    const results: IngestResult[] = [];
    const acceptedPerTenant = new Map<string, number>();

    for (const { envelope, topic } of parsed) {
      const payload = Buffer.from(envelope.payload, 'base64');
      const device = topic ? (devices.get(topic.deviceKey) ?? null) : null;
      const refuse = (reason: RejectReason, detail: string) => {
        rejects.push(toReject(envelope, payload, device, topic?.deviceKey ?? null, reason, detail));
        results.push({ id: envelope.id, status: 'rejected', reason });
      };
      if (!topic) {
        refuse('invalid_topic', `not a telemetry topic: ${envelope.topic.slice(0, 128)}`);
        continue;
      }
      if (!device) {
        refuse('unknown_device', `no device ${topic.deviceKey} in the registry`);
        continue;
      }
      if (device.tenantSlug !== topic.tenantSlug) {
        refuse(
          'topic_tenant_mismatch',
          `device belongs to ${device.tenantSlug}, topic says ${topic.tenantSlug}`,
        );
        continue;
      }
      if (device.deviceStatus !== 'active') {
        refuse('device_disabled', `device ${device.deviceKey} is disabled`);
        continue;
      }
      if (device.tenantStatus !== 'active') {
        refuse('tenant_suspended', `tenant ${device.tenantSlug} is suspended`);
        continue;
      }
      const validation = validateTelemetry(payload, now, this.limits);
      if (!validation.ok) {
        refuse(validation.reason, validation.detail);
        continue;
      }
      // Before the quota and the rate limit: a message refused here uses neither.
      const capped = checkTenantPayloadLimit(
        validation.message.size,
        settings.tenantPayloadLimits.get(device.tenantId),
      );
      if (capped) {
        refuse(capped.reason, capped.detail);
        continue;
      }
      const used = this.quota.usedToday(device.tenantId) + (acceptedPerTenant.get(device.tenantId) ?? 0);
      if (used >= device.maxMessagesPerDay) {
        refuse(
          'quota_exceeded',
          `plan ${device.planId} allows ${device.maxMessagesPerDay} messages/day; ${used} accepted today (UTC)`,
        );
        continue;
      }
      const limit = settings.tenantRateLimits.get(device.tenantId) ?? settings.defaultRateLimit;
      if (!this.limiter.take(device.tenantId, limit, envelope.receivedAt)) {
        refuse('rate_limited', `tenant rate limit ${limit.perSecond}/s (burst ${limit.burst}) exceeded`);
        continue;
      }
      acceptedPerTenant.set(device.tenantId, (acceptedPerTenant.get(device.tenantId) ?? 0) + 1);
      accepted.push({
        id: envelope.id,
        tenantId: device.tenantId,
        deviceId: device.id,
        ts: validation.message.ts,
        key: validation.message.key,
        metrics: validation.message.metrics,
        bytes: payload.byteLength,
        unstorable: (detail) => ({
          ...toReject(envelope, payload, device, topic.deviceKey, 'unstorable', detail),
          payloadExcerpt: payloadBase64(payload),
        }),
      });
      results.push({ id: envelope.id, status: 'inserted' });
    }

    const outcome = await writeBatch(this.options.pool, accepted, rejects);
    let duplicates = 0;
    for (const result of results) {
      if (outcome.unstorable.has(result.id)) {
        result.status = 'rejected';
        result.reason = 'unstorable';
      } else if (result.status === 'inserted' && !outcome.inserted.has(result.id)) {
        result.status = 'duplicate';
        duplicates += 1;
      }
    }
    for (const row of outcome.insertedRows) this.quota.add(row.tenantId, 1);

    if (this.options.onCommitted && outcome.insertedRows.length > 0) {
      await this.options
        .onCommitted(outcome.insertedRows)
        .catch((error) => this.options.onError?.('alerts', error));
    }
    return {
      kind: 'handled',
      response: { results },
      inserted: outcome.insertedRows.length,
      duplicates,
      rejected: rejects.length + outcome.unstorable.size,
    };
  }

  /** Daily partitions for the accepted backfill window and two days ahead, checked once a day. */
  private async ensurePartitions(now: number): Promise<void> {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day === this.partitionsCheckedDay) return;
    const backfillDays = Math.ceil(this.limits.maxBackfillMs / 86_400_000) + 1;
    await this.options.pool.query(`select ops.ensure_telemetry_partitions($1::date - $2::int, $2::int + 3)`, [
      day,
      backfillDays,
    ]);
    this.partitionsCheckedDay = day;
  }
}

function toReject(
  envelope: IngestEnvelope,
  payload: Buffer,
  device: RegisteredDevice | null,
  deviceKey: string | null,
  reason: RejectReason,
  detail: string,
): RejectRow {
  return {
    id: envelope.id,
    tenantId: device?.tenantId ?? null,
    deviceId: device?.id ?? null,
    // Every text is made storable here: one unstorable detail would fail the whole batch's write.
    deviceKey: deviceKey === null ? null : storableText(deviceKey, 128),
    topic: storableText(envelope.topic, 256),
    reason,
    detail: storableText(detail, 512),
    payloadExcerpt: payloadExcerpt(payload),
    payloadBytes: payload.byteLength,
    receivedAt: new Date(envelope.receivedAt),
  };
}
