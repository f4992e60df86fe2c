import { vmPorts } from './vm-ports.js';

describe('vmPorts', () => {
  it('opens SSH only to the admin ranges, 443 and 8883 to everyone, nothing else by default', () => {
    expect(vmPorts({ adminAddressRanges: ['203.0.113.0/24'], plainMqtt: false, websocket: false })).toEqual([
      { name: 'ssh', port: 22, from: ['203.0.113.0/24'] },
      { name: 'https', port: 443, from: 'any' },
      { name: 'mqtt-tls', port: 8883, from: 'any' },
    ]);
  });

  it('adds 1883 and 9001 only when enabled', () => {
    const ports = vmPorts({ adminAddressRanges: ['198.51.100.7'], plainMqtt: true, websocket: true });
    expect(ports.map((p) => p.port)).toEqual([22, 443, 8883, 1883, 9001]);
    expect(
      vmPorts({ adminAddressRanges: ['198.51.100.7'], plainMqtt: false, websocket: true }).map((p) => p.port),
    ).toEqual([22, 443, 8883, 9001]);
  });

  it("opens 80 only for the enabled reverse proxy's ACME challenge", () => {
    const network = { adminAddressRanges: ['198.51.100.7'], plainMqtt: false, websocket: false };
    const proxy = { enabled: true, domain: 'mqtt.example.net', acmeEmail: 'ops@example.net' };
    expect(vmPorts(network, 22, proxy).map((p) => [p.port, p.from])).toEqual([
      [22, ['198.51.100.7']],
      [443, 'any'],
      [8883, 'any'],
      [80, 'any'],
    ]);
    expect(vmPorts(network, 22, { ...proxy, enabled: false }).map((p) => p.port)).toEqual([22, 443, 8883]);
  });

  it.each(['0.0.0.0/0', '*', '::/0', 'Internet', '10.0.0.0/0'])('refuses %s for SSH', (range) => {
    expect(() =>
      vmPorts({ adminAddressRanges: ['203.0.113.0/24', range], plainMqtt: false, websocket: false }),
    ).toThrow(/opens SSH to the internet/);
  });
});
