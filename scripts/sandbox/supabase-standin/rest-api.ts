/**
 * The data API of the local Supabase stand-in (LOCAL STAND-IN for PostgREST, schema public):
 * `GET|HEAD /rest/v1/<table or view>` and `POST /rest/v1/rpc/<function>`.
 *
 * Each request is one transaction opened by withJwtClaims exactly as PostgREST opens it (`set
 * local role <role>`, `request.jwt.claims` and the per-claim settings), read-only for GET/HEAD, with
 * the statement timeout Supabase gives the API roles. Identifiers are checked against the catalog
 * and quoted; values are bind parameters. Privileges and row-level security are PostgreSQL's own.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type pg from 'pg';
import { withJwtClaims, type JwtClaims } from '../../../test/support/auth-standin.js';
import { notImplemented, pgrstError, readJsonBody, sendText } from './http.js';
import { toHttpError } from './pg-errors.js';
import { buildReadSql, parseReadQuery, quoteIdent } from './rest-query.js';

export const SCHEMA = 'public';

export interface RestOptions {
  pool: pg.Pool;
  /** Supabase's `max_rows` (default 1000): no response holds more rows. */
  maxRows: number;
  /** Per request, as Supabase sets `statement_timeout` for the API roles (authenticated: 8 s). */
  statementTimeoutMs: number;
}

type Client = pg.PoolClient | pg.Client;

const JSON_TYPE = 'application/json; charset=utf-8';
const OBJECT_TYPE = 'application/vnd.pgrst.object+json; charset=utf-8';

/** Whether the client asked for one object (`.single()`); 406 for media types the stand-in lacks. */
function wantsObject(req: IncomingMessage): boolean {
  const accept = req.headers.accept;
  if (!accept) return false;
  const types = accept.split(',').map((t) => t.split(';')[0]!.trim().toLowerCase());
  if (types.includes('application/vnd.pgrst.object+json')) return true;
  const json = ['application/json', 'application/vnd.pgrst.array+json', '*/*', 'application/*'];
  if (types.some((t) => json.includes(t))) return false;
  throw pgrstError(406, 'PGRST107', `None of these media types are available: ${accept}`);
}

function checkProfile(req: IncomingMessage): void {
  for (const header of ['accept-profile', 'content-profile']) {
    const value = req.headers[header];
    if (value !== undefined && value !== SCHEMA) {
      throw pgrstError(406, 'PGRST106', `The schema must be one of the following: ${SCHEMA}`);
    }
  }
}

const singleRowError = (n: number) =>
  pgrstError(
    406,
    'PGRST116',
    'JSON object requested, multiple (or no) rows returned',
    `The result contains ${n} rows`,
  );

/** Runs `fn` in the request's transaction as PostgREST would, and maps every error as it does. */
async function inRequestTransaction<T>(
  options: RestOptions,
  claims: JwtClaims,
  req: IncomingMessage,
  path: string,
  readOnly: boolean,
  fn: (client: Client) => Promise<T>,
): Promise<T> {
  const authenticated = claims.role !== 'anon';
  let client: pg.PoolClient;
  try {
    client = await options.pool.connect();
  } catch (error) {
    throw toHttpError(error, authenticated);
  }
  let broken: Error | undefined;
  try {
    return await withJwtClaims(client, claims, async (c) => {
      await c.query(
        `select set_config('statement_timeout', $1, true), set_config('request.method', $2, true),
                set_config('request.path', $3, true)`,
        [String(options.statementTimeoutMs), req.method ?? '', path],
      );
      if (readOnly) await c.query('set transaction read only');
      return fn(c);
    });
  } catch (error) {
    const mapped = toHttpError(error, authenticated);
    if (mapped.status === 503) broken = error as Error;
    throw mapped;
  } finally {
    // A connection that failed outside SQL is not given back to the pool.
    client.release(broken);
  }
}

/** The columns of a relation of the exposed schema (PostgREST's schema cache); 404 if none. */
async function relationColumns(client: Client, relation: string): Promise<Set<string>> {
  const res = await client.query<{ attname: string | null }>(
    `select a.attname
       from pg_catalog.pg_class c
       join pg_catalog.pg_namespace n on n.oid = c.relnamespace
       left join pg_catalog.pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
      where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'v', 'm', 'p', 'f')`,
    [SCHEMA, relation],
  );
  if (res.rows.length === 0) {
    throw pgrstError(404, 'PGRST205', `Could not find the table '${SCHEMA}.${relation}' in the schema cache`);
  }
  return new Set(res.rows.flatMap((r) => (r.attname === null ? [] : [r.attname])));
}

