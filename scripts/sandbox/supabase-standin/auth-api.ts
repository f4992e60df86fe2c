/**
 * The Auth endpoints of the local Supabase stand-in (LOCAL STAND-IN for GoTrue), in GoTrue's
 * request and response shapes: `POST /auth/v1/token?grant_type=password|refresh_token`,
 * `GET /auth/v1/user`, `POST /auth/v1/logout?scope=global|local|others`.
 *
 * Users, password hashes, sessions and refresh tokens live in the shim's auth schema
 * (supabase/local/supabase-shim.sql). Access tokens are test/support/auth-standin.ts's issueJwt
 * tokens (HS256, the project's JWT secret, Supabase's claims, a session_id). Refresh tokens are
 * single use: each refresh revokes the one presented and issues its child; presenting a revoked one
 * again ends the whole session (GoTrue's reuse detection, without its 10 s reuse interval).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { InvalidJwtError, issueJwt, verifyJwt, type JwtClaims } from '../../../test/support/auth-standin.js';
import { HttpError, readJsonBody, sendJson, sendText } from './http.js';
import { verifyPassword } from './passwords.js';

export interface AuthOptions {
  pool: pg.Pool;
  jwtSecret: string;
  /** The `iss` of access tokens: `<url>/auth/v1`, as Supabase Auth sets it. */
  issuer: string;
  /** Supabase's `jwt_expiry` (default 3600). */
  accessTokenSeconds: number;
}

const API_VERSION = '2024-01-01';

/**
 * GoTrue's error body: `{code, message}` for clients that send X-Supabase-Api-Version 2024-01-01 or
 * later (supabase-js does), the older `{code: <status>, error_code, msg}` otherwise.
 */
function authError(req: IncomingMessage, status: number, code: string, message: string): HttpError {
  const version = String(req.headers['x-supabase-api-version'] ?? '');
  const body = version >= API_VERSION ? { code, message } : { code: status, error_code: code, msg: message };
  return new HttpError(status, body, { 'x-supabase-api-version': API_VERSION });
}

interface UserRow {
  id: string;
  email: string | null;
  encrypted_password: string | null;
  raw_app_meta_data: Record<string, unknown>;
  raw_user_meta_data: Record<string, unknown>;
  created_at: Date;
  updated_at: Date | null;
  last_sign_in_at: Date | null;
}

const USER_COLUMNS = `id, email, encrypted_password, raw_app_meta_data, raw_user_meta_data, created_at,
  updated_at, last_sign_in_at`;

