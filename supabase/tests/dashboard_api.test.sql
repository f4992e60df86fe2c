-- The dashboard's data API (migration 20261201000001_dashboard_api.sql, docs/dashboard.md):
-- every object readable by authenticated only, RLS deciding what each caller sees; the hourly
-- rollup kept by the telemetry trigger; device_series switching from raw rows to the rollup by
-- range; acknowledge_alert allowed to the alert's tenant only. Calls run as PostgREST runs them
-- (set local role + request.jwt.claims: tests.value_as / tests.exec_as).
begin;
set local search_path = public, extensions;
\ir support/helpers.psql
\ir support/two_tenants.psql
-- From here on a half-hour zone: hours and days must be UTC whatever the session's time zone.
set local timezone = 'Asia/Kolkata';

select plan(72);

-- Objects and grants -------------------------------------------------------------------------------

select has_table('public', 'telemetry_hourly', 'table public.telemetry_hourly exists');
select has_view('public', v, format('view public.%s exists', v))
  from unnest(array['my_tenants', 'dashboard_devices', 'dashboard_alerts', 'dashboard_usage', 'platform_status']) v;
select has_function('public', 'device_series', array['uuid', 'text', 'timestamp with time zone', 'timestamp with time zone', 'integer'],
  'function public.device_series(uuid, text, timestamptz, timestamptz, integer) exists');
select has_function('public', 'acknowledge_alert', array['uuid'], 'function public.acknowledge_alert(uuid) exists');

select is(
  array(select c.relname::text from pg_class c
         where c.relnamespace = 'public'::regnamespace
           and c.relname in ('my_tenants', 'dashboard_devices', 'dashboard_alerts', 'dashboard_usage', 'platform_status')
           and not coalesce(c.reloptions @> array['security_invoker=on'] or c.reloptions @> array['security_invoker=true'], false)
         order by 1),
  '{}'::text[], 'every dashboard view is security_invoker (the caller''s RLS applies)');
select is(
  array(select v from unnest(array['my_tenants', 'dashboard_devices', 'dashboard_alerts', 'dashboard_usage', 'platform_status']) v
         where not has_table_privilege('authenticated', 'public.' || v, 'select')
            or has_table_privilege('anon', 'public.' || v, 'select, insert, update, delete')
            or has_table_privilege('authenticated', 'public.' || v, 'insert, update, delete, truncate')
         order by 1),
  '{}'::text[], 'every dashboard view: select for authenticated only, no write, nothing for anon');
select ok(
  has_table_privilege('authenticated', 'public.telemetry_hourly', 'select')
  and not has_table_privilege('authenticated', 'public.telemetry_hourly', 'insert, update, delete, truncate')
  and not has_table_privilege('anon', 'public.telemetry_hourly', 'select, insert, update, delete, truncate'),
  'telemetry_hourly: authenticated reads (under RLS), nobody but the server writes, anon nothing');
select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.oid in ('public.device_series(uuid, text, timestamptz, timestamptz, integer)'::regprocedure,
                         'public.acknowledge_alert(uuid)'::regprocedure)
           and (p.prosecdef
                or not has_function_privilege('authenticated', p.oid, 'execute')
                or has_function_privilege('anon', p.oid, 'execute')
                or not coalesce(p.proconfig @> array['search_path=""'], false))
         order by 1),
  '{}'::text[], 'device_series and acknowledge_alert: security invoker, empty search_path, authenticated only');
select is(
  array(select p.oid::regprocedure::text from pg_proc p
         where p.oid in ('private.platform_status()'::regprocedure, 'private.member_email(uuid, uuid)'::regprocedure,
                         'private.telemetry_hourly_rollup()'::regprocedure)
           and (has_function_privilege('anon', p.oid, 'execute')
                or not coalesce(p.proconfig @> array['search_path=""'], false))
         order by 1),
  '{}'::text[], 'the private helpers: empty search_path, not executable by anon');
