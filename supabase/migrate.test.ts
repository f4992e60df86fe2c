import pg from 'pg';
import { createTestDatabase, type TestDatabase } from '../test/support/database.js';
import { schemaVersion } from '../common/schema-version.js';
import { latestMigrationVersion, pendingMigrations } from './migrate.js';

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

test('pendingMigrations asks supabase db push --dry-run which files are not in schema_migrations', async () => {
  expect(await pendingMigrations(db.url)).toEqual([]);
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    const latest = latestMigrationVersion();
    const row = await client.query(
      `delete from supabase_migrations.schema_migrations where version = $1 returning *`,
      [latest],
    );
    try {
      const pending = await pendingMigrations(db.url);
      expect(pending).toHaveLength(1);
      expect(pending[0]).toMatch(new RegExp(`^${latest}_.+\\.sql$`));
    } finally {
      const r = row.rows[0];
      await client.query(
        `insert into supabase_migrations.schema_migrations (version, name, statements) values ($1, $2, $3)`,
        [r.version, r.name, r.statements],
      );
    }
    expect(await pendingMigrations(db.url)).toEqual([]);
  } finally {
    await client.end();
  }
});
