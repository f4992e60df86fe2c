/**
 * LOCAL STAND-IN FOR SUPABASE'S AUTH AND DATA API (GoTrue + PostgREST behind the API gateway).
 * Not Supabase, never deployed: every response carries `x-local-standin: supabase`.
 *
 * Supabase's services cannot run here (no Docker, no PostgREST or GoTrue package), so the sandbox
 * serves the smallest subset of their HTTP API the dashboard uses, to `@supabase/supabase-js`
 * unchanged, on loopback:
 *   - the gateway's API key check (`apikey`: the anon or service_role key of the JWT secret);
 *   - Auth: password sign-in, refresh-token rotation, the user, sign-out (supabase-standin/auth-api.ts);
 *   - data API, schema public: reads of tables and views with select/filters/order/limit/offset/
 *     count and single objects, and rpc (supabase-standin/rest-api.ts).
 * Each data API request is one transaction in which the role and `request.jwt.claims` are set
 * exactly as PostgREST sets them (test/support/auth-standin.ts withJwtClaims), so PostgreSQL
 * enforces the grants and row-level security itself, as it does behind Supabase.
 * docs/sandbox-supabase.md lists what is implemented and what differs.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type pg from 'pg';
import {
  API_ROLES,
  InvalidJwtError,
  issueApiKeyJwt,
  verifyJwt,
  type JwtClaims,
} from '../../test/support/auth-standin.js';
import { handleAuth } from './supabase-standin/auth-api.js';
import { bearerToken, HttpError, pgrstError, sendJson, setCommonHeaders } from './supabase-standin/http.js';
import { handleRest } from './supabase-standin/rest-api.js';

export { STANDIN_HEADER, STANDIN_HEADER_VALUE } from './supabase-standin/http.js';
export { hashPassword, setAuthUserPassword, verifyPassword } from './supabase-standin/passwords.js';

export interface SupabaseStandinOptions {
  /** A pool on the database as its owner (a role that may `set role` to anon/authenticated/service_role). */
  pool: pg.Pool;
  /** The project's JWT secret (env.json `auth.jwtSecret`): signs the keys and access tokens. */
  jwtSecret: string;
  /** Default 0: a free port. Always on 127.0.0.1. */
  port?: number;
  /** Supabase's `max_rows` (default 1000). */
  maxRows?: number;
  /** Supabase's `jwt_expiry` (default 3600 s). */
  accessTokenSeconds?: number;
  /** Supabase's statement timeout of the `authenticated` role (default 8 s). */
  statementTimeoutMs?: number;
}

export interface SupabaseStandin {
  /** What supabase-js takes as its URL: `http://127.0.0.1:<port>`. */
  url: string;
  /** The anon key (a JWT with role anon): the only key a dashboard holds. */
  anonKey: string;
  close(): Promise<void>;
}

const INVALID_KEY_HINT = 'Double check your Supabase `anon` or `service_role` API key.';

/** The gateway's check: the apikey header (or query parameter) is a key of this project. */
async function checkApiKey(req: IncomingMessage, url: URL, secret: string): Promise<void> {
  const header = req.headers.apikey;
  const key = (Array.isArray(header) ? header[0] : header) ?? url.searchParams.get('apikey');
  if (!key) {
    throw new HttpError(401, {
      message: 'No API key found in request',
      hint: 'No `apikey` request header or url param was found.',
    });
  }
  try {
    const claims = await verifyJwt(key, secret);
    if (claims.role === 'anon' || claims.role === 'service_role') return;
  } catch (error) {
    if (!(error instanceof InvalidJwtError)) throw error;
  }
  throw new HttpError(401, { message: 'Invalid API key', hint: INVALID_KEY_HINT });
}

/** The claims a data API request runs with, as PostgREST derives them from the bearer token. */
async function requestClaims(token: string | undefined, secret: string): Promise<JwtClaims> {
  // No token: PostgREST's anonymous role, with no claims.
  if (token === undefined) return { role: 'anon' };
  const refuse = (code: string, message: string) => {
    const error = pgrstError(401, code, message);
    return new HttpError(401, error.body, {
      'www-authenticate': `Bearer error="invalid_token", error_description="${message.replace(/"/g, "'")}"`,
    });
  };
  let claims: JwtClaims;
  try {
    claims = await verifyJwt(token, secret);
  } catch (error) {
    if (!(error instanceof InvalidJwtError)) throw error;
    throw error.reason === 'expired' ? refuse('PGRST303', 'JWT expired') : refuse('PGRST301', error.message);
  }
  // A correctly signed token with another role (postgres, ...): PostgREST's authenticator could not
  // switch to it; refused before any SQL.
  if (!(API_ROLES as readonly string[]).includes(claims.role)) {
    throw refuse('PGRST301', `the role ${JSON.stringify(claims.role)} is not one of ${API_ROLES.join(', ')}`);
  }
  return claims;
}

export async function startSupabaseStandin(options: SupabaseStandinOptions): Promise<SupabaseStandin> {
  const anonKey = await issueApiKeyJwt('anon', options.jwtSecret);
  let baseUrl = '';
  const restOptions = {
    pool: options.pool,
    maxRows: options.maxRows ?? 1000,
    statementTimeoutMs: options.statementTimeoutMs ?? 8000,
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    setCommonHeaders(res, req);
    if (req.method === 'OPTIONS') {
      res.writeHead(204).end();
      return;
    }
    const url = new URL(req.url ?? '/', baseUrl);
    const isAuth = url.pathname.startsWith('/auth/v1/');
    const isRest = url.pathname.startsWith('/rest/v1/');
    if (!isAuth && !isRest) {
      throw new HttpError(404, { message: 'no Route matched with those values' });
    }
    await checkApiKey(req, url, options.jwtSecret);
    const token = bearerToken(req);
    if (isAuth) {
      return handleAuth(req, res, url, token, {
        pool: options.pool,
        jwtSecret: options.jwtSecret,
        issuer: `${baseUrl}/auth/v1`,
        accessTokenSeconds: options.accessTokenSeconds ?? 3600,
      });
    }
    return handleRest(req, res, url, await requestClaims(token, options.jwtSecret), restOptions);
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) {
        sendJson(res, error.status, error.body, error.headers);
        return;
      }
      sendJson(res, 500, {
        code: 'PGRST000',
        message: 'the local Supabase stand-in failed on this request',
        details: error instanceof Error ? error.message : String(error),
        hint: null,
      });
    });
  });
  // A request that stalls its body does not hold a connection forever.
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: baseUrl,
    anonKey,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