select ok(
  not has_function_privilege('authenticated', 'private.telemetry_hourly_rollup()', 'execute'),
  'the rollup trigger function is not executable by authenticated');

-- The hourly rollup ---------------------------------------------------------------------------------
-- Readings of a metric the fixture does not use ("pressure"), 10 minutes apart from three hours
-- before the current UTC hour; with values the rollup must skip and a metrics value that is not an object at all.

create temp table h3 as select date_trunc('hour', now(), 'UTC') - interval '3 hours' as hour;
grant select on h3 to public;

insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
select tests.id('tenant_a'), tests.id('device_a'), (select hour from h3) + make_interval(mins => 10 * k), 'r' || k, m::jsonb
  from (values
    (1, '{"pressure": 10, "humidity": 50, "fw": "1.2", "door": true, "gps": {"lat": 1}, "none": null}'),
    (2, '{"pressure": 20, "huge": 1e400}'),
    (3, '{"pressure": 30, "tiny": 1e-400, "zero": 0}'),
    (4, '[1, 2]')) v(k, m);
insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
values (tests.id('tenant_b'), tests.id('device_b'), (select hour from h3) + interval '1 minute', 'r1', '{"pressure": 99}');
-- A retried message: skipped by the primary key, so not counted again.
insert into public.telemetry (tenant_id, device_id, ts, msg_key, metrics)
values (tests.id('tenant_a'), tests.id('device_a'), (select hour from h3) + interval '10 minutes', 'r1', '{"pressure": 10}')
on conflict do nothing;

select is(
  (select format('%s %s %s %s', samples, sum, min, max) from public.telemetry_hourly
    where device_id = tests.id('device_a') and metric = 'pressure' and hour = (select hour from h3)),
  '3 60 10 30', 'rollup: samples, sum, min and max of the hour; the retried duplicate is not counted');
select is(
  array(select metric || ':' || samples from public.telemetry_hourly
         where device_id = tests.id('device_a') and hour = (select hour from h3) order by metric),
  array['humidity:1', 'pressure:3', 'zero:1'],
  'rollup: only top-level numbers a double holds (no strings, booleans, objects, nulls, 1e400, 1e-400, non-objects)');
select is(
  (select count(*)::int from public.telemetry_hourly
    where device_id = tests.id('device_a') and metric = 'temperature'),
  (select count(*)::int from public.telemetry where device_id = tests.id('device_a') and metrics ? 'temperature'),
  'rollup: one hour per fixture reading (inserted through public.telemetry, so counted by the trigger)');
select is(
  (select extract(minute from hour at time zone 'UTC')::int from public.telemetry_hourly
    where device_id = tests.id('device_a') and metric = 'pressure'),
  0, 'rollup: hours start on the UTC hour in a +05:30 session');

-- Tenant switcher: my_tenants ----------------------------------------------------------------------

insert into public.tenant_members (tenant_id, user_id, role) values
  (tests.id('tenant_a'), tests.id('new_member'), 'viewer'),
  (tests.id('tenant_b'), tests.id('new_member'), 'admin');

select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    $$select string_agg(format('%s %s %s %s %s', id, slug, name, role, plan_name), ',') from public.my_tenants$$),
  format('%s pgtap-tenant-a Tenant A owner pgTAP plan', tests.id('tenant_a')),
  'my_tenants: the owner of A sees A only, with role and plan name');
select is(
  tests.value_as('authenticated', tests.id('new_member'),
    $$select string_agg(slug || ':' || role, ',' order by slug) from public.my_tenants$$),
  'pgtap-tenant-a:viewer,pgtap-tenant-b:admin',
  'my_tenants: a member of two tenants sees both, with its own role in each (not the other members'')');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select count(*) from public.my_tenants where id = %L', tests.id('tenant_b'))),
  '0', 'my_tenants: tenant B asked for by id: nothing');
select is(tests.value_as('authenticated', tests.id('outsider'), 'select count(*) from public.my_tenants'), '0',
  'my_tenants: a user of no tenant sees none');
