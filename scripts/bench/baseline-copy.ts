/** Baseline database: COPY the same rows into the same (emptied) table. */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';

export interface CopyRow {
  tenantId: string;
  deviceId: string;
  ts: Date;
  key: string;
  metrics: string;
}

export async function copyBaseline(url: string, rows: CopyRow[]): Promise<{ rows: number; seconds: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('truncate public.telemetry');
    const started = performance.now();
    const stream = client.query(
      copyStreams.from(`copy public.telemetry (tenant_id, device_id, ts, msg_key, metrics) from stdin`),
    );
    const escape = (s: string) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
    await pipeline(
      Readable.from(
        (function* () {
          for (let i = 0; i < rows.length; i += 1000) {
            yield rows
              .slice(i, i + 1000)
              .map(
                (r) =>
                  `${r.tenantId}\t${r.deviceId}\t${r.ts.toISOString()}\t${escape(r.key)}\t${escape(r.metrics)}\n`,
              )
              .join('');
          }
        })(),
      ),
      stream,
    );
    return { rows: rows.length, seconds: (performance.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}
