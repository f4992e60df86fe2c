/**
 * What the broker VM exposes, from one setting (infra.network of the environment YAML): the NSG
 * (infra/, ops/provision) and the VM's own firewall (ufw in Ansible's hardening role) are both
 * built from this list, so they cannot disagree. SSH only from the admin ranges; 443 (the reverse
 * proxy) and 8883 (MQTT over TLS) from anywhere; 1883 and 9001 only when enabled; 80 only for the
 * reverse proxy's ACME challenge when the proxy is enabled.
 */
import type { EnvironmentConfig } from './environment-config.js';

export interface VmPort {
  /** A short name, used in rule names: ssh, https, mqtt-tls, mqtt, websocket. */
  name: string;
  port: number;
  /** 'any' = the internet; otherwise the address ranges allowed. */
  from: 'any' | string[];
}

export type VmNetwork = NonNullable<EnvironmentConfig['infra']>['network'];
export type VmReverseProxy = NonNullable<EnvironmentConfig['infra']>['reverseProxy'];

/** A range that lets everyone in: refused for SSH. */
const EVERYTHING = /^(\*|0\.0\.0\.0\/0|::\/0|internet|any)$/i;

export function vmPorts(network: VmNetwork, sshPort = 22, reverseProxy?: VmReverseProxy): VmPort[] {
  const bad = network.adminAddressRanges.filter((r) => EVERYTHING.test(r.trim()) || /\/0$/.test(r.trim()));
  if (bad.length)
    throw new Error(
      `infra.network.adminAddressRanges: ${bad.join(', ')} opens SSH to the internet: give the admins' own ranges`,
    );
  const ports: VmPort[] = [
    { name: 'ssh', port: sshPort, from: [...network.adminAddressRanges] },
    { name: 'https', port: 443, from: 'any' },
    { name: 'mqtt-tls', port: 8883, from: 'any' },
  ];
  if (network.plainMqtt) ports.push({ name: 'mqtt', port: 1883, from: 'any' });
  if (network.websocket) ports.push({ name: 'websocket', port: 9001, from: 'any' });
  // The reverse proxy's certificate: ACME's http-01 challenge comes to port 80 from the CA's
  // validators (anywhere). nginx answers only the challenge there and redirects the rest to 443.
  if (reverseProxy?.enabled) ports.push({ name: 'http-acme', port: 80, from: 'any' });
  return ports;
}