select matches(tests.value_as('anon', null, 'select count(*) from public.my_tenants'), '^SQLSTATE 42501',
  'my_tenants: anon is refused');

-- Devices ------------------------------------------------------------------------------------------

update public.devices set last_seen = now() - interval '299 seconds' where id = tests.id('device_a');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    $$select string_agg(format('%s %s %s %s', device_key, online, latest_metrics, sparkline_from = date_trunc('hour', now(), 'UTC') - interval '23 hours'), ',')
        from public.dashboard_devices$$),
  'pgtap-device-a t {"temperature": 21} t',
  'dashboard_devices: the owner of A sees A''s device, online (seen 299 s ago), its last values');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select count(*) from public.dashboard_devices where id = %L', tests.id('device_b'))),
  '0', 'dashboard_devices: B''s device asked for by id: nothing');
select is(
  tests.value_as('authenticated', tests.id('viewer_a'),
    $$select format('%s %s %s', jsonb_array_length(sparkline -> 'pressure'), sparkline -> 'pressure' -> 20,
                    (select count(*) from jsonb_array_elements(sparkline -> 'pressure') e where e = 'null'))
        from public.dashboard_devices$$),
  '24 20 23', 'dashboard_devices: sparkline of 24 hourly means, oldest first (3 h ago = slot 20), null for empty hours');
select is(
  tests.value_as('authenticated', tests.id('viewer_a'),
    $$select sparkline ?& array['pressure', 'humidity', 'zero'] and not sparkline ? 'fw' from public.dashboard_devices$$),
  'true', 'dashboard_devices: a sparkline per numeric metric only');
update public.devices set last_seen = now() - interval '301 seconds' where id = tests.id('device_a');
select is(tests.value_as('authenticated', tests.id('owner_a'), 'select online from public.dashboard_devices'), 'false',
  'dashboard_devices: offline once last seen more than 5 minutes ago');
update public.devices set last_seen = null where id = tests.id('device_a');
select is(tests.value_as('authenticated', tests.id('owner_a'), 'select online from public.dashboard_devices'), 'false',
  'dashboard_devices: offline when never seen');
select is(
  tests.value_as('authenticated', tests.id('owner_b'),
    $$select string_agg(device_key || ' ' || (sparkline -> 'pressure' -> 20), ',') from public.dashboard_devices$$),
  'pgtap-device-b 99', 'dashboard_devices: the owner of B sees only B''s device and its own sparkline');
select is(tests.value_as('authenticated', tests.id('outsider'), 'select count(*) from public.dashboard_devices'), '0',
  'dashboard_devices: a user of no tenant sees none');
select matches(tests.value_as('anon', null, 'select count(*) from public.dashboard_devices'), '^SQLSTATE 42501',
  'dashboard_devices: anon is refused');

-- Device series: raw rows up to 24 hours, the hourly rollup beyond ---------------------------------
-- A marked rollup row (its mean made 1000, which no reading has) shows which source answered.

update public.telemetry_hourly set sum = 3000
 where device_id = tests.id('device_a') and metric = 'pressure' and hour = (select hour from h3);

create function tests.series(who text, device text, from_sql text, to_sql text, max_points text default '1000')
returns text language sql as $$
  select tests.value_as('authenticated', tests.id(who), format(
    $q$select coalesce(string_agg(format('%%s/%%s/%%s/%%s', value, samples, resolution,
                                         extract(epoch from ts - (select hour from h3))::int), ' ' order by ts), '')
         from public.device_series(%L, 'pressure', %s, %s, %s)$q$,
    tests.id(device), from_sql, to_sql, max_points))
$$;

select is(tests.series('owner_a', 'device_a', '(select hour from h3)', '(select hour from h3) + interval ''1 hour''', 'null'),
  '10/1/raw/600 20/1/raw/1200 30/1/raw/1800',
  'device_series, 1 h, every point: the raw readings with their own ts');
