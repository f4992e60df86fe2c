/**
 * The Supabase Advisor's database lints (supabase/lint/advisor-lints.sql, after supabase/splinter)
 * on a fresh database with the shim and every migration, as the Security and Performance Advisors
 * would run them on the project: no ERROR, and no WARN that supabase/lint/accepted.yaml does not
 * accept with a reason. A second test creates one offending object per lint (in a transaction that
 * is rolled back) and expects each to be reported: proof that the lints can fail.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { parse } from 'yaml';
import { createTestDatabase, type TestDatabase } from '../../test/support/database.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const LINTS_SQL = readFileSync(join(ROOT, 'supabase', 'lint', 'advisor-lints.sql'), 'utf8');
const ACCEPTED_FILE = 'supabase/lint/accepted.yaml';

interface Finding {
  lint: string;
  name: string;
  level: 'ERROR' | 'WARN';
  cache_key: string;
  detail: string;
}
interface Accepted {
  key: string;
  reason: string;
}

/** The schemas the Data API serves: supabase/config.toml, [api] schemas (PostgREST's db_schemas). */
export function apiSchemas(configToml: string): string[] {
  const section = /^\[api\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(configToml)?.[1] ?? '';
  const list = /^schemas\s*=\s*\[([^\]]*)\]/m.exec(section)?.[1];
  if (list === undefined) throw new Error('supabase/config.toml: no [api] schemas');
  return [...list.matchAll(/"([^"]+)"/g)].map((m) => m[1]!);
}

function loadAccepted(): Accepted[] {
  const entries = parse(readFileSync(join(ROOT, ACCEPTED_FILE), 'utf8')) as Accepted[] | null;
  return entries ?? [];
}

const API_SCHEMAS = apiSchemas(readFileSync(join(ROOT, 'supabase', 'config.toml'), 'utf8'));
const describeFinding = (f: Finding) => `${f.level} ${f.lint} ${f.cache_key}: ${f.detail}`;

let db: TestDatabase;
let client: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('advisor_lints');
  client = new pg.Client({ connectionString: db.url });
  await client.connect();
}, 120_000);

afterAll(async () => {
  await client?.end();
  await db?.drop();
});

/** The lints as the Advisor runs them (API schemas set, empty search_path), after `setup`. */
async function runLints(setup = ''): Promise<Finding[]> {
  await client.query('begin');
  try {
    await client.query(`select set_config('pgrst.db_schemas', $1, true)`, [API_SCHEMAS.join(',')]);
    if (setup) await client.query(setup);
    await client.query(`set local search_path = ''`);
    return (await client.query<Finding>(LINTS_SQL)).rows;
  } finally {
    await client.query('rollback');
  }
}

test('the Data API serves the schemas supabase/config.toml names', () => {
  expect(API_SCHEMAS).toEqual(['public']);
  expect(apiSchemas('[db]\nport = 1\n[api]\nenabled = true\nschemas = ["public", "graphql_public"]\n')).toEqual([
    'public',
    'graphql_public',
  ]);
});

test(`the migrated schema has no ERROR and no WARN outside ${ACCEPTED_FILE}`, async () => {
  const findings = await runLints();
  const accepted = loadAccepted();
  for (const a of accepted) {
    expect(typeof a.key === 'string' && typeof a.reason === 'string' && a.reason.trim().length >= 20).toBe(true);
  }
  const acceptedKeys = new Set(accepted.map((a) => a.key));
  const errors = findings.filter((f) => f.level === 'ERROR').map(describeFinding);
  const warnings = findings
    .filter((f) => f.level === 'WARN' && !acceptedKeys.has(f.cache_key))
    .map(describeFinding);
  const stale = [...acceptedKeys].filter((k) => !findings.some((f) => f.cache_key === k));
  expect({ errors, 'warnings not accepted': warnings, [`stale entries in ${ACCEPTED_FILE}`]: stale }).toEqual({
    errors: [],
    'warnings not accepted': [],
    [`stale entries in ${ACCEPTED_FILE}`]: [],
  });
});

