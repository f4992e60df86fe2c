/**
 * The publish-to-database canary: publishes a unique reading as the probe device (a device of
 * its own that no real traffic uses) and watches the database until that reading is committed.
 * The only code of the ingest-canary check that talks to the outside.
 */
import mqtt from 'mqtt';
import pg from 'pg';
import type { LocalDevice } from '../../common/local-env.js';
import { validateTelemetry } from '../../common/telemetry.js';

export interface IngestCanarySource {
  /** Publishes a reading with this id (QoS 1); resolves with the publish time once PUBACKed. */
  publish(id: string, metrics?: Record<string, number>): Promise<number>;
  /** Resolves with the commit time of that reading, or null if it is not committed by `deadline`. */
  waitCommitted(id: string, deadline: number, signal?: AbortSignal): Promise<number | null>;
  close(): Promise<void>;
}

export interface IngestCanaryOptions {
  mqttUrl: string;
  probe: Pick<LocalDevice, 'deviceId' | 'username' | 'password' | 'topic'>;
  /** A role that reads `public.telemetry` across tenants (the service role). */
  databaseUrl: string;
  protocolVersion?: 4 | 5;
  pollMs?: number;
  now?: () => number;
}

export function createIngestCanarySource(options: IngestCanaryOptions): IngestCanarySource {
  const now = options.now ?? Date.now;
  const pollMs = options.pollMs ?? 100;
  const pool = new pg.Pool({ connectionString: options.databaseUrl, max: 1 });
  pool.on('error', () => undefined); // a failed query fails the wait; the pool must not crash us
  const sent = new Map<string, { key: string; ts: number }>();

  return {
    async publish(id, metrics = { canary: 1 }) {
      const ts = now();
      const payload = JSON.stringify({ ts, id, metrics });
      // The key ingest will store it under, from the one place that defines it.
      const validation = validateTelemetry(Buffer.from(payload), ts);
      if (!validation.ok) throw new Error(`canary payload rejected locally: ${validation.reason}`);
      const client = await mqtt.connectAsync(options.mqttUrl, {
        username: options.probe.username,
        password: options.probe.password,
        clientId: `canary-${id}`,
        protocolVersion: options.protocolVersion ?? 5,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      });
      try {
        await client.publishAsync(options.probe.topic, payload, { qos: 1 });
      } finally {
        await client.endAsync().catch(() => undefined);
      }
      sent.set(id, { key: validation.message.key, ts });
      return ts;
    },
    async waitCommitted(id, deadline, signal) {
      const reading = sent.get(id);
      if (!reading) throw new Error(`canary ${id} was not published`);
      for (;;) {
        const res = await pool.query<{ n: number }>(
          `select count(*)::int as n from public.telemetry t join public.devices d on d.id = t.device_id
            where d.device_key = $1 and t.ts = to_timestamp($2::float8 / 1000) and t.msg_key = $3`,
          [options.probe.deviceId, reading.ts, reading.key],
        );
        if (res.rows[0]!.n > 0) return now();
        if (now() >= deadline || signal?.aborted) return null;
        await new Promise((resolve) => setTimeout(resolve, pollMs));
      }
    },
    close: () => pool.end(),
  };
}
