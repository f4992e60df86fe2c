import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { mosquittoForTests } from '../test/support/mosquitto-process.js';
import { hashPassword, MOSQUITTO_HASH_ITERATIONS, verifyPassword } from './password-hash.js';

const mosquittoPasswd = mosquittoForTests('mosquitto_passwd');

describe('hashPassword', () => {
  it('writes the Mosquitto 2.0 $7$ format: 101 iterations, 12-byte salt, 64-byte key', () => {
    const hash = hashPassword('s3cret');
    const [, kind, iterations, salt, key] = hash.split('$');
    expect(kind).toBe('7');
    expect(Number(iterations)).toBe(MOSQUITTO_HASH_ITERATIONS);
    expect(Buffer.from(salt ?? '', 'base64')).toHaveLength(12);
    expect(Buffer.from(key ?? '', 'base64')).toHaveLength(64);
    expect(verifyPassword('s3cret', hash)).toBe(true);
    expect(verifyPassword('s3cret ', hash)).toBe(false);
  });

  it('uses a fresh salt each time unless one is given', () => {
    expect(hashPassword('x')).not.toBe(hashPassword('x'));
    const salt = Buffer.alloc(12, 7);
    expect(hashPassword('x', salt)).toBe(hashPassword('x', salt));
    expect(() => hashPassword('x', Buffer.alloc(8))).toThrow(/12 bytes/);
  });

  it('refuses a malformed hash instead of answering false', () => {
    expect(() => verifyPassword('x', '$6$abc$def')).toThrow(/not a Mosquitto 2.0 password hash/);
    expect(() => verifyPassword('x', 'plain-text')).toThrow(/regenerate it/);
  });
});

(mosquittoPasswd ? describe : describe.skip)('against mosquitto_passwd', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mosquitto-passwd-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['dev-1', 's3cret pass'],
    ['unicode', 'pässwörd-✓'],
  ])('verifies and reproduces the hash mosquitto_passwd -b writes for %s', async (username, password) => {
    const file = join(dir, `${username}.passwd`);
    await promisify(execFile)(mosquittoPasswd as string, ['-c', '-b', file, username, password], {
      timeout: 5_000,
    });
    const line = (await readFile(file, 'utf8')).trim();
    const real = line.slice(line.indexOf(':') + 1);
    expect(line.startsWith(`${username}:$7$101$`)).toBe(true);

    expect(verifyPassword(password, real)).toBe(true);
    expect(verifyPassword(`${password}x`, real)).toBe(false);
    // Same salt, same bytes: our hash is exactly what the real tool writes.
    const salt = Buffer.from(real.split('$')[3] ?? '', 'base64');
    expect(hashPassword(password, salt)).toBe(real);
  });
});
