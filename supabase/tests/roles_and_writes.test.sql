-- What each tenant role may do in its own tenant (the isolation between tenants is in
-- tenant_isolation.test.sql), and the one-open-alert-per-(rule, device) index.
-- Statements run with the JWT context PostgREST sets (tests.exec_as / tests.value_as):
--   set local role authenticated; select set_config('request.jwt.claims', '{"sub": ...}', true)
begin;
set local search_path = public, extensions;
\ir support/helpers.psql
\ir support/two_tenants.psql

select plan(47);

-- The request context exactly as PostgREST sets it, written out once -----------------------------

select tests.claims(tests.id('owner_a')) as owner_a_claims \gset
grant usage on schema extensions to authenticated;  -- pgTAP's functions, for this block only
set local role authenticated;
select set_config('request.jwt.claims', :'owner_a_claims', true) is not null as claims_set \gset
select results_eq(
  'select id from public.devices order by id',
  array[tests.id('device_a')],
  'PostgREST context: the owner of A lists exactly the devices of A');
select is((select auth.uid()), tests.id('owner_a'), 'PostgREST context: auth.uid() is the sub claim');
reset role;
select set_config('request.jwt.claims', '', true) is not null as claims_reset \gset

-- Reads ---------------------------------------------------------------------------------------

select is(
  tests.value_as('authenticated', tests.id('owner_a'), 'select string_agg(slug, '','' order by slug) from public.tenants'),
  'pgtap-tenant-a', 'the owner of A sees tenant A only');
select is(
  tests.value_as('authenticated', tests.id('viewer_a'), 'select count(*) from public.tenant_members'),
  '3', 'a viewer of A sees the members of A, and only them');
select is(
  tests.value_as('authenticated', tests.id('outsider'), 'select count(*) from public.devices'),
  '0', 'a user with no membership sees no device');
select is(
  tests.value_as('authenticated', tests.id('outsider'), 'select count(*) from public.tenants'),
  '0', 'a user with no membership sees no tenant');
select is(
  tests.value_as('authenticated', null, 'select count(*) from public.devices'),
  '0', 'claims without a sub see no device');
select ok(
  tests.value_as('authenticated', tests.id('outsider'), 'select count(*) from public.plans')::int >= 1,
  'any signed-in user reads the plans');
select matches(
  tests.value_as('anon', null, 'select count(*) from public.plans'),
  '^SQLSTATE 42501', 'anon cannot read the plans');
select is(
  tests.value_as('authenticated', tests.id('viewer_a'),
    'select string_agg(device_key || name || status, '','') from public.devices'),
  'pgtap-device-aDevice aactive', 'a viewer of A reads the devices of A (named columns)');
select matches(
  tests.value_as('authenticated', tests.id('owner_a'), 'select credential_hash from public.devices'),
  '^SQLSTATE 42501', 'not even the owner reads devices.credential_hash');
select matches(
  tests.value_as('authenticated', tests.id('owner_a'), 'select count(*) from (select * from public.devices) d'),
  '^SQLSTATE 42501', 'select * from devices is refused (credential_hash is not granted): name the columns');
select matches(
  tests.value_as('authenticated', tests.id('owner_a'), 'select count(*) from ops.settings'),
  '^SQLSTATE 42501', 'the ops schema is invisible to tenants');

-- Alert rules: owners and admins write, viewers do not -------------------------------------------

select is(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    $$insert into public.alert_rules (tenant_id, name, device_id, metric, operator, threshold)
      values (%L, 'owner rule', %L, 'temperature', '>', 40)$$, tests.id('tenant_a'), tests.id('device_a'))),
  '1', 'the owner of A creates an alert rule for A');
select is(
  tests.exec_as('authenticated', tests.id('admin_a'), format(
    $$insert into public.alert_rules (tenant_id, name, kind, no_data_seconds)
      values (%L, 'admin rule', 'no_data', 600)$$, tests.id('tenant_a'))),
  '1', 'an admin of A creates an alert rule for A');