/** GoTrue's user object. Users of the stand-in are confirmed when created. */
function userJson(user: UserRow) {
  const iso = (d: Date | null) => (d ? d.toISOString() : null);
  return {
    id: user.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: user.email ?? '',
    email_confirmed_at: iso(user.created_at),
    phone: '',
    confirmed_at: iso(user.created_at),
    last_sign_in_at: iso(user.last_sign_in_at),
    app_metadata: user.raw_app_meta_data,
    user_metadata: user.raw_user_meta_data,
    identities: [],
    created_at: iso(user.created_at),
    updated_at: iso(user.updated_at ?? user.created_at),
    is_anonymous: false,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');

async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('begin');
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** A new refresh token of the session (child of `parent`); returns the token itself. */
async function insertRefreshToken(
  client: pg.PoolClient,
  userId: string,
  sessionId: string,
  parent: string | null,
): Promise<string> {
  const token = randomBytes(24).toString('base64url');
  await client.query(
    `insert into auth.refresh_tokens (token, user_id, session_id, parent) values ($1, $2, $3, $4)`,
    [tokenHash(token), userId, sessionId, parent],
  );
  return token;
}

async function sessionJson(options: AuthOptions, user: UserRow, sessionId: string, refreshToken: string) {
  const now = new Date();
  const accessToken = await issueJwt(
    {
      userId: user.id,
      email: user.email ?? '',
      sessionId,
      expiresInSeconds: options.accessTokenSeconds,
      appMetadata: user.raw_app_meta_data,
      userMetadata: user.raw_user_meta_data,
      issuer: options.issuer,
      now,
    },
    options.jwtSecret,
  );
  return {
    access_token: accessToken,
    token_type: 'bearer',
    expires_in: options.accessTokenSeconds,
    expires_at: Math.floor(now.getTime() / 1000) + options.accessTokenSeconds,
    refresh_token: refreshToken,
    user: userJson(user),
  };
}

async function passwordGrant(req: IncomingMessage, options: AuthOptions, body: Record<string, unknown>) {
  const { email, password } = body;
  const invalid = () => authError(req, 400, 'invalid_credentials', 'Invalid login credentials');
  if (typeof email !== 'string' || typeof password !== 'string' || email === '' || password === '') {
    throw invalid();
  }
  const found = await options.pool.query<UserRow>(
    `select ${USER_COLUMNS} from auth.users where lower(email) = lower($1)`,
    [email],
  );
  const user = found.rows[0];
  // verifyPassword hashes even without a user, so an unknown e-mail takes as long as a known one.
  if (!(await verifyPassword(password, user?.encrypted_password)) || !user) throw invalid();
  const sessionId = randomUUID();
  const { signedIn, refreshToken } = await inTransaction(options.pool, async (client) => {
    await client.query(`insert into auth.sessions (id, user_id) values ($1, $2)`, [sessionId, user.id]);
    const refreshToken = await insertRefreshToken(client, user.id, sessionId, null);
    const updated = await client.query<UserRow>(
      `update auth.users set last_sign_in_at = now(), updated_at = now() where id = $1 returning ${USER_COLUMNS}`,
      [user.id],
    );
    return { signedIn: updated.rows[0]!, refreshToken };
  });
  return sessionJson(options, signedIn, sessionId, refreshToken);
}

async function refreshGrant(req: IncomingMessage, options: AuthOptions, body: Record<string, unknown>) {
  const presented = body.refresh_token;
  const notFound = () =>
    authError(req, 400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
  if (typeof presented !== 'string' || presented === '') throw notFound();
  const hash = tokenHash(presented);
  const outcome = await inTransaction(options.pool, async (client) => {
    const found = await client.query<{ user_id: string; session_id: string; revoked: boolean }>(
      `select user_id, session_id, revoked from auth.refresh_tokens where token = $1 for update`,
      [hash],
    );
    const row = found.rows[0];
    if (!row) return { kind: 'not-found' as const };
    if (row.revoked) {
      // Reuse of a rotated token: whoever holds it may have stolen it. End the session.
      await client.query(`delete from auth.sessions where id = $1`, [row.session_id]);
      return { kind: 'reused' as const };
    }
    await client.query(`update auth.refresh_tokens set revoked = true, updated_at = now() where token = $1`, [
      hash,
    ]);
    await client.query(`update auth.sessions set updated_at = now() where id = $1`, [row.session_id]);
    const refreshToken = await insertRefreshToken(client, row.user_id, row.session_id, hash);
    const user = await client.query<UserRow>(`select ${USER_COLUMNS} from auth.users where id = $1`, [
      row.user_id,
    ]);
    return { kind: 'ok' as const, user: user.rows[0]!, sessionId: row.session_id, refreshToken };
  });
  if (outcome.kind === 'not-found') throw notFound();
  if (outcome.kind === 'reused') {
    throw authError(req, 400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
  }
  return sessionJson(options, outcome.user, outcome.sessionId, outcome.refreshToken);
}

/** The caller's verified claims, with their session and user still existing (GoTrue's checks). */
async function requireUser(
  req: IncomingMessage,
  options: AuthOptions,
  token: string | undefined,
): Promise<{ claims: JwtClaims; user: UserRow }> {
  if (token === undefined) {
    throw authError(req, 401, 'no_authorization', 'This endpoint requires a valid Bearer token');
  }
  let claims: JwtClaims;
  try {
    claims = await verifyJwt(token, options.jwtSecret);
  } catch (error) {
    if (!(error instanceof InvalidJwtError)) throw error;
    throw authError(
      req,
      403,
      'bad_jwt',
      `invalid JWT: unable to parse or verify signature, ${error.message}`,
    );
  }
  if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw authError(req, 403, 'bad_jwt', 'invalid claim: missing sub claim');
  }
  const sessionId = claims.session_id;
  if (!UUID.test(claims.sub))
    throw authError(req, 403, 'user_not_found', 'User from sub claim in JWT does not exist');
  if (typeof sessionId !== 'string' || !UUID.test(sessionId)) {
    throw authError(req, 403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
  }
  const res = await options.pool.query<UserRow & { session_exists: boolean }>(
    `select ${USER_COLUMNS}, exists (select from auth.sessions s where s.id = $2::uuid and s.user_id = u.id) as session_exists
       from auth.users u where u.id = $1::uuid`,
    [claims.sub, sessionId],
  );
  const user = res.rows[0];
  if (!user) throw authError(req, 403, 'user_not_found', 'User from sub claim in JWT does not exist');
  if (!user.session_exists) {
    throw authError(req, 403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
  }
  return { claims, user };
}

/** `/auth/v1/...` (the API key already checked). */
export async function handleAuth(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  token: string | undefined,
  options: AuthOptions,
): Promise<void> {
  const headers = { 'x-supabase-api-version': API_VERSION };
  const path = url.pathname.slice('/auth/v1'.length);
  if (path === '/token' && req.method === 'POST') {
    const body = await readJsonBody(req).catch((error: unknown) => {
      if (error instanceof HttpError && error.status === 413) throw error;
      throw authError(req, 400, 'bad_json', 'Could not parse request body as JSON');
    });
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw authError(req, 400, 'bad_json', 'Could not parse request body as JSON');
    }
    const grant = url.searchParams.get('grant_type');
    const fields = body as Record<string, unknown>;
    if (grant === 'password') return sendJson(res, 200, await passwordGrant(req, options, fields), headers);
    if (grant === 'refresh_token')
      return sendJson(res, 200, await refreshGrant(req, options, fields), headers);
    throw authError(req, 400, 'validation_failed', 'unsupported_grant_type');
  }
  if (path === '/user' && req.method === 'GET') {
    const { user } = await requireUser(req, options, token);
    return sendJson(res, 200, userJson(user), headers);
  }
  if (path === '/logout' && req.method === 'POST') {
    const { claims, user } = await requireUser(req, options, token);
    const scope = url.searchParams.get('scope') ?? 'global';
    if (scope === 'local') {
      await options.pool.query(`delete from auth.sessions where id = $1::uuid`, [claims.session_id]);
    } else if (scope === 'others') {
      await options.pool.query(`delete from auth.sessions where user_id = $1 and id <> $2::uuid`, [
        user.id,
        claims.session_id,
      ]);
    } else if (scope === 'global') {
      await options.pool.query(`delete from auth.sessions where user_id = $1`, [user.id]);
    } else {
      throw authError(req, 400, 'validation_failed', 'Unsupported logout scope');
    }
    return sendText(res, 204, '', headers);
  }
  throw authError(
    req,
    404,
    'not_found',
    'The local Supabase stand-in implements only /token, /user and /logout of Auth (docs/sandbox-supabase.md)',
  );
}