// One object per lint that must be reported, and the key it is reported under (a prefix where the
// key ends in something derived, such as the md5 of a function body).
const OFFENDERS = `
  create function public.fx_mutable() returns int language sql as $$ select 1 $$;
  create table public.fx_open (id int primary key, password text);
  grant select on public.fx_open to anon;
  create table public.fx_policy_off (id int primary key);
  create policy fx_p on public.fx_policy_off for select to authenticated using (true);
  create view public.fx_definer_view as select 1 as x;
  grant select on public.fx_definer_view to authenticated;
  create materialized view public.fx_mv as select 1 as x;
  grant select on public.fx_mv to anon;
  create function public.fx_definer() returns int language sql security definer set search_path = ''
    as $$ select 1 $$;
  create table public.fx_rls (id int primary key, tenant uuid);
  alter table public.fx_rls enable row level security;
  grant select, update, delete on public.fx_rls to authenticated;
  create policy fx_per_row on public.fx_rls for select to authenticated using (tenant = auth.uid());
  create policy fx_second on public.fx_rls for select to authenticated using (true);
  create policy fx_update_all on public.fx_rls for update to authenticated using (true);
  create policy fx_metadata on public.fx_rls for delete to authenticated
    using (((select auth.jwt()) -> 'user_metadata' ->> 'admin') = 'true');
  create index fx_a on public.fx_rls (tenant);
  create index fx_b on public.fx_rls (tenant);
  create table public.fx_reg (id int primary key, fn regproc);
  create view public.fx_users as select id, email from auth.users;
  grant select on public.fx_users to authenticated;
  create table public.fx_fk (id int primary key, email text references auth.users (email));
  create extension hstore with schema public version '1.4';
  create extension postgres_fdw with schema extensions;
  create server fx_server foreign data wrapper postgres_fdw;
  create foreign table public.fx_foreign (id int) server fx_server;
  grant select on public.fx_foreign to anon;
  create schema pgmq;
  create table pgmq.q_fx (id int);
  grant usage on schema pgmq to anon;
  grant select on pgmq.q_fx to anon;
  select set_config('pgrst.db_schemas', current_setting('pgrst.db_schemas') || ',pgmq_public', true);
`;
const EXPECTED: [lint: string, keyPrefix: string][] = [
  ['0002', 'auth_users_exposed_public_fx_users'],
  ['0003', 'auth_rls_init_plan_public_fx_rls_fx_per_row'],
  ['0006', 'multiple_permissive_policies_public_fx_rls_authenticated_SELECT'],
  ['0007', 'policy_exists_rls_disabled_public_fx_policy_off'],
  ['0009', 'duplicate_index_public_fx_rls_{fx_a,fx_b}'],
  ['0010', 'security_definer_view_public_fx_definer_view'],
  ['0011', 'function_search_path_mutable_public_fx_mutable_'],
  ['0013', 'rls_disabled_in_public_public_fx_open'],
  ['0014', 'extension_in_public_hstore'],
  ['0015', 'rls_references_user_metadata_public_fx_rls_fx_metadata'],
  ['0016', 'materialized_view_in_api_public_fx_mv'],
  ['0017', 'foreign_table_in_api_public_fx_foreign'],
  ['0018', 'unsupported_reg_types_public_fx_reg_fn'],
  ['0019', 'rls_disabled_in_public_pgmq_q_fx'],
  ['0021', 'fkey_to_auth_unique_public_fx_fk_fx_fk_email_fkey'],
  ['0022', 'extension_versions_outdated_hstore_1.4'],
  ['0023', 'sensitive_columns_exposed_public_fx_open'],
  ['0024', 'rls_policy_always_true_public_fx_rls_fx_update_all'],
  ['0028', 'anon_security_definer_function_executable_public_fx_definer_'],
  ['0029', 'authenticated_security_definer_function_executable_public_fx_definer_'],
];

test('each lint reports the object made to break it', async () => {
  const findings = await runLints(OFFENDERS);
  const missing = EXPECTED.filter(
    ([lint, prefix]) => !findings.some((f) => f.lint === lint && f.cache_key.startsWith(prefix)),
  ).map(([lint, prefix]) => `${lint} ${prefix}`);
  expect(missing).toEqual([]);
  // Nothing but the offenders (and what accepted.yaml accepts) is reported.
  const accepted = new Set(loadAccepted().map((a) => a.key));
  const others = findings
    .filter((f) => !accepted.has(f.cache_key) && !/_fx_|_hstore|_pgmq_/.test(f.cache_key))
    .map(describeFinding);
  expect(others).toEqual([]);
  // An invoker view over a table with RLS, and a definer function anon cannot call, are fine.
  const quiet = await runLints(`
    create view public.fx_invoker with (security_invoker = on) as select id from public.tenants;
    grant select on public.fx_invoker to authenticated;
    create function public.fx_private() returns int language sql security definer set search_path = ''
      as $$ select 1 $$;
    revoke all on function public.fx_private() from public, anon, authenticated;
  `);
  expect(quiet.filter((f) => f.cache_key.includes('_fx_')).map(describeFinding)).toEqual([]);
});