select is(tests.series('owner_a', 'device_a', '(select hour from h3)', '(select hour from h3) + interval ''1 hour'''),
  '10/1/raw/600 20/1/raw/1200 30/1/raw/1800',
  'device_series, 1 h, at most 1000 points: still the raw readings');
select is(tests.series('owner_a', 'device_a', '(select hour from h3)', '(select hour from h3) + interval ''1 hour''', '1'),
  '20/3/raw/0', 'device_series, 1 h, at most 1 point: the mean of the raw readings, with their count');
select is(tests.series('owner_a', 'device_a', 'now() - interval ''24 hours''', 'now()'),
  '10/1/raw/600 20/1/raw/1200 30/1/raw/1800', 'device_series, 24 h: raw rows (not the marked rollup)');
select is(tests.series('owner_a', 'device_a', 'now() - interval ''24 hours 1 second''', 'now()'),
  '1000/3/hour/0', 'device_series, just over 24 h: the hourly rollup (the marked row)');
select is(tests.series('owner_a', 'device_a', 'now() - interval ''30 days''', 'now()'),
  '1000/3/hour/0', 'device_series, 30 days: the hourly rollup');
select is(
  tests.value_as('authenticated', tests.id('owner_a'), format(
    $$select (count(*) <= 10) || ' ' || sum(samples) from public.device_series(%L, 'temperature', now() - interval '30 days', now() + interval '30 days', 10)$$,
    tests.id('device_a'))),
  (select 'true ' || count(*) from public.telemetry where device_id = tests.id('device_a') and metrics ? 'temperature'
     and ts >= date_trunc('hour', now() - interval '30 days', 'UTC') and ts < now() + interval '30 days'),
  'device_series, 60 days at most 10 points: whole-hour buckets, every reading counted once');
select is(tests.series('owner_a', 'device_b', 'now() - interval ''24 hours''', 'now()'), '',
  'device_series: B''s device asked for by id by the owner of A, raw range: nothing');
select is(tests.series('owner_a', 'device_b', 'now() - interval ''30 days''', 'now()'), '',
  'device_series: B''s device asked for by id by the owner of A, rollup range: nothing');
select is(tests.series('owner_b', 'device_b', 'now() - interval ''24 hours''', 'now()'), '99/1/raw/60',
  'device_series: the owner of B reads B''s device');
select matches(tests.series('owner_a', 'device_a', 'now()', 'now() - interval ''1 hour'''), '^SQLSTATE 22023',
  'device_series: an empty or reversed range is refused (22023)');
select matches(tests.series('owner_a', 'device_a', 'now() - interval ''2 years''', 'now()'), '^SQLSTATE 22023',
  'device_series: more than 400 days is refused (22023)');
select matches(
  tests.value_as('anon', null, format($$select count(*) from public.device_series(%L, 'pressure', now() - interval '1 hour')$$, tests.id('device_a'))),
  '^SQLSTATE 42501', 'device_series: anon is refused');

-- Alerts -------------------------------------------------------------------------------------------

insert into public.alerts (id, tenant_id, rule_id, device_id, status, severity, value, message, fired_at, resolved_at)
values (tests.id('alert_a_resolved'), tests.id('tenant_a'), tests.id('rule_a'), tests.id('device_a'), 'resolved',
        'critical', 40, 'resolved one', now() - interval '2 hours', now() - interval '1 hour');

select is(
  tests.value_as('authenticated', tests.id('viewer_a'),
    $$select string_agg(format('%s %s %s %s %s %s %s', state, severity, rule_name, rule_metric || rule_operator || rule_threshold,
                               device_key, device_name, acknowledged_by is null), ',' order by fired_at)
        from public.dashboard_alerts$$),
  'resolved critical Too hot a temperature>30 pgtap-device-a Device a t,open warning Too hot a temperature>30 pgtap-device-a Device a t',
  'dashboard_alerts: a member of A sees A''s alerts with state, rule and device');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select count(*) from public.dashboard_alerts where id = %L', tests.id('alert_b'))),
  '0', 'dashboard_alerts: B''s alert asked for by id: nothing');
