/**
 * PostgreSQL errors as PostgREST answers them: its status table and its body
 * `{code, message, details, hint}` with the server's own SQLSTATE and texts.
 */
import { HttpError, type PgrstError } from './http.js';

interface PgError {
  code?: string;
  message: string;
  detail?: string;
  hint?: string;
}

const isPgError = (error: unknown): error is PgError & { code: string } =>
  error instanceof Error &&
  typeof (error as PgError).code === 'string' &&
  /^[0-9A-Z]{5}$/.test((error as PgError).code!);

/**
 * PostgREST's HTTP status for a SQLSTATE (docs: "Errors" > "PostgreSQL errors"). `authenticated`:
 * the request's role is not the anonymous one (42501 is 403 then, 401 for anon).
 */
export function pgErrorStatus(code: string, authenticated: boolean): number {
  if (code === '42501') return authenticated ? 403 : 401;
  if (code === '42883' || code === '42P01') return 404;
  if (code === '23503' || code === '23505') return 409;
  if (code === '25006') return 405;
  if (code === 'P0001') return 400;
  const cls = code.slice(0, 2);
  if (cls === '08' || cls === '53') return 503;
  if (cls === '0L' || cls === '0P' || cls === '28') return 403;
  if (
    ['09', '25', '2D', '38', '39', '3B', '40', '54', '55', '57', '58', 'F0', 'HV', 'P0', 'XX'].includes(cls)
  ) {
    return 500;
  }
  return 400;
}

/** Any error of a data API request as the HttpError PostgREST would send. */
export function toHttpError(error: unknown, authenticated: boolean): HttpError {
  if (error instanceof HttpError) return error;
  if (isPgError(error)) {
    const body: PgrstError = {
      code: error.code,
      message: error.message,
      details: error.detail ?? null,
      hint: error.hint ?? null,
    };
    const status = pgErrorStatus(error.code, authenticated);
    return new HttpError(status, body, status === 401 ? { 'www-authenticate': 'Bearer' } : {});
  }
  const message = error instanceof Error ? error.message : String(error);
  // A system error (ECONNREFUSED, ...) reaching the database: PostgREST's 503 (clients retry it).
  if (/^E[A-Z]+$/.test(String((error as { code?: unknown })?.code)) || /connection/i.test(message)) {
    return new HttpError(503, {
      code: 'PGRST000',
      message: 'Could not connect with the database',
      details: message,
      hint: null,
    } satisfies PgrstError);
  }
  return new HttpError(500, {
    code: 'PGRST000',
    message: 'the local Supabase stand-in failed on this request',
    details: message,
    hint: null,
  } satisfies PgrstError);
}
