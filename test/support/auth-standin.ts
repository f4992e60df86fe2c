/**
 * LOCAL STAND-IN FOR SUPABASE AUTH AND POSTGREST'S REQUEST CONTEXT. Not used against Supabase.
 *
 * Supabase's Auth (GoTrue) and PostgREST cannot run here without Docker. This module does the two
 * things of theirs that row-level security depends on, the same way they do:
 *   - issueJwt / verifyJwt: HS256 access tokens with the claims Supabase Auth puts in, signed with
 *     the project's JWT secret (used as raw UTF-8 bytes, as GoTrue and PostgREST use it);
 *   - withJwtClaims: one transaction in which, like PostgREST for each request, the role is
 *     switched to the token's role (`set local role`) and `request.jwt.claims` is set (plus the
 *     per-claim `request.jwt.claim.<name>` settings of older PostgREST), so auth.uid() and the
 *     policies see exactly what they see behind PostgREST.
 * and createAuthUser inserts a user into auth.users of the local shim (on Supabase, create users
 * through the Auth admin API instead).
 *
 * RLS itself is never emulated: Postgres enforces it in both worlds.
 */
import { randomUUID } from 'node:crypto';
import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';
import type pg from 'pg';

/** The JWT secret of `supabase start`: for local databases only, never for a real project. */
export const SUPABASE_LOCAL_JWT_SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';
/** The issuer Supabase Auth uses locally (`<API URL>/auth/v1`). */
export const LOCAL_AUTH_ISSUER = 'http://127.0.0.1:54321/auth/v1';

/** The roles PostgREST switches to. Anything else (postgres, ...) is refused by withJwtClaims. */
export const API_ROLES = ['anon', 'authenticated', 'service_role'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** The claims of a Supabase Auth access token. */
export interface SupabaseJwtClaims {
  [claim: string]: unknown;
  iss: string;
  sub: string;
  aud: string;
  exp: number;
  iat: number;
  email: string;
  phone: string;
  role: string;
  app_metadata: Record<string, unknown>;
  user_metadata: Record<string, unknown>;
  aal: 'aal1' | 'aal2';
  amr: { method: string; timestamp: number }[];
  session_id: string;
  is_anonymous: boolean;
}

/** What withJwtClaims needs: a role, usually a sub, and any other claims. */
export interface JwtClaims {
  [claim: string]: unknown;
  role: string;
  sub?: string;
}

export interface IssueJwtOptions {
  userId: string;
  email?: string;
  /** Default 'authenticated'. */
  role?: string;
  /** Default 3600, Supabase's default `jwt_expiry`. Negative values issue an expired token. */
  expiresInSeconds?: number;
  sessionId?: string;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  isAnonymous?: boolean;
  issuer?: string;
  /** The issue time (tests). */
  now?: Date;
}

export type InvalidJwtReason = 'expired' | 'signature' | 'claims' | 'malformed';

export class InvalidJwtError extends Error {
  constructor(
    readonly reason: InvalidJwtReason,
    message: string,
  ) {
    super(message);
    this.name = 'InvalidJwtError';
  }
}

function secretKey(secret: string): Uint8Array {
  // Supabase requires a JWT secret of at least 32 characters.
  if (secret.length < 32) throw new Error('the JWT secret must be at least 32 characters long');
  return new TextEncoder().encode(secret);
}

/** An access token as Supabase Auth issues one to a signed-in user. */
export async function issueJwt(options: IssueJwtOptions, secret: string): Promise<string> {
  const iat = Math.floor((options.now ?? new Date()).getTime() / 1000);
  const claims: SupabaseJwtClaims = {
    iss: options.issuer ?? LOCAL_AUTH_ISSUER,
    sub: options.userId,
    aud: 'authenticated',
    exp: iat + (options.expiresInSeconds ?? 3600),
    iat,
    email: options.email ?? '',
    phone: '',
    role: options.role ?? 'authenticated',
    app_metadata: options.appMetadata ?? { provider: 'email', providers: ['email'] },
    user_metadata: options.userMetadata ?? {},
    aal: 'aal1',
    amr: [{ method: 'password', timestamp: iat }],
    session_id: options.sessionId ?? randomUUID(),
    is_anonymous: options.isAnonymous ?? false,
  };
  return new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(secretKey(secret));
}

/**
 * An API key as Supabase issues them (the anon key, the service_role key): a long-lived JWT with a
 * role and no user.
 */
export async function issueApiKeyJwt(
  role: 'anon' | 'service_role',
  secret: string,
  now = new Date(),
): Promise<string> {
  const iat = Math.floor(now.getTime() / 1000);
  return new SignJWT({ iss: 'supabase-demo', role, iat, exp: iat + 10 * 365 * 24 * 3600 })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .sign(secretKey(secret));
}

/**
 * Verifies a token as PostgREST does: HS256 signature with the secret, not expired (no clock
 * tolerance), a role claim. Throws InvalidJwtError otherwise.
 */
export async function verifyJwt(token: string, secret: string): Promise<JwtClaims> {
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, secretKey(secret), {
      algorithms: ['HS256'],
      requiredClaims: ['exp'],
    }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new InvalidJwtError('expired', 'the token has expired');
    if (error instanceof joseErrors.JWSSignatureVerificationFailed)
      throw new InvalidJwtError('signature', 'the token signature is not valid');
    if (error instanceof joseErrors.JWTClaimValidationFailed)
      throw new InvalidJwtError('claims', `the token's claims are not valid: ${error.message}`);
    throw new InvalidJwtError('malformed', `the token is not a valid HS256 JWT: ${(error as Error).message}`);
  }
  if (typeof payload.role !== 'string' || payload.role === '') {
    throw new InvalidJwtError('claims', 'the token has no role claim');
  }
  if (payload.sub !== undefined && typeof payload.sub !== 'string') {
    throw new InvalidJwtError('claims', 'the sub claim is not a string');
  }
  return payload as JwtClaims;
}

