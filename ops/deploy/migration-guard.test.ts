import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrationsDir } from '../../supabase/migrate.js';
import {
  ALLOW_TRAILER,
  formatRefusal,
  GUARD_RULES,
  guardMigrations,
  reviewMigration,
  type GuardFinding,
} from './migration-guard.js';

const FILE = '20991231000001_change.sql';

async function findings(sql: string): Promise<Pick<GuardFinding, 'line' | 'rule' | 'detail'>[]> {
  const review = await reviewMigration({ name: FILE, sql });
  return review.findings.map(({ line, rule, detail }) => ({ line, rule, detail }));
}

test('every committed migration passes the guard (DO blocks and dynamic SQL included)', async () => {
  const dir = migrationsDir();
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .map((name) => ({ name, sql: readFileSync(join(dir, name), 'utf8') }));
  expect(files.length).toBeGreaterThanOrEqual(11);
  const report = await guardMigrations(files);
  expect(report.refused).toEqual([]);
  expect(report.nonTransactional).toEqual([]);
});

test('each destructive statement is found with its line and what it destroys', async () => {
  const sql = [
    'drop table public.readings;', // 1
    'drop table if exists a, b cascade;', // 2
    'drop schema legacy;', // 3
    'drop type public.mood cascade;', // 4
    'alter table public.devices drop column name, alter column status type text;', // 5
    'alter table public.devices', // 6
    '  alter column  meta set data type jsonb using meta::jsonb;', // 7
    'alter type public.pair drop attribute b;', // 8
    'truncate public.telemetry, only public.usage_hourly;', // 9
    'delete from public.alerts;', // 10
    'with gone as (delete from public.device_latest returning *) select count(*) from gone;', // 11
    'drop owned by someone;', // 12
    'drop database other;', // 13
  ].join('\n');
  expect(await findings(sql)).toEqual([
    { line: 1, rule: 'drop table', detail: 'drop table public.readings' },
    { line: 2, rule: 'drop table', detail: 'drop table a, b cascade' },
    { line: 3, rule: 'drop schema', detail: 'drop schema legacy' },
    { line: 4, rule: 'drop cascade', detail: 'drop type public.mood cascade' },
    { line: 5, rule: 'drop column', detail: 'drop column public.devices.name' },
    { line: 5, rule: 'column type change', detail: 'type change of public.devices.status to text' },
    {
      line: 6,
      rule: 'column type change',
      detail: 'type change of public.devices.meta to jsonb using an expression',
    },
    { line: 8, rule: 'drop column', detail: 'drop column public.pair.b' },
    { line: 9, rule: 'truncate', detail: 'truncate public.telemetry' },
    { line: 9, rule: 'truncate', detail: 'truncate public.usage_hourly' },
    { line: 10, rule: 'delete without where', detail: 'delete from public.alerts without where' },
    { line: 11, rule: 'delete without where', detail: 'delete from public.device_latest without where' },
    { line: 12, rule: 'drop owned', detail: 'drop owned' },
    { line: 13, rule: 'drop database', detail: 'drop database other' },
  ]);
});

test('comments, string literals, function bodies and non-destructive statements are not refused', async () => {
  const sql = `
-- drop table public.devices;
/* truncate public.telemetry; /* nested: delete from x; */ still a comment */
select 'drop table public.devices', $q$truncate public.telemetry$q$, E'delete from x\\';';
comment on table public.devices is 'alter table public.devices drop column name';
create or replace function private.purge() returns void language plpgsql as $fn$
begin
  delete from public.telemetry;  -- runs when called, not when the migration runs
  truncate public.alerts;
end $fn$;
create rule keep_nothing as on insert to public.ai_usage do instead delete from public.ai_usage;
prepare wipe as delete from public.alerts;
delete from public.alerts where resolved_at < now() - interval '90 days';
update public.devices set status = 'active';
drop view if exists public.v;
drop materialized view if exists public.mv;
drop index if exists public.devices_name_idx;
drop function if exists private.old();
drop policy if exists p on public.devices;
alter table public.devices drop constraint if exists c, add column note text, alter column note set default '';
create table public.t2 (id int);
`;
  expect(await findings(sql)).toEqual([]);
});