select matches(
  tests.exec_as('authenticated', tests.id('viewer_a'), format(
    $$insert into public.alert_rules (tenant_id, name, metric, operator, threshold)
      values (%L, 'viewer rule', 'temperature', '>', 40)$$, tests.id('tenant_a'))),
  '^SQLSTATE 42501', 'a viewer of A cannot create an alert rule for A');
select is(
  tests.exec_as('authenticated', tests.id('viewer_a'), 'update public.alert_rules set enabled = false'),
  '0', 'a viewer of A updates no alert rule of A');
select is(
  tests.exec_as('authenticated', tests.id('viewer_a'), 'delete from public.alert_rules'),
  '0', 'a viewer of A deletes no alert rule of A');
select is(
  (select count(*)::int from public.alert_rules where tenant_id = tests.id('tenant_a') and enabled),
  3, 'the alert rules of A are all still there and enabled');
select is(
  tests.exec_as('authenticated', tests.id('admin_a'),
    format('update public.alert_rules set threshold = 45 where id = %L', tests.id('rule_a'))),
  '1', 'an admin of A changes an alert rule of A');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    $$insert into public.alert_rules (tenant_id, name, metric, operator, threshold)
      values (%L, 'rule for B', 'temperature', '>', 40)$$, tests.id('tenant_b'))),
  '^SQLSTATE 42501', 'the owner of A cannot create an alert rule for B');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    $$insert into public.alert_rules (tenant_id, name, device_id, metric, operator, threshold)
      values (%L, 'A rule on a device of B', %L, 'temperature', '>', 40)$$, tests.id('tenant_a'), tests.id('device_b'))),
  '^SQLSTATE 23503', 'an alert rule of A cannot name a device of B (foreign key on (device_id, tenant_id))');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'),
    format('update public.alert_rules set tenant_id = %L where id = %L', tests.id('tenant_b'), tests.id('rule_a'))),
  '^SQLSTATE 42501', 'the owner of A cannot move an alert rule to another tenant');
select is(
  tests.exec_as('authenticated', tests.id('owner_a'),
    format('delete from public.alert_rules where name = %L', 'admin rule')),
  '1', 'the owner of A deletes an alert rule of A');

-- Devices: owners and admins rename and disable; nobody writes the credential ----------------------

select is(
  tests.exec_as('authenticated', tests.id('admin_a'),
    format($$update public.devices set name = 'Boiler', status = 'disabled' where id = %L$$, tests.id('device_a'))),
  '1', 'an admin of A renames and disables a device of A');
select is(
  tests.exec_as('authenticated', tests.id('viewer_a'), $$update public.devices set name = 'viewer was here'$$),
  '0', 'a viewer of A renames no device');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'), $$update public.devices set credential_hash = '$7$x'$$),
  '^SQLSTATE 42501', 'the owner of A cannot write a device credential');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'),
    format($$insert into public.devices (tenant_id, device_key, credential_hash) values (%L, 'pgtap-new', '$7$x')$$, tests.id('tenant_a'))),
  '^SQLSTATE 42501', 'devices are registered server-side, not by tenants');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'), 'delete from public.devices'),
  '^SQLSTATE 42501', 'tenants do not delete devices');

-- Alerts: owners and admins acknowledge, as themselves ------------------------------------------

select is(
  tests.exec_as('authenticated', tests.id('admin_a'), format(
    'update public.alerts set acknowledged_at = now(), acknowledged_by = %L where id = %L',
    tests.id('admin_a'), tests.id('alert_a'))),
  '1', 'an admin of A acknowledges an alert of A');
select matches(
  tests.exec_as('authenticated', tests.id('admin_a'), format(
    'update public.alerts set acknowledged_by = %L where id = %L', tests.id('owner_a'), tests.id('alert_a'))),
  '^SQLSTATE 42501', 'an admin cannot acknowledge in the name of someone else');
