/**
 * The embedded fallback broker (aedes, MQTT 3.1.1, no shared subscriptions) for a laptop without
 * Mosquitto. It enforces the same users and ACL as the Mosquitto configuration we ship: passwords
 * are checked against the same Mosquitto hashes and the same ACL entries (broker/acl.ts). Its one
 * listener serves devices and services, so it binds client ids by role instead of by listener: a
 * device's client id is replaced by its username (Mosquitto's use_username_as_clientid on the
 * device listeners), services keep theirs (the bridge's persistent session).
 */
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Aedes, type AuthenticateError } from 'aedes';
import { buildAcl, type AclAccess, type AclEntry, type BrokerIdentity } from '../../broker/acl.js';
import { verifyPassword } from '../../broker/password-hash.js';

export type HashedIdentity = BrokerIdentity & { hash: string };

export interface EmbeddedBroker {
  url: string;
  stop(): Promise<void>;
}

export async function startEmbeddedBroker(users: HashedIdentity[]): Promise<EmbeddedBroker> {
  const acl = new Map(buildAcl(users).map((e) => [e.username, e]));
  const hashes = new Map(users.map((u) => [u.username, u.hash]));
  const devices = new Set(users.filter((u) => u.role === 'device').map((u) => u.username));
  // The identity a connection authenticated as; ACL decisions use it, never the client id.
  const usernames = new WeakMap<object, string>();
  const usernameOf = (client: object | null): string => (client && usernames.get(client)) ?? '';
  const broker = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const hash = username ? hashes.get(username) : undefined;
      if (username && hash && password && verifyPassword(password.toString('utf8'), hash)) {
        usernames.set(client, username);
        // Before aedes looks up the session and takes over a connected client with the same id.
        if (devices.has(username)) client.id = username;
        return done(null, true);
      }
      const error = new Error('bad username or password') as AuthenticateError;
      error.returnCode = 4;
      done(error, false);
    },
    authorizePublish(client, packet, callback) {
      const ok = allowed(acl.get(usernameOf(client)), 'write', packet.topic);
      // Like Mosquitto 2.0: an unauthorized publish is dropped (acknowledged, not delivered).
      callback(ok ? null : new Error(`not authorized to publish to ${packet.topic}`));
    },
    authorizeSubscribe(client, subscription, callback) {
      const ok = allowed(acl.get(usernameOf(client)), 'read', subscription.topic);
      callback(null, ok ? subscription : null);
    },
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async stop() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Mosquitto's ACL semantics for our entries: a filter grants a topic it matches. */
export function allowed(entry: AclEntry | undefined, want: 'read' | 'write', topic: string): boolean {
  if (!entry) return false;
  return entry.rules.some((rule) => grants(rule.access, want) && topicMatches(rule.topic, stripShare(topic)));
}

function grants(access: AclAccess, want: 'read' | 'write'): boolean {
  return access === 'readwrite' || access === want;
}

function stripShare(topic: string): string {
  const m = /^\$share\/[^/]+\/(.*)$/.exec(topic);
  return m ? m[1]! : topic;
}

/** Whether `topic` (which may itself be a filter, for subscriptions) is covered by `filter`. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] === '+') {
      if (t[i] === '#') return false;
      continue;
    }
    if (f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
