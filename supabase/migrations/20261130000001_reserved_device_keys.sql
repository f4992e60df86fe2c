-- Device keys are the devices' MQTT usernames, and on the listeners devices reach a client's id is
-- its username (docs/broker.md, "Client ids"). A device named like the id of one of the platform's
-- own clients (svc-..., bridge-...) could take over that client's session, the bridge's included.
-- common/topics.ts refuses such keys (RESERVED_NAME_PREFIXES); this refuses them for every writer.
--
-- NOT VALID so that it is safe to roll onto a live system: rows that exist are not checked (a
-- device with such a key must be renamed before the next broker deploy, which refuses it), while
-- every row inserted or updated from now on is.
alter table public.devices
  add constraint devices_device_key_not_reserved check (device_key !~ '^(svc|bridge)-') not valid;