select is(
  tests.exec_as('authenticated', tests.id('viewer_a'), format(
    'update public.alerts set acknowledged_at = now(), acknowledged_by = %L', tests.id('viewer_a'))),
  '0', 'a viewer of A acknowledges nothing');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'), $$update public.alerts set status = 'resolved', resolved_at = now()$$),
  '^SQLSTATE 42501', 'tenants do not resolve alerts (the alert engine does)');

-- Members: owners manage them; nobody can leave a tenant without an owner -------------------------

select is(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    $$insert into public.tenant_members (tenant_id, user_id, role) values (%L, %L, 'viewer')$$,
    tests.id('tenant_a'), tests.id('new_member'))),
  '1', 'the owner of A adds a member to A');
select is(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    $$update public.tenant_members set role = 'admin' where user_id = %L$$, tests.id('new_member'))),
  '1', 'the owner of A changes a member''s role');
select matches(
  tests.exec_as('authenticated', tests.id('admin_a'), format(
    $$insert into public.tenant_members (tenant_id, user_id, role) values (%L, %L, 'viewer')$$,
    tests.id('tenant_a'), tests.id('outsider'))),
  '^SQLSTATE 42501', 'an admin of A cannot add members');
select is(
  tests.exec_as('authenticated', tests.id('admin_a'), $$update public.tenant_members set role = 'owner'$$),
  '0', 'an admin of A cannot change roles (not even their own)');
select is(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    $$update public.tenant_members set role = 'viewer' where user_id = %L$$, tests.id('owner_a'))),
  '0', 'the owner of A cannot demote themselves');
select is(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    'delete from public.tenant_members where user_id = %L', tests.id('owner_a'))),
  '0', 'the owner of A cannot remove themselves');
select matches(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    'update public.tenant_members set user_id = %L where user_id = %L', tests.id('outsider'), tests.id('new_member'))),
  '^SQLSTATE 42501', 'a membership''s user and tenant cannot be rewritten (only role is updatable)');
select is(
  tests.exec_as('authenticated', tests.id('owner_a'), format(
    'delete from public.tenant_members where user_id = %L', tests.id('new_member'))),
  '1', 'the owner of A removes a member');

-- service_role (server side) bypasses RLS ---------------------------------------------------------

select ok(
  tests.value_as('service_role', null, 'select count(distinct tenant_id) from public.telemetry')::int >= 2,
  'service_role reads every tenant''s telemetry');
select is(
  tests.exec_as('service_role', null, format(
    $$update ops.tenant_rate_limits set reason = 'cost spike' where tenant_id = %L$$, tests.id('tenant_b'))),
  '1', 'service_role writes ops tables');

-- One open alert per (rule, device) --------------------------------------------------------------

select ok(
  exists (
    select from pg_index i
    where i.indexrelid = 'public.alerts_one_open_per_rule_device'::regclass
      and i.indisunique
      and i.indrelid = 'public.alerts'::regclass
      and pg_get_indexdef(i.indexrelid) ~ '\(rule_id, device_id\) WHERE \(status = ''firing''::text\)'),
  'alerts_one_open_per_rule_device: unique on (rule_id, device_id) where status = firing');
select throws_ok(
  format($$insert into public.alerts (tenant_id, rule_id, device_id, severity) values (%L, %L, %L, 'warning')$$,
         tests.id('tenant_a'), tests.id('rule_a'), tests.id('device_a')),
  '23505', null, 'a second firing alert for the same (rule, device) is refused');
update public.alerts set status = 'resolved', resolved_at = now() where id = tests.id('alert_a');
select lives_ok(
  format($$insert into public.alerts (tenant_id, rule_id, device_id, severity) values (%L, %L, %L, 'warning')$$,
         tests.id('tenant_a'), tests.id('rule_a'), tests.id('device_a')),
  'once the open alert is resolved, the (rule, device) may fire again');
select lives_ok(
  format($$insert into public.alerts (tenant_id, rule_id, device_id, status, severity, resolved_at)
           values (%L, %L, %L, 'resolved', 'warning', now())$$,
         tests.id('tenant_a'), tests.id('rule_a'), tests.id('device_a')),
  'resolved alerts of the same (rule, device) may be many');

select * from finish();
rollback;
