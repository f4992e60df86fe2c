/**
 * PostgREST's read syntax, the subset the local Supabase stand-in implements, parsed and turned
 * into one parameterized SQL statement (LOCAL STAND-IN, pure code: no I/O).
 *
 *   select=col,alias:col,*        order=col.desc.nullslast,col2     limit=N  offset=N
 *   col=[not.]eq|neq|gt|gte|lt|lte|like|ilike.value   col=[not.]in.(a,"b,c")   col=[not.]is.null|true|...
 *
 * Identifiers must name a relation / columns that exist (the caller passes the catalog's view, the
 * "schema cache") and are always quoted; values are always bind parameters, so their type comes
 * from the column they are compared with (PostgreSQL infers it), as in PostgREST.
 */
import { notImplemented, pgrstError } from './http.js';

export type FilterOperator = 'eq' | 'neq' | 'gt' | 'gte' | 'lt' | 'lte' | 'like' | 'ilike' | 'in' | 'is';

const COMPARISON: Record<Exclude<FilterOperator, 'in' | 'is'>, string> = {
  eq: '=',
  neq: '<>',
  gt: '>',
  gte: '>=',
  lt: '<',
  lte: '<=',
  like: 'like',
  ilike: 'ilike',
};
const IS_VALUES: Record<string, string> = {
  null: 'null',
  not_null: 'not null',
  true: 'true',
  false: 'false',
  unknown: 'unknown',
};

export interface SelectItem {
  column: string;
  alias?: string;
}

export interface Filter {
  column: string;
  negate: boolean;
  op: FilterOperator;
  /** The text of eq..ilike, the list of in, the keyword of is. */
  value: string | string[];
}

export interface OrderTerm {
  column: string;
  direction: 'asc' | 'desc';
  nulls?: 'first' | 'last';
}

export interface ReadQuery {
  /** '*' or the listed columns. */
  select: '*' | SelectItem[];
  filters: Filter[];
  order: OrderTerm[];
  /** Never above maxRows (Supabase's `max_rows`, 1000 by default). */
  limit: number;
  offset: number;
}

/** Query parameters that are not filters; those of PostgREST the stand-in lacks are refused. */
const RESERVED = new Set(['select', 'order', 'limit', 'offset']);
const UNSUPPORTED = new Set(['or', 'and', 'not.or', 'not.and', 'columns', 'on_conflict']);

const parseError = (what: string, detail: string) =>
  pgrstError(400, 'PGRST100', `"failed to parse ${what}"`, detail);

/** No NUL (PostgreSQL refuses it in identifiers and text) and nothing empty. */
function checkName(name: string, what: string): string {
  if (name === '' || name.includes('\0') || name.length > 63)
    throw parseError(what, `invalid name ${JSON.stringify(name)}`);
  return name;
}

export function parseSelect(text: string | null): '*' | SelectItem[] {
  // postgrest-js strips whitespace outside quotes; so does PostgREST.
  const compact = (text ?? '').replace(/\s+/g, '');
  if (compact === '' || compact === '*') return '*';
  const items: SelectItem[] = [];
  for (const part of compact.split(',')) {
    if (part === '*') throw notImplemented('select=* together with columns');
    if (/[()!]/.test(part)) throw notImplemented(`resource embedding (select=${part})`);
    if (part.includes('->') || part.includes('::'))
      throw notImplemented(`JSON paths and casts (select=${part})`);
    const [first, second, ...rest] = part.split(':');
    if (rest.length > 0) throw parseError('select parameter', part);
    if (second === undefined) items.push({ column: checkName(first!, 'select parameter') });
    else
      items.push({
        column: checkName(second, 'select parameter'),
        alias: checkName(first!, 'select parameter'),
      });
  }
  return items;
}

/** `(a,"b,c",d)`: PostgREST's list syntax, double quotes with backslash escapes. */
export function parseList(text: string): string[] {
  if (!text.startsWith('(') || !text.endsWith(')'))
    throw parseError('filter (in)', `expected (a,b,...), got ${text}`);
  const body = text.slice(1, -1);
  if (body === '') return [];
  const values: string[] = [];
  let i = 0;
  while (i <= body.length) {
    let value = '';
    if (body[i] === '"') {
      i++;
      while (i < body.length && body[i] !== '"') {
        if (body[i] === '\\' && i + 1 < body.length) i++;
        value += body[i];
        i++;
      }
      if (body[i] !== '"') throw parseError('filter (in)', `unterminated quote in ${text}`);
      i++;
      if (i < body.length && body[i] !== ',')
        throw parseError('filter (in)', `expected , after a quoted value in ${text}`);
    } else {
      const end = body.indexOf(',', i);
      value = body.slice(i, end === -1 ? body.length : end);
      i = end === -1 ? body.length : end;
    }
    values.push(value);
    i++; // the comma
  }
  return values;
}