test('DO blocks run at migration time: their SQL is reviewed, dynamic SQL too when it is readable', async () => {
  const sql = `create table public.scratch (id int);
do $$
declare
  r record;
begin
  delete from public.scratch where id = 1;
  for r in select id from public.scratch loop
    truncate public.scratch;
  end loop;
  execute format('alter table %I enable row level security', 'scratch');
  execute format('drop table public.%I', 'scratch');
  execute 'delete from public.' || 'scratch';
  if true then
    perform 1;
    delete from public.alerts;
  end if;
end
$$;
do language plpgsql $body$ begin execute 'truncate public.alerts'; end $body$;
do language plperl $$ 1 $$;
`;
  expect(await findings(sql)).toEqual([
    { line: 8, rule: 'truncate', detail: 'truncate public.scratch' },
    { line: 11, rule: 'drop table', detail: 'drop table public.%I' },
    { line: 12, rule: 'dynamic sql', detail: "execute 'delete from public.' || 'scratch'" },
    { line: 15, rule: 'delete without where', detail: 'delete from public.alerts without where' },
    { line: 19, rule: 'truncate', detail: 'truncate public.alerts' },
    { line: 20, rule: 'unreadable', detail: 'a DO block in language plperl' },
  ]);
});

test('lines count from the first token, past comments and multi-byte text', async () => {
  const sql = "select 'é ü ✓';\n-- a comment\n/* ✓\n */\n\n  drop table public.x;";
  expect(await findings(sql)).toEqual([{ line: 6, rule: 'drop table', detail: 'drop table public.x' }]);
});

test('a file the parser cannot read is refused as unreadable, at the error', async () => {
  const review = await reviewMigration({ name: FILE, sql: 'create table a (x int);\nselect from where;\n' });
  expect(review.findings).toEqual([
    expect.objectContaining({
      line: 2,
      rule: 'unreadable',
      detail: expect.stringMatching(/syntax error at or near "where"/),
    }),
  ]);
});

test('an allowance names a file: it moves that file’s findings to allowed; unknown names are reported', async () => {
  const files = [
    { name: '20991231000001_drop_legacy.sql', sql: 'drop table public.legacy;' },
    { name: '20991231000002_safe.sql', sql: 'create table public.t (id int);' },
    { name: '20991231000003_wipe.sql', sql: '\n\ntruncate public.alerts;' },
  ];
  const refused = await guardMigrations(files);
  expect(refused.refused.map((f) => `${f.file}:${f.line}`)).toEqual([
    '20991231000001_drop_legacy.sql:1',
    '20991231000003_wipe.sql:3',
  ]);
  const text = formatRefusal(refused);
  expect(text).toContain(
    'supabase/migrations/20991231000003_wipe.sql:3: truncate public.alerts [truncate]: truncate public.alerts',
  );
  expect(text).toContain(`${ALLOW_TRAILER}: 20991231000001_drop_legacy.sql`);
  expect(text).toContain(
    '--allow-destructive 20991231000001_drop_legacy.sql --allow-destructive 20991231000003_wipe.sql',
  );

  const partly = await guardMigrations(files, [
    'supabase/migrations/20991231000001_drop_legacy.sql',
    '20991231000009_typo.sql',
  ]);
  expect(partly.allowed.map((f) => f.file)).toEqual(['20991231000001_drop_legacy.sql']);
  expect(partly.refused.map((f) => f.file)).toEqual(['20991231000003_wipe.sql']);
  expect(partly.unusedAllowances).toEqual(['20991231000009_typo.sql']);
});

test('files supabase db push cannot run in one transaction are noted', async () => {
  const review = await reviewMigration({
    name: FILE,
    sql: 'create table t (x int);\ncreate index concurrently t_x on t (x);\nbegin;\ncommit;\n-- create index concurrently\n',
  });
  expect(review.findings).toEqual([]);
  expect(review.nonTransactional.map((n) => `${n.line} ${n.reason}`)).toEqual([
    '2 create index concurrently',
    '3 transaction control (begin/commit)',
    '4 transaction control (begin/commit)',
  ]);
});

test('every rule has a description (the docs list the same)', () => {
  const docs = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
  for (const rule of Object.keys(GUARD_RULES)) expect(docs).toContain(`\`${rule}\``);
});
