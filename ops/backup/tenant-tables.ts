/**
 * The tables a backup must bring back intact: public.tenants and every public table with a
 * tenant_id column (partitions are counted through their parent). Used at dump time (row counts
 * into the metadata) and after a restore (the same counts, and RLS still on).
 */
import type pg from 'pg';

export async function tenantTables(client: pg.ClientBase): Promise<string[]> {
  const res = await client.query<{ name: string }>(
    `select format('%I.%I', n.nspname, c.relname) as name
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p') and not c.relispartition
        and (c.relname = 'tenants' or exists (
              select from pg_attribute a
               where a.attrelid = c.oid and a.attname = 'tenant_id' and a.attnum > 0 and not a.attisdropped))
      order by 1`,
  );
  return res.rows.map((r) => r.name);
}

/** Exact counts (`count(*)`), in one statement so that they share a snapshot. */
export async function rowCounts(
  client: pg.ClientBase,
  tables: readonly string[],
): Promise<Record<string, number>> {
  if (tables.length === 0) return {};
  // Names come from tenantTables(): already quoted with %I.
  const sql = tables.map((t, i) => `select ${i} as i, count(*)::text as n from ${t}`).join(' union all ');
  const res = await client.query<{ i: number; n: string }>(sql);
  const out: Record<string, number> = {};
  for (const row of res.rows) out[tables[row.i]!] = Number(row.n);
  return out;
}

export interface TableRls {
  table: string;
  rlsEnabled: boolean;
  policies: number;
  /** Partitions are read through their parent: RLS must be on, a policy of their own is not needed. */
  partition: boolean;
}

/** RLS state of public.tenants and every public table (partitions included) with tenant_id. */
export async function tenantTablesRls(client: pg.ClientBase): Promise<TableRls[]> {
  const res = await client.query<TableRls>(
    `select format('%I.%I', n.nspname, c.relname) as "table", c.relrowsecurity as "rlsEnabled",
            (select count(*)::int from pg_policy p where p.polrelid = c.oid) as policies,
            c.relispartition as partition
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = 'public' and c.relkind in ('r', 'p')
        and (c.relname = 'tenants' or exists (
              select from pg_attribute a
               where a.attrelid = c.oid and a.attname = 'tenant_id' and a.attnum > 0 and not a.attisdropped))
      order by 1`,
  );
  return res.rows;
}

/** What is wrong with RLS, one line per table; empty when every tenant table is protected. */
export function rlsProblems(tables: readonly TableRls[]): string[] {
  const out: string[] = [];
  for (const t of tables) {
    if (!t.rlsEnabled) out.push(`${t.table}: row level security is disabled`);
    else if (!t.partition && t.policies === 0) out.push(`${t.table}: no policy (RLS on but nothing defined)`);
  }
  return out;
}