function contentRange(offset: number, n: number, total: string | null): string {
  return `${n > 0 ? `${offset}-${offset + n - 1}` : '*'}/${total ?? '*'}`;
}

async function read(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  relation: string,
  claims: JwtClaims,
  options: RestOptions,
): Promise<void> {
  const single = wantsObject(req);
  const query = parseReadQuery(url.searchParams, options.maxRows);
  const countExact = /(^|[,\s])count=(exact|planned|estimated)\b/.test(String(req.headers.prefer ?? ''));
  const result = await inRequestTransaction(options, claims, req, url.pathname, true, async (client) => {
    const sql = buildReadSql(SCHEMA, relation, await relationColumns(client, relation), query);
    const total = countExact
      ? (await client.query<{ total: string }>(sql.count, sql.countParams)).rows[0]!.total
      : null;
    const rows = await client.query<{ body: string; n: number; first: string | null }>(sql.rows, sql.params);
    return { total, ...rows.rows[0]! };
  });
  const range = contentRange(query.offset, result.n, result.total);
  if (single) {
    if (result.n !== 1) throw singleRowError(result.n);
    sendText(res, 200, result.first!, { 'content-type': OBJECT_TYPE, 'content-range': range });
    return;
  }
  const total = result.total === null ? null : Number(result.total);
  if (total !== null && query.offset > 0 && query.offset >= total && result.n === 0) {
    throw pgrstError(
      416,
      'PGRST103',
      'Requested range not satisfiable',
      `An offset of ${query.offset} was requested, but there are only ${total} rows.`,
    );
  }
  const partial = total !== null && (query.offset > 0 || query.offset + result.n < total);
  sendText(res, partial ? 206 : 200, result.body, { 'content-type': JSON_TYPE, 'content-range': range });
}

interface FunctionRow {
  retset: boolean;
  is_void: boolean;
  nargs: number;
  ndefaults: number;
  variadic: boolean;
  names: string[];
  modes: string[];
  types: string[];
}

interface Overload {
  retset: boolean;
  isVoid: boolean;
  /** Input arguments, in order. */
  args: { name: string; type: string; required: boolean }[];
}

function overloadOf(row: FunctionRow): Overload | null {
  if (row.variadic) return null;
  if (row.nargs === 0) return { retset: row.retset, isVoid: row.is_void, args: [] };
  const inputNames =
    row.modes.length === 0
      ? row.names.slice(0, row.nargs)
      : row.names.filter((_, i) => ['i', 'b', 'v'].includes(row.modes[i]!));
  // Unnamed arguments cannot be passed by name (PostgREST's single unnamed json argument: not here).
  if (inputNames.length !== row.nargs || inputNames.some((n) => !n)) return null;
  return {
    retset: row.retset,
    isVoid: row.is_void,
    args: inputNames.map((name, i) => ({
      name,
      type: row.types[i]!,
      required: i < row.nargs - row.ndefaults,
    })),
  };
}

async function findOverload(client: Client, fn: string, keys: string[]): Promise<Overload> {
  const res = await client.query<FunctionRow>(
    `select p.proretset as retset, t.typname = 'void' as is_void, p.pronargs::int as nargs,
            p.pronargdefaults::int as ndefaults, p.provariadic <> 0 as variadic,
            coalesce(p.proargnames, '{}') as names, coalesce(p.proargmodes::text[], '{}') as modes,
            array(select pg_catalog.format_type(a.oid, null)
                    from unnest(p.proargtypes::oid[]) with ordinality as a(oid, i) order by a.i) as types
       from pg_catalog.pg_proc p
       join pg_catalog.pg_namespace n on n.oid = p.pronamespace
       join pg_catalog.pg_type t on t.oid = p.prorettype
      where n.nspname = $1 and p.proname = $2 and p.prokind = 'f'`,
    [SCHEMA, fn],
  );
  const matches = res.rows
    .map(overloadOf)
    .filter((o): o is Overload => o !== null)
    .filter(
      (o) =>
        keys.every((k) => o.args.some((a) => a.name === k)) &&
        o.args.every((a) => !a.required || keys.includes(a.name)),
    );
  if (matches.length === 0) {
    const signature = keys.length ? `with parameters ${[...keys].sort().join(', ')}` : 'without parameters';
    throw pgrstError(
      404,
      'PGRST202',
      `Could not find the function ${SCHEMA}.${fn}(${[...keys].sort().join(', ')}) in the schema cache`,
      `Searched for the function ${SCHEMA}.${fn} ${signature} or with a single unnamed json/jsonb parameter, but no matches were found in the schema cache.`,
    );
  }
  if (matches.length > 1) {
    throw pgrstError(
      300,
      'PGRST203',
      `Could not choose the best candidate function between several overloads of ${SCHEMA}.${fn}`,
    );
  }
  return matches[0]!;
}

