import ssh2 from 'ssh2';
import { createSshHostSource, fingerprintOf, normalizeFingerprint } from './ssh-host.js';

const PIN = 'SHA256:' + 'A'.repeat(43);
const { private: privateKey } = ssh2.utils.generateKeyPairSync('ed25519');

describe('host key fingerprints', () => {
  it('are SHA256 over the key blob, base64 without padding, like ssh-keygen -l', () => {
    expect(fingerprintOf(Buffer.from('abc'))).toBe('SHA256:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0');
  });

  it('accept the prefix or not and padding or not, and reject anything else clearly', () => {
    const body = 'ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0';
    expect(normalizeFingerprint(body + '=')).toBe(`SHA256:${body}`);
    expect(normalizeFingerprint(` SHA256:${body} `)).toBe(`SHA256:${body}`);
    expect(() => normalizeFingerprint('MD5:aa:bb')).toThrow(/not a SHA256 fingerprint/);
  });
});

describe('createSshHostSource options', () => {
  const base = { host: 'vm.example.net', username: 'ops', privateKey, hostKeySha256: PIN };

  it('accepts a usable key and a pin', () => {
    expect(() => createSshHostSource(base)).not.toThrow();
  });

  it('rejects an unusable key without echoing it', () => {
    const bad = 'not-a-key-but-secret-material';
    let message = '';
    try {
      createSshHostSource({ ...base, privateKey: bad });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/the private key is not usable/);
    expect(message).not.toContain(bad);
  });

  it('rejects a missing pin, port or user', () => {
    expect(() => createSshHostSource({ ...base, hostKeySha256: '' })).toThrow(/not a SHA256 fingerprint/);
    expect(() => createSshHostSource({ ...base, port: 70000 })).toThrow(/not a TCP port/);
    expect(() => createSshHostSource({ ...base, username: '' })).toThrow(/username is required/);
  });
});