select matches(tests.value_as('anon', null, 'select count(*) from public.dashboard_alerts'), '^SQLSTATE 42501',
  'dashboard_alerts: anon is refused');

-- acknowledge_alert

select is(
  tests.value_as('authenticated', tests.id('admin_a'),
    format($$select format('%%s %%s %%s %%s', state, acknowledged_by = %L, acknowledged_at = now(), acknowledged_by_email)
               from public.acknowledge_alert(%L)$$, tests.id('admin_a'), tests.id('alert_a'))),
  'acknowledged t t admin_a@example.test',
  'acknowledge_alert: an admin of A acknowledges A''s alert: who (auth.uid()) and when, as dashboard_alerts shows it');
select is(
  (select format('%s %s', acknowledged_by = tests.id('admin_a'), acknowledged_at = now())
     from public.alerts where id = tests.id('alert_a')),
  't t', 'acknowledge_alert: the acknowledgement is stored on the alert');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select state || '' '' || acknowledged_by_email from public.dashboard_alerts where id = %L', tests.id('alert_a'))),
  'acknowledged admin_a@example.test', 'dashboard_alerts: other members see the alert acknowledged, and by whom');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select acknowledged_by = %L from public.acknowledge_alert(%L)', tests.id('admin_a'), tests.id('alert_a'))),
  'true', 'acknowledge_alert: acknowledging again keeps the first acknowledgement');
select matches(
  tests.value_as('authenticated', tests.id('owner_a'), format('select state from public.acknowledge_alert(%L)', tests.id('alert_b'))),
  '^SQLSTATE 42501', 'acknowledge_alert: the owner of A cannot acknowledge B''s alert (42501)');
select matches(
  tests.value_as('authenticated', tests.id('outsider'), format('select state from public.acknowledge_alert(%L)', tests.id('alert_a_resolved'))),
  '^SQLSTATE 42501', 'acknowledge_alert: a user of no tenant is refused (42501)');
select matches(
  tests.value_as('authenticated', tests.id('viewer_a'), format('select state from public.acknowledge_alert(%L)', tests.id('alert_a_resolved'))),
  '^SQLSTATE 42501', 'acknowledge_alert: a viewer of A is refused (viewers only read; 42501)');
select matches(
  tests.value_as('anon', null, format('select state from public.acknowledge_alert(%L)', tests.id('alert_a_resolved'))),
  '^SQLSTATE 42501', 'acknowledge_alert: anon is refused (42501)');
select matches(
  tests.value_as('authenticated', tests.id('owner_a'), format('select state from public.acknowledge_alert(%L)', tests.id('no_such_alert'))),
  '^SQLSTATE 42501', 'acknowledge_alert: an id that is no alert is refused like another tenant''s (42501)');
select is(
  (select count(*)::int from public.alerts
    where id in (tests.id('alert_b'), tests.id('alert_a_resolved')) and acknowledged_at is not null),
  0, 'acknowledge_alert: the refused calls changed nothing');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select state || '' '' || (acknowledged_by = %L) from public.acknowledge_alert(%L)', tests.id('owner_a'), tests.id('alert_a_resolved'))),
  'resolved true', 'acknowledge_alert: a resolved alert can be acknowledged; it stays resolved');
select is(
  tests.value_as('authenticated', tests.id('owner_b'),
    format('select acknowledged_by_email is null from public.dashboard_alerts where id = %L', tests.id('alert_b'))),
  'true', 'dashboard_alerts: B''s unacknowledged alert has no acknowledger');

-- Usage vs plan ------------------------------------------------------------------------------------

insert into public.devices (id, tenant_id, device_key, name, credential_hash, status)
values (tests.id('device_a_off'), tests.id('tenant_a'), 'pgtap-device-a-off', 'Off', '$7$101$fixture$off', 'disabled');
insert into public.usage_hourly (tenant_id, device_id, hour, messages, bytes) values
  (tests.id('tenant_a'), tests.id('device_a'), date_trunc('day', now(), 'UTC') - interval '1 hour', 1000, 100000),
  (tests.id('tenant_a'), tests.id('device_a'), now() - interval '31 days', 5000, 700000);

