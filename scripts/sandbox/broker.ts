/**
 * The sandbox broker: MQTT_URL when given (its users are the operator's business); else a real
 * Mosquitto with the configuration the Ansible role ships (same password file and ACL) when the
 * binary is installed; else the embedded aedes fallback, which enforces the same hashes and ACL.
 */
import { findMosquitto, startMosquitto } from '../../broker/mosquitto-process.js';
import type { ServiceKind } from '../../common/local-env.js';
import { redactUrl } from '../../common/redact-url.js';
import { startEmbeddedBroker, type HashedIdentity } from './embedded-broker.js';

export interface SandboxBroker {
  url: string;
  kind: ServiceKind;
  /** MQTT protocol version clients should speak: 5 on Mosquitto, 4 (3.1.1) on the fallback. */
  protocolVersion: 4 | 5;
  /**
   * Whether the bridge should use a shared subscription. Off: Mosquitto 2.0.11 (Debian 12) drops
   * a persistent session's $share subscription across a broker restart, which loses messages.
   */
  sharedSubscriptions: boolean;
  tlsUrl?: string;
  wsUrl?: string;
  /** The broker process (a real Mosquitto started here). */
  pid?: number;
  stop(): Promise<void>;
}

export async function provideBroker(options: {
  url?: string;
  users: HashedIdentity[];
  dir: string;
  log: (line: string) => void;
  /** Refuse the embedded fallback (benchmarks and reliability runs measure the real broker). */
  requireReal?: boolean;
  /** Use the embedded broker even when Mosquitto is installed (tests of the laptop path). */
  embedded?: boolean;
}): Promise<SandboxBroker> {
  if (options.url) {
    options.log(
      `broker: given ${redactUrl(options.url)} (its users and ACL are not provisioned by the sandbox)`,
    );
    return {
      url: options.url,
      kind: 'given',
      protocolVersion: 5,
      sharedSubscriptions: false,
      stop: async () => undefined,
    };
  }
  if (!options.embedded && findMosquitto()) {
    const broker = await startMosquitto({ dir: options.dir, users: options.users, websockets: true });
    options.log(
      `broker: real Mosquitto (pid ${broker.pid}) on ${broker.url}, websockets ${broker.wsUrl ?? 'off'}`,
    );
    return {
      url: broker.url,
      wsUrl: broker.wsUrl,
      tlsUrl: broker.tlsUrl,
      pid: broker.pid,
      kind: 'real',
      protocolVersion: 5,
      sharedSubscriptions: false,
      stop: () => broker.stop(),
    };
  }
  if (options.requireReal) {
    throw new Error(
      'mosquitto not found: install the mosquitto package (apt-get install mosquitto) or set MOSQUITTO_BIN',
    );
  }
  const broker = await startEmbeddedBroker(options.users);
  options.log(
    `broker: mosquitto not installed, embedded aedes on ${broker.url} (same users and ACL, MQTT 3.1.1)`,
  );
  return {
    url: broker.url,
    kind: 'embedded',
    protocolVersion: 4,
    sharedSubscriptions: false,
    stop: () => broker.stop(),
  };
}