async function rpc(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  fn: string,
  claims: JwtClaims,
  options: RestOptions,
): Promise<void> {
  if (req.method !== 'POST') throw notImplemented(`${req.method} on rpc (call functions with POST)`);
  if ([...url.searchParams.keys()].length > 0) throw notImplemented('filters and modifiers on rpc results');
  const single = wantsObject(req);
  const body = (await readJsonBody(req)) ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw notImplemented('an rpc body that is not one JSON object of named arguments');
  }
  const keys = Object.keys(body);
  const result = await inRequestTransaction(options, claims, req, url.pathname, false, async (client) => {
    const overload = await findOverload(client, fn, keys);
    const args = overload.args.filter((a) => keys.includes(a.name));
    const callee = `${quoteIdent(SCHEMA)}.${quoteIdent(fn)}`;
    // Arguments are converted from the JSON body to their declared types by jsonb_to_record, as
    // PostgREST does with json_to_record; the types come from the catalog (format_type).
    const from = args.length
      ? `jsonb_to_record($1::jsonb) as _a(${args.map((a) => `${quoteIdent(a.name)} ${a.type}`).join(', ')}),
         lateral ${callee}(${args.map((a) => `${quoteIdent(a.name)} => _a.${quoteIdent(a.name)}`).join(', ')}) _t`
      : `${callee}() _t`;
    const params = args.length ? [JSON.stringify(body)] : [];
    if (overload.isVoid) {
      await client.query(`select 1 from ${from}`, params);
      return { overload, body: null, n: 0 };
    }
    const row = (
      await client.query<{ body: string; first: string | null; n: number }>(
        `select coalesce(json_agg(_t), '[]')::text as body, (json_agg(_t) -> 0)::text as first,
                count(*)::int as n from ${from}`,
        params,
      )
    ).rows[0]!;
    return { overload, ...row };
  });
  if (result.body === null) {
    sendText(res, 204, '', {});
    return;
  }
  if (!result.overload.retset) {
    sendText(res, 200, result.first ?? 'null', { 'content-type': single ? OBJECT_TYPE : JSON_TYPE });
    return;
  }
  if (single) {
    if (result.n !== 1) throw singleRowError(result.n);
    sendText(res, 200, result.first!, { 'content-type': OBJECT_TYPE });
    return;
  }
  sendText(res, 200, result.body, {
    'content-type': JSON_TYPE,
    'content-range': contentRange(0, result.n, null),
  });
}

/** `/rest/v1/...` with verified claims. */
export async function handleRest(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  claims: JwtClaims,
  options: RestOptions,
): Promise<void> {
  checkProfile(req);
  const rest = url.pathname.slice('/rest/v1/'.length);
  let segments: string[];
  try {
    segments = rest.split('/').map(decodeURIComponent);
  } catch {
    throw pgrstError(400, 'PGRST100', 'the request path is not valid percent-encoding');
  }
  const bad = (name: string) => name === '' || name.includes('\0') || name.length > 63;
  if (segments.length === 2 && segments[0] === 'rpc' && !bad(segments[1]!)) {
    return rpc(req, res, url, segments[1]!, claims, options);
  }
  if (segments.length !== 1 || bad(segments[0]!)) {
    throw pgrstError(404, 'PGRST125', `Invalid path specified in request URL: ${url.pathname}`);
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw notImplemented(`${req.method} on tables (the dashboard writes through rpc)`);
  }
  return read(req, res, url, segments[0]!, claims, options);
}