export function parseFilter(column: string, text: string): Filter {
  let rest = text;
  let negate = false;
  if (rest.startsWith('not.')) {
    negate = true;
    rest = rest.slice(4);
  }
  const dot = rest.indexOf('.');
  const op = (dot === -1 ? rest : rest.slice(0, dot)) as FilterOperator;
  const value = dot === -1 ? '' : rest.slice(dot + 1);
  if (dot === -1) throw parseError('filter', `${column}=${text}: expected operator.value`);
  if (op === 'in') return { column, negate, op, value: parseList(value) };
  if (op === 'is') {
    if (!(value in IS_VALUES))
      throw parseError('filter (is)', `${column}=${text}: expected null, not_null, true, false or unknown`);
    return { column, negate, op, value };
  }
  if (!(op in COMPARISON)) {
    throw /^[a-z]+$/.test(op)
      ? notImplemented(`the filter operator ${op}`)
      : parseError('filter', `${column}=${text}: unknown operator`);
  }
  if (value.includes('\0')) throw parseError('filter', `${column}: NUL in the value`);
  // PostgREST lets * stand for % in like patterns (% is awkward in URLs).
  return { column, negate, op, value: op === 'like' || op === 'ilike' ? value.replaceAll('*', '%') : value };
}

export function parseOrder(text: string | null): OrderTerm[] {
  if (text === null || text.trim() === '') return [];
  return text.split(',').map((term) => {
    const parts = term.trim().split('.');
    const column = checkName(parts.shift()!, 'order');
    const order: OrderTerm = { column, direction: 'asc' };
    for (const part of parts) {
      if (part === 'asc' || part === 'desc') order.direction = part;
      else if (part === 'nullsfirst') order.nulls = 'first';
      else if (part === 'nullslast') order.nulls = 'last';
      else throw parseError('order', `${term}: expected asc, desc, nullsfirst or nullslast, got ${part}`);
    }
    return order;
  });
}

/** A non-negative integer parameter; digits only (no sign, exponent, or fraction). */
function parseCount(name: string, text: string | null): bigint | null {
  if (text === null) return null;
  if (!/^\d{1,30}$/.test(text))
    throw parseError(`${name} parameter (${text})`, 'expected a non-negative integer');
  return BigInt(text);
}

export function parseReadQuery(params: URLSearchParams, maxRows: number): ReadQuery {
  const filters: Filter[] = [];
  for (const [name, value] of params) {
    if (RESERVED.has(name)) continue;
    if (UNSUPPORTED.has(name)) throw notImplemented(`the ${name} parameter`);
    if (name.includes('.') || name.includes('->'))
      throw notImplemented(`filters on embedded resources or JSON paths (${name})`);
    filters.push(parseFilter(checkName(name, 'filter'), value));
  }
  for (const name of RESERVED) {
    if (params.getAll(name).length > 1)
      throw parseError(`${name} parameter`, `${name} is given more than once`);
  }
  const limit = parseCount('limit', params.get('limit'));
  const offset = parseCount('offset', params.get('offset'));
  // Offsets past a bigint would be a database error; nothing real is that far.
  if (offset !== null && offset > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw parseError('offset parameter', `offset ${offset} is too large`);
  }
  return {
    select: parseSelect(params.get('select')),
    filters,
    order: parseOrder(params.get('order')),
    limit: limit === null || limit > BigInt(maxRows) ? maxRows : Number(limit),
    offset: offset === null ? 0 : Number(offset),
  };
}

export const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

export interface ReadSql {
  /** One row: `body` (the JSON array as text), `first` (its first element) and `n` (its length). */
  rows: string;
  params: unknown[];
  /** One row: `total` (bigint as text): the rows the filters match, without limit and offset. */
  count: string;
  countParams: unknown[];
}

/**
 * The statements of a read. `columns` is what the catalog says the relation has: any other column
 * is refused with PostgreSQL's own 42703 (what PostgREST passes through).
 */
export function buildReadSql(
  schema: string,
  relation: string,
  columns: ReadonlySet<string>,
  query: ReadQuery,
): ReadSql {
  const known = (column: string) => {
    if (!columns.has(column)) {
      throw pgrstError(400, '42703', `column ${relation}.${column} does not exist`);
    }
    return quoteIdent(column);
  };
  const params: unknown[] = [];
  const param = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  const from = `${quoteIdent(schema)}.${quoteIdent(relation)}`;
  // `rel.*`: PostgreSQL checks the privileges of every column (a column not granted: 42501).
  const list =
    query.select === '*'
      ? `${quoteIdent(relation)}.*`
      : query.select
          .map((s) => (s.alias ? `${known(s.column)} as ${quoteIdent(s.alias)}` : known(s.column)))
          .join(', ');
  const where = query.filters.map((f) => {
    const column = known(f.column);
    let condition: string;
    if (f.op === 'is') condition = `${column} is ${IS_VALUES[f.value as string]}`;
    else if (f.op === 'in') condition = `${column} = any(${param(f.value)})`;
    else condition = `${column} ${COMPARISON[f.op]} ${param(f.value)}`;
    return f.negate ? `not (${condition})` : condition;
  });
  const whereSql = where.length ? ` where ${where.join(' and ')}` : '';
  const orderSql = query.order.length
    ? ` order by ${query.order
        .map((o) => `${known(o.column)} ${o.direction}${o.nulls ? ` nulls ${o.nulls}` : ''}`)
        .join(', ')}`
    : '';
  const countParams = [...params];
  const paging = ` limit ${param(query.limit)} offset ${param(query.offset)}`;
  return {
    rows: `select coalesce(json_agg(_t), '[]')::text as body, (json_agg(_t) -> 0)::text as first, count(*)::int as n from (select ${list} from ${from}${whereSql}${orderSql}${paging}) _t`,
    params,
    count: `select count(*)::text as total from ${from}${whereSql}`,
    countParams,
  };
}
