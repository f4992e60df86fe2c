import type pg from 'pg';
import { NotConfiguredError } from '../config/ops-target.js';
import { sharedMeasuredLoad } from './registry.js';

const from = new Date('2026-11-01T00:00:00Z');
const to = new Date('2026-11-08T00:00:00Z');

test('sharedMeasuredLoad takes the pool at its first read, not when the check is built', async () => {
  let taken = 0;
  const queries: string[] = [];
  const pool = {
    query: async (text: string) => {
      queries.push(text);
      return text.includes('min(hour)') ? { rows: [{ first: from }] } : { rows: [] };
    },
  } as unknown as pg.Pool;
  const source = sharedMeasuredLoad({
    dbPool: () => {
      taken++;
      return pool;
    },
  });
  expect(taken).toBe(0);
  const load = await source.measuredLoad(from, to);
  expect(load).toMatchObject({ devices: 0, messages: 0, days: 7, ageDays: 7 });
  await source.measuredLoad(from, to);
  expect(taken).toBe(1);
  expect(queries).toHaveLength(4); // two per read: the window and the first hour
});

test('without a database the read fails with why, and building never does', async () => {
  const source = sharedMeasuredLoad({
    dbPool: () => {
      throw new NotConfiguredError('platform database (SUPABASE_DB_URL)', 'prod');
    },
  });
  await expect(source.measuredLoad(from, to)).rejects.toThrow(
    'environment "prod" configures no platform database (SUPABASE_DB_URL)',
  );
});
