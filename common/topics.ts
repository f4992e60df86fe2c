/**
 * The MQTT topic scheme, defined once. Every deployable (broker ACL, bridge, ingest, alert
 * notifications, simulator) imports it from here.
 *
 *   t/<tenantSlug>/<deviceKey>/telemetry   device -> platform (QoS 1)
 *   t/<tenantSlug>/alerts                  platform -> tenant (alert notifications)
 *   ops/probe/<username>                   the uptime probe's own round trip (publish, receive)
 *
 * The device key is globally unique and is also the device's MQTT username, so the broker ACL can
 * pin a device to exactly one topic. The tenant segment is a routing convenience for tenants'
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

function assertSegment(what: string, value: string): void {
  if (!isValidSegment(value)) {
    throw new Error(
      `invalid ${what} ${JSON.stringify(value)}: use 2-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
    );
  }
}
