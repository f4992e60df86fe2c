/**
 * The MQTT topic scheme, defined once. Every deployable (broker ACL, bridge, ingest, alert
 * notifications, simulator) imports it from here.
 *
 *   t/<tenantSlug>/<deviceKey>/telemetry   device -> platform (QoS 1)
 *   t/<tenantSlug>/alerts                  platform -> tenant (alert notifications)
 *   ops/probe/<username>                   the uptime probe's own round trip (publish, receive)
 *
 * The device key is globally unique and is also the device's MQTT username (and its client id on
 * the listeners devices use), so the broker ACL can pin a device to exactly one topic. The tenant segment is a routing convenience for tenants'
 * subscribers: ingest takes the tenant from the device registry and rejects a topic whose tenant
 * segment disagrees with it (it never trusts the topic for attribution).
 */

export const TOPIC_ROOT = 't';
export const TELEMETRY_LEAF = 'telemetry';
export const ALERTS_LEAF = 'alerts';

/** Outside the tenants' tree: the uptime probe publishes to and reads from its own topic only. */
export const PROBE_ROOT = 'ops/probe';

export function probeTopic(username: string): string {
  assertSegment('probe username', username);
  return `${PROBE_ROOT}/${username}`;
}

/** Shared-subscription group the bridge instances join. */
export const BRIDGE_SHARE_GROUP = 'ingest';

const SEGMENT = /^[a-z0-9][a-z0-9._-]{1,63}$/;

export function isValidSegment(segment: string): boolean {
  return SEGMENT.test(segment);
}

export function telemetryTopic(tenantSlug: string, deviceKey: string): string {
  assertSegment('tenant slug', tenantSlug);
  assertSegment('device key', deviceKey);
  return `${TOPIC_ROOT}/${tenantSlug}/${deviceKey}/${TELEMETRY_LEAF}`;
}

export function alertsTopic(tenantSlug: string): string {
  assertSegment('tenant slug', tenantSlug);
  return `${TOPIC_ROOT}/${tenantSlug}/${ALERTS_LEAF}`;
}

/** The filter that matches every device's telemetry topic. */
export const TELEMETRY_FILTER = `${TOPIC_ROOT}/+/+/${TELEMETRY_LEAF}`;

/** The filter the bridge subscribes with: shared when the broker supports it. */
export function bridgeSubscription(shared: boolean): string {
  return shared ? `$share/${BRIDGE_SHARE_GROUP}/${TELEMETRY_FILTER}` : TELEMETRY_FILTER;
}

export interface ParsedTelemetryTopic {
  tenantSlug: string;
  deviceKey: string;
}

/** Parses a telemetry topic; returns null for anything that is not exactly one. */
export function parseTelemetryTopic(topic: string): ParsedTelemetryTopic | null {
  const parts = topic.split('/');
  if (parts.length !== 4 || parts[0] !== TOPIC_ROOT || parts[3] !== TELEMETRY_LEAF) return null;
  const [, tenantSlug, deviceKey] = parts as [string, string, string, string];
  if (!isValidSegment(tenantSlug) || !isValidSegment(deviceKey)) return null;
  return { tenantSlug, deviceKey };
}

/**
 * Name prefixes reserved for the platform's own MQTT clients: no device key (and so no device's
 * username, which is its client id on every listener devices can reach) may start with one, so a
 * device can never hold a service's client id and take over its session (docs/broker.md, "Client
 * ids"). `svc-`: service usernames and the client ids services choose on the loopback listener;
 * `bridge-`: the bridge's default client id `bridge-<hostname>`, kept so an upgrade does not move
 * the bridge to a new session (and new envelope ids).
 */
export const RESERVED_NAME_PREFIXES = ['svc-', 'bridge-'] as const;

export function isReservedName(name: string): boolean {
  return RESERVED_NAME_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** A device key: a topic segment that does not start with a reserved prefix. */
export function isValidDeviceKey(key: string): boolean {
  return isValidSegment(key) && !isReservedName(key);
}

export function assertDeviceKey(key: string): void {
  assertSegment('device key', key);
  if (isReservedName(key)) {
    throw new Error(
      `invalid device key ${JSON.stringify(key)}: ${RESERVED_NAME_PREFIXES.map((p) => `'${p}'`).join(' and ')} are reserved for the platform's own MQTT clients`,
    );
  }
}

/**
 * Whether a device could ever connect under this client id: on the device listeners a client id
 * is the username, and a device's username is its key. A service that connects with such an id
 * on the loopback listener can be disconnected by a device registered under that key.
 */
export function deviceCouldClaimClientId(clientId: string): boolean {
  return isValidDeviceKey(clientId);
}

function assertSegment(what: string, value: string): void {
  if (!isValidSegment(value)) {
    throw new Error(
      `invalid ${what} ${JSON.stringify(value)}: use 2-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}
