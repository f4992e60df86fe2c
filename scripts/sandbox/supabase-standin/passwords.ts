/**
 * Passwords of the local Supabase stand-in's users (LOCAL STAND-IN: GoTrue stores bcrypt hashes in
 * auth.users.encrypted_password; here scrypt from node:crypto, in the same column, so no native
 * dependency is needed). Only the stand-in's own connection reads the column.
 */
import { randomBytes, scrypt, timingSafeEqual, type BinaryLike, type ScryptOptions } from 'node:crypto';
import type pg from 'pg';

const PARAMS = { N: 16_384, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function derive(password: BinaryLike, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

/** `$scrypt$N=16384,r=8,p=1$<salt>$<key>` (base64url). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, PARAMS);
  return `$scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

// Compared against when the user does not exist, so that an unknown e-mail costs the same time.
const DUMMY_HASH = `$scrypt$N=${PARAMS.N},r=${PARAMS.r},p=${PARAMS.p}$${Buffer.alloc(16).toString('base64url')}$${Buffer.alloc(KEY_LENGTH).toString('base64url')}`;

/** Whether `password` matches `hash` (hashPassword's format); false for a missing or foreign hash. */
export async function verifyPassword(password: string, hash: string | null | undefined): Promise<boolean> {
  const match = /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/.exec(
    hash ?? DUMMY_HASH,
  );
  if (!match) return false;
  const [, n, r, p, salt, key] = match as unknown as [string, string, string, string, string, string];
  // Only the parameters hashPassword writes: a hash with other costs is not ours.
  if (Number(n) !== PARAMS.N || Number(r) !== PARAMS.r || Number(p) !== PARAMS.p) return false;
  const expected = Buffer.from(key, 'base64url');
  const actual = await derive(password, Buffer.from(salt, 'base64url'), PARAMS);
  return expected.length === actual.length && timingSafeEqual(expected, actual) && hash != null;
}

/** Sets a user's password in auth.users of a local database (the shim's table). */
export async function setAuthUserPassword(
  client: pg.ClientBase | pg.Pool,
  userId: string,
  password: string,
): Promise<void> {
  const res = await client.query(
    `update auth.users set encrypted_password = $2, updated_at = now() where id = $1`,
    [userId, await hashPassword(password)],
  );
  if (res.rowCount !== 1) throw new Error(`setAuthUserPassword: no user ${userId} in auth.users`);
}