/**
 * Runs fn in one transaction with the request context PostgREST sets for a token with these
 * claims: `set local role <role>`, `request.jwt.claims` (all claims as JSON) and the older
 * per-claim settings `request.jwt.claim.<name>`. Commits when fn resolves, rolls back when it
 * throws. Everything is transaction-local: the connection is back to its own role afterwards.
 * Pass verified claims (verifyJwt) for anything a user sent.
 */
export async function withJwtClaims<T>(
  client: pg.PoolClient | pg.Client,
  claims: JwtClaims,
  fn: (client: pg.PoolClient | pg.Client) => Promise<T>,
): Promise<T> {
  if (!(API_ROLES as readonly string[]).includes(claims.role)) {
    throw new Error(
      `withJwtClaims: role ${JSON.stringify(claims.role)} is not one of ${API_ROLES.join(', ')}`,
    );
  }
  await client.query('begin');
  try {
    await client.query(`set local role ${client.escapeIdentifier(claims.role)}`);
    const names = ['request.jwt.claims'];
    const values = [JSON.stringify(claims)];
    for (const [name, value] of Object.entries(claims)) {
      // A claim whose name cannot be a setting name is only in request.jwt.claims.
      if (value === undefined || !/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name)) continue;
      names.push(`request.jwt.claim.${name}`);
      values.push(typeof value === 'string' ? value : JSON.stringify(value));
    }
    // No sub (anon, API keys): auth.uid() must be null, whatever else this connection did before.
    if (claims.sub === undefined) {
      names.push('request.jwt.claim.sub');
      values.push('');
    }
    await client.query(`select set_config(n, v, true) from unnest($1::text[], $2::text[]) as c(n, v)`, [
      names,
      values,
    ]);
    const result = await fn(client);
    await client.query('commit');
    return result;
  } catch (error) {
    await client.query('rollback').catch(() => undefined);
    throw error;
  }
}

export interface CreateAuthUserOptions {
  email: string;
  id?: string;
  appMetadata?: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
}

/**
 * Creates a user in auth.users of a local database (the shim's table), or returns the existing
 * user with that email. On Supabase, use the Auth admin API instead.
 */
export async function createAuthUser(
  client: pg.ClientBase | pg.Pool,
  options: CreateAuthUserOptions,
): Promise<{ id: string }> {
  const existing = await client.query<{ id: string }>(`select id from auth.users where email = $1`, [
    options.email,
  ]);
  if (existing.rows[0]) return { id: existing.rows[0].id };
  const res = await client.query<{ id: string }>(
    `insert into auth.users (id, email, raw_app_meta_data, raw_user_meta_data)
     values ($1, $2, $3, $4)
     returning id`,
    [
      options.id ?? randomUUID(),
      options.email,
      JSON.stringify(options.appMetadata ?? { provider: 'email', providers: ['email'] }),
      JSON.stringify(options.userMetadata ?? {}),
    ],
  );
  return { id: res.rows[0]!.id };
}
