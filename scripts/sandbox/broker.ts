/**
 * The sandbox broker: MQTT_URL when given (its users are the operator's business); else a real
 * Mosquitto with the configuration the Ansible role ships (same password file and ACL) when the
 * binary is installed; else the embedded aedes fallback, which enforces the same hashes and ACL.
 *
 * Like production, devices and services connect to different listeners: devices where the broker
 * binds each client id to the username (`deviceUrl`: TLS with a throwaway CA on real Mosquitto),
 * services to the loopback plain listener (`url`: free client ids, the bridge's session).
 */
import { join } from 'node:path';
import { findMosquitto, startMosquitto } from '../../test/support/mosquitto-process.js';
import { createTestCa, type TestCa } from '../../test/support/test-ca.js';
import type { ServiceKind } from '../../common/local-env.js';
import { redactUrl } from '../../common/redact-url.js';
import { startEmbeddedBroker, type HashedIdentity } from './embedded-broker.js';

export interface SandboxBroker {
  /** The service listener: plain MQTT, free client ids (bridge, alerts, probes). Not for devices. */
  url: string;
  /** Where devices connect: a listener that replaces each client id by the username. */
  deviceUrl: string;
  /** PEM of the CA of deviceUrl's certificate, when deviceUrl is TLS. */
  ca?: string;
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
      deviceUrl: options.url,
      kind: 'given',
      protocolVersion: 5,
      sharedSubscriptions: false,
      stop: async () => undefined,
    };
  }
  if (!options.embedded && findMosquitto()) {
    let ca: TestCa | undefined;
    try {
      ca = await createTestCa({ dir: join(options.dir, 'tls') });
    } catch (error) {
      // No openssl: devices use the websockets listener, which binds client ids too.
      options.log(`broker: no TLS listener (${(error as Error).message.split('\n')[0]})`);
    }
    const broker = await startMosquitto({
      dir: options.dir,
      users: options.users,
      websockets: true,
      ...(ca ? { tls: { cafile: ca.caCert, certfile: ca.serverCert, keyfile: ca.serverKey } } : {}),
    });
    const deviceUrl = broker.tlsUrl ?? broker.wsUrl!;
    options.log(
      `broker: real Mosquitto (pid ${broker.pid}), services on ${broker.url}, devices on ${deviceUrl}, websockets ${broker.wsUrl ?? 'off'}`,
    );
    return {
      url: broker.url,
      deviceUrl,
      ...(ca && broker.tlsUrl ? { ca: ca.caPem } : {}),
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
    `broker: ${embeddedReason(options.embedded)}, embedded aedes on ${broker.url} (same users and ACL, MQTT 3.1.1)`,
  );
  return {
    url: broker.url,
    // One listener; the embedded broker binds devices' client ids by role (embedded-broker.ts).
    deviceUrl: broker.url,
    kind: 'embedded',
    protocolVersion: 4,
    sharedSubscriptions: false,
    stop: () => broker.stop(),
  };
}

/** Why the embedded broker runs: asked for (Mosquitto may well be installed), or no Mosquitto. */
function embeddedReason(asked: boolean | undefined): string {
  if (!asked) return 'mosquitto not installed';
  const by = process.env.SANDBOX_EMBEDDED === '1' ? ' by SANDBOX_EMBEDDED=1' : '';
  let mosquitto: string | null = null;
  try {
    mosquitto = findMosquitto();
  } catch {
    // a MOSQUITTO_BIN that is not executable: not worth failing an embedded run over
  }
  return `embedded asked for${by}${mosquitto ? ` (Mosquitto at ${mosquitto} not used)` : ''}`;
}
