/**
 * Splits a PostgreSQL URL for the client tools: the URL without its password goes on the command
 * line (visible in `ps`), the password only into the child's PGPASSWORD. `scrub` removes the
 * password from any text (a tool's stderr) before it reaches a log, an error or a report.
 */
import { redactUrl } from '../../common/redact-url.js';

export interface PgConnection {
  /** The URL as given (for `pg` clients in this process only). */
  url: string;
  /** The URL without password: for pg_dump / pg_restore arguments. */
  urlWithoutPassword: string;
  /** Environment for a client tool: PGPASSWORD when the URL has one. */
  env: NodeJS.ProcessEnv;
  database: string;
  /** Safe to show: the URL with the password replaced by ***. */
  display: string;
  scrub(text: string): string;
}

export function pgConnection(url: string, what = 'database URL'): PgConnection {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`${what} is not a URL (expected postgres://user[:password]@host[:port]/database)`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new Error(`${what} must start with postgres:// or postgresql://, got ${parsed.protocol}//`);
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (!database) throw new Error(`${what} names no database (${redactUrl(url)})`);
  const password = decodeURIComponent(parsed.password) || parsed.searchParams.get('password') || '';
  const bare = new URL(url);
  bare.password = '';
  bare.searchParams.delete('password');
  const secrets = password ? [password, encodeURIComponent(password)] : [];
  const display = redactUrl(url).replace(/([?&]password=)[^&]*/, '$1***');
  return {
    url,
    urlWithoutPassword: bare.toString(),
    env: password ? { ...process.env, PGPASSWORD: password } : { ...process.env },
    database,
    display,
    scrub: (text) => scrubSecrets(text, secrets),
  };
}

/** The same server, another database (scratch databases on the admin URL's server). */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 3) out = out.split(secret).join('***');
  return out;
}
