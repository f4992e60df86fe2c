import type pg from 'pg';

/** The latest applied migration version (recorded by `supabase db push`), as health and ops report it. */
export async function schemaVersion(client: pg.ClientBase | pg.Pool): Promise<string | null> {
  const res = await client.query<{ version: string | null }>(
    `select max(version) as version from supabase_migrations.schema_migrations`,
  );
  return res.rows[0]?.version ?? null;
}