select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    $$select format('%s/%s of %s; %s of %s today (%s B); %s B kept %s d; %s', devices, devices_total, max_devices,
                    messages_today, max_messages_per_day, bytes_today, storage_bytes_estimate, retention_days, plan_name)
        from public.dashboard_usage$$),
  '1/2 of 10; 81 of 100000 today (4096 B); 104096 B kept 30 d; pgTAP plan',
  'dashboard_usage: active devices vs plan, messages since UTC midnight vs plan, bytes within retention');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select count(*) from public.dashboard_usage where tenant_id = %L', tests.id('tenant_b'))),
  '0', 'dashboard_usage: tenant B asked for by id: nothing');
select is(
  tests.value_as('authenticated', tests.id('owner_a'), $$select day_start = date_trunc('day', now(), 'UTC') from public.dashboard_usage$$),
  'true', 'dashboard_usage: the day starts at UTC midnight (the quota''s day)');
select matches(tests.value_as('anon', null, 'select count(*) from public.dashboard_usage'), '^SQLSTATE 42501',
  'dashboard_usage: anon is refused');

-- Platform status ----------------------------------------------------------------------------------

select is(
  tests.value_as('authenticated', tests.id('outsider'),
    $$select format('%s %s %s', maintenance, message = '', retry_after_seconds) from public.platform_status$$),
  'f t 60', 'platform_status: any signed-in user, even of no tenant, reads it: maintenance off');
update ops.settings set value = '{"enabled": true, "reason": "broker-down playbook (incident #7)", "retryAfterSeconds": 120}',
       updated_at = now()
 where key = 'maintenance';
select is(
  tests.value_as('authenticated', tests.id('viewer_a'),
    $$select format('%s %s %s', maintenance, message, retry_after_seconds) from public.platform_status$$),
  't broker-down playbook (incident #7) 120', 'platform_status: maintenance on, with the playbook''s reason');
update ops.settings set value = '{"enabled": "yes", "retryAfterSeconds": "soon"}' where key = 'maintenance';
select is(
  tests.value_as('authenticated', tests.id('viewer_a'),
    $$select format('%s [%s] %s', maintenance, message, coalesce(retry_after_seconds::text, 'null')) from public.platform_status$$),
  'f [] null', 'platform_status: a malformed flag reads as off, without an error');
delete from ops.settings where key = 'maintenance';
select is(tests.value_as('authenticated', tests.id('viewer_a'), 'select maintenance from public.platform_status'), 'false',
  'platform_status: no flag at all reads as off');
select matches(tests.value_as('anon', null, 'select count(*) from public.platform_status'), '^SQLSTATE 42501',
  'platform_status: anon is refused');
select ok(
  tests.value_as('authenticated', tests.id('owner_a'), 'select count(*) from ops.settings') like 'SQLSTATE 42501%',
  'ops.settings itself stays unreadable for authenticated');

-- A member removed from a tenant loses it on the next statement (membership, not JWT claims) -------

delete from public.tenant_members where tenant_id = tests.id('tenant_a') and user_id = tests.id('admin_a');
select is(
  tests.value_as('authenticated', tests.id('admin_a'),
    $$select (select count(*) from public.my_tenants) + (select count(*) from public.dashboard_devices)
             + (select count(*) from public.dashboard_alerts) + (select count(*) from public.dashboard_usage)$$),
  '0', 'a removed member sees nothing at once, with the same token');
select is(
  tests.value_as('authenticated', tests.id('owner_a'),
    format('select acknowledged_by_email is null from public.dashboard_alerts where id = %L', tests.id('alert_a'))),
  'true', 'dashboard_alerts: the e-mail of an acknowledger who left the tenant is no longer shown');

select * from finish();
rollback;
