import type pg from 'pg';

const RETRYABLE = new Set(['40P01', '40001']); // deadlock_detected, serialization_failure

/** Runs `fn` in a transaction; retries it (whole) on deadlock or serialization failure. */
export async function withTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  attempts = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const client = await pool.connect();
    let broken = false;
    // Without a listener, pg's 'error' on a checked-out client (server restart) crashes the process.
    const onError = () => (broken = true);
    client.on('error', onError);
    try {
      await client.query('begin');
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (error) {
      try {
        await client.query('rollback');
      } catch {
        broken = true;
      }
      const code = (error as { code?: string }).code;
      if (attempt >= attempts || !code || !RETRYABLE.has(code)) throw error;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}

export interface DeviceKeyRow {
  id: string;
  device_key: string;
}

export async function deviceKeys(
  client: pg.ClientBase,
  deviceIds: Iterable<string>,
): Promise<Map<string, string>> {
  const ids = [...new Set(deviceIds)];
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const res = await client.query<DeviceKeyRow>(
    `select id, device_key from public.devices where id = any($1::uuid[])`,
    [ids],
  );
  for (const row of res.rows) out.set(row.id, row.device_key);
  return out;
}
