-- Device keys may not take a name reserved for the platform's own MQTT clients.
begin;
set local search_path = public, extensions;
select plan(4);

insert into public.plans (id, name, max_devices, max_messages_per_day, retention_days, ai_tokens_per_month, monthly_price_cents)
values ('rk-plan', 'Reserved keys plan', 10, 1000, 30, 1000, 0);
insert into public.tenants (id, slug, name, plan_id) values ('00000000-0000-0000-0000-00000000c0c1', 'rk-a', 'A', 'rk-plan');

select throws_ok(
  $$insert into public.devices (tenant_id, device_key, credential_hash)
    values ('00000000-0000-0000-0000-00000000c0c1', 'svc-uptime', '$7$x')$$,
  '23514', null, 'a device key starting with svc- is refused');
select throws_ok(
  $$insert into public.devices (tenant_id, device_key, credential_hash)
    values ('00000000-0000-0000-0000-00000000c0c1', 'bridge-vm1', '$7$x')$$,
  '23514', null, 'a device key starting with bridge- is refused');
select lives_ok(
  $$insert into public.devices (tenant_id, device_key, credential_hash)
    values ('00000000-0000-0000-0000-00000000c0c1', 'mybridge-1', '$7$x')$$,
  'a key merely containing bridge is a device like any other');
select throws_ok(
  $$update public.devices set device_key = 'svc-x' where device_key = 'mybridge-1'$$,
  '23514', null, 'renaming a device to a reserved key is refused');

select * from finish();
rollback;
