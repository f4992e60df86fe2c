/**
 * Who may do what on the broker, derived from the topic scheme (common/topics.ts). The result is
 * rendered by ansible/roles/mosquitto/templates/acl.j2 as one `user` block per user.
 *
 * - a device (MQTT username = device key) may only write its own telemetry topic: explicit
 *   per-user lines, never a `pattern` or wildcard write, so one device cannot speak for another;
 *   its key may not start with a reserved prefix (common/topics.ts RESERVED_NAME_PREFIXES);
 * - `bridge` reads every device's telemetry (a plain read rule also covers its `$share/...`
 *   subscription in Mosquitto 2.0);
 * - `alerts` writes the tenants' alert topics;
 * - `probe` (the ops uptime probe) reads and writes its own topic outside the tenants' tree, and
 *   reads the broker's `$SYS` counters (connections, message rates) for the capacity check.
 * Anything not listed is denied. Tenant readers are not modelled yet.
 */
import {
  ALERTS_LEAF,
  TELEMETRY_FILTER,
  TOPIC_ROOT,
  assertDeviceKey,
  probeTopic,
  telemetryTopic,
} from '../common/topics.js';

export type AclAccess = 'read' | 'write' | 'readwrite' | 'deny';

export interface AclRule {
  access: AclAccess;
  topic: string;
}

export interface AclEntry {
  username: string;
  rules: AclRule[];
}

export interface DeviceIdentity {
  role: 'device';
  /** The device key, which is also its MQTT username. */
  username: string;
  tenantSlug: string;
}

export interface ServiceIdentity {
  role: 'bridge' | 'alerts' | 'probe';
  username: string;
}

export type BrokerIdentity = DeviceIdentity | ServiceIdentity;

/** Mosquitto's own counters (`$SYS/broker/...`), published every `sys_interval` seconds. */
export const SYS_FILTER = '$SYS/#';

/** Every tenant's alerts topic (alertsTopic() with a wildcard tenant). */
export const ALERTS_FILTER = `${TOPIC_ROOT}/+/${ALERTS_LEAF}`;

// Password file and ACL are line based: `user:hash` and `user <name>`.
const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function aclRules(identity: BrokerIdentity): AclRule[] {
  switch (identity.role) {
    case 'device':
      // Refuses reserved names: a device's username is its client id on the device listeners.
      assertDeviceKey(identity.username);
      return [{ access: 'write', topic: telemetryTopic(identity.tenantSlug, identity.username) }];
    case 'bridge':
      return [{ access: 'read', topic: TELEMETRY_FILTER }];
    case 'alerts':
      return [{ access: 'write', topic: ALERTS_FILTER }];
    case 'probe':
      return [
        { access: 'readwrite', topic: probeTopic(identity.username) },
        { access: 'read', topic: SYS_FILTER },
      ];
  }
}

/** One entry per user, in the given order; rejects unusable or duplicate usernames. */
export function buildAcl(identities: readonly BrokerIdentity[]): AclEntry[] {
  assertUsernames(identities);
  return identities.map((identity) => ({ username: identity.username, rules: aclRules(identity) }));
}

export function assertUsernames(identities: readonly { username: string }[]): void {
  const seen = new Set<string>();
  for (const { username } of identities) {
    if (!USERNAME.test(username)) {
      throw new Error(
        `invalid MQTT username ${JSON.stringify(username)}: use 1-64 characters of A-Z, a-z, 0-9, '.', '_' or '-', starting with a letter or digit`,
      );
    }
    if (seen.has(username))
      throw new Error(`duplicate MQTT username ${JSON.stringify(username)}: usernames must be unique`);
    seen.add(username);
  }
}
