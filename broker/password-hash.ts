/**
 * Mosquitto 2.0 password file hashes, without the mosquitto_passwd binary:
 *
 *   $7$<iterations>$<base64 salt>$<base64 hash>   PBKDF2-HMAC-SHA512, 12-byte salt, 64-byte key
 *
 * mosquitto_passwd writes 101 iterations; the broker reads the count from the hash, so do we.
 */
import { pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const MOSQUITTO_HASH_ITERATIONS = 101;
const SALT_BYTES = 12;
const KEY_BYTES = 64;
const FORMAT = /^\$7\$(\d+)\$([A-Za-z0-9+/]+={0,2})\$([A-Za-z0-9+/]+={0,2})$/;

/** Hashes a password the way `mosquitto_passwd` does. A given salt makes the output deterministic. */
export function hashPassword(password: string, salt: Buffer = randomBytes(SALT_BYTES)): string {
  if (salt.length !== SALT_BYTES) throw new Error(`salt must be ${SALT_BYTES} bytes, got ${salt.length}`);
  const key = derive(password, salt, MOSQUITTO_HASH_ITERATIONS);
  return `$7$${MOSQUITTO_HASH_ITERATIONS}$${salt.toString('base64')}$${key.toString('base64')}`;
}

/** True when `password` matches a `$7$` hash; throws on a malformed hash (a broken password file). */
export function verifyPassword(password: string, hash: string): boolean {
  const match = FORMAT.exec(hash);
  if (!match) {
    throw new Error(
      `not a Mosquitto 2.0 password hash ("$7$<iterations>$<salt>$<hash>"): ${JSON.stringify(hash.slice(0, 16))}...; regenerate it with hashPassword() or mosquitto_passwd`,
    );
  }
  const [, iterations = '', salt = '', expected = ''] = match;
  const expectedKey = Buffer.from(expected, 'base64');
  const key = derive(password, Buffer.from(salt, 'base64'), Number(iterations), expectedKey.length);
  return key.length === expectedKey.length && timingSafeEqual(key, expectedKey);
}

function derive(password: string, salt: Buffer, iterations: number, bytes = KEY_BYTES): Buffer {
  return pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, bytes, 'sha512');
}
