import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { schemaVersion } from '../common/schema-version.js';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('migrate');
});
afterAll(async () => {
  await db?.drop();
});

test('supabase db push applies every migration and records the version', async () => {
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const version = await schemaVersion(client);
    expect(version).toMatch(/^\d{14}$/);
    const parts = await client.query(
      `select count(*)::int as n from pg_inherits where inhparent = 'public.telemetry'::regclass`,
    );
    expect(parts.rows[0].n).toBeGreaterThanOrEqual(10);
  } finally {
    await client.end();
  }
});
