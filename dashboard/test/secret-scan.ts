/**
 * Looks through a built dashboard for what must never be shipped to browsers: a JWT whose role is
 * not `anon` (a service_role key, a user's token), a PostgreSQL URL, or any of the given secret
 * strings (the JWT secret). Returns what it found, by file.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { jwtPayload } from '../src/lib/anon-key.js';

export interface Finding {
  file: string;
  what: string;
}

const JWT = /eyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{10,}/g;
const DATABASE_URL = /postgres(?:ql)?:\/\/[^\s"'`]*/gi;

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

export async function scanForSecrets(dir: string, secrets: readonly string[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const path of await filesUnder(dir)) {
    const file = relative(dir, path);
    const text = await readFile(path, 'latin1');
    for (const [token] of text.matchAll(JWT)) {
      const role = jwtPayload(token)?.role;
      if (role !== 'anon') findings.push({ file, what: `a JWT with role ${JSON.stringify(role)}` });
    }
    for (const [url] of text.matchAll(DATABASE_URL))
      findings.push({ file, what: `a database URL (${url.slice(0, 14)}…)` });
    for (const secret of secrets) {
      if (secret && text.includes(secret))
        findings.push({ file, what: 'a secret string (JWT secret or key)' });
    }
  }
  return findings;
}
