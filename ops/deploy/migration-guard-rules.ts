/**
 * What the destructive-migration guard refuses, decided on PostgreSQL's own parse tree (the JSON
 * of libpg_query, the server's grammar): one parsed statement in, the data it would destroy out.
 * Comments and string literals never reach these rules; a function body is an opaque string to
 * the parser, which is right: creating a function runs none of it (DO blocks, which do run, are
 * reviewed by migration-guard.ts through the PL/pgSQL parser).
 */

/** A node of the parse tree: `{ KindName: { ...fields } }`, or a bare field object. */
export type PgNode = Record<string, unknown>;

/** The rules, by the name a refusal shows. docs/deploy.md "Database" lists the same. */
export const GUARD_RULES = {
  'drop table': 'DROP TABLE: the table and its rows',
  'drop schema': 'DROP SCHEMA: every table in it (with CASCADE), or a schema that may hold data',
  'drop cascade':
    'DROP ... CASCADE of any object: it takes dependent objects with it (drop type ... cascade drops the columns of that type)',
  'drop owned': 'DROP OWNED: every object a role owns',
  'drop database': 'DROP DATABASE',
  'drop column': 'ALTER TABLE ... DROP COLUMN (and ALTER TYPE ... DROP ATTRIBUTE): the column and its values',
  'column type change':
    'ALTER COLUMN ... TYPE: a conversion can round, truncate or fail (any USING expression rewrites the values)',
  truncate: 'TRUNCATE: every row',
  'delete without where': 'DELETE without WHERE (also inside a WITH clause): every row',
  'dynamic sql': 'EXECUTE of SQL built at run time in a DO block that the guard cannot read',
  unreadable: 'a file or DO block the parser cannot read, so nothing in it can be vouched for',
} as const;
export type GuardRule = keyof typeof GUARD_RULES;

export interface RuleHit {
  rule: GuardRule;
  /** What it destroys, e.g. `drop column public.devices.name`. */
  detail: string;
}

/** The destructive effects of one statement (`{ Kind: fields }` as in ParseResult.stmts[].stmt). */
export function statementHits(stmt: PgNode): RuleHit[] {
  const [kind, body] = entry(stmt);
  const hits: RuleHit[] = [];
  if (kind === 'DropStmt') hits.push(...dropHits(body));
  if (kind === 'DropOwnedStmt') hits.push({ rule: 'drop owned', detail: 'drop owned' });
  if (kind === 'DropdbStmt')
    hits.push({ rule: 'drop database', detail: `drop database ${str(body.dbname)}` });
  if (kind === 'TruncateStmt') {
    for (const rel of list(body.relations))
      hits.push({ rule: 'truncate', detail: `truncate ${rangeVar(rel)}` });
  }
  if (kind === 'AlterTableStmt') hits.push(...alterTableHits(body));
  // DELETE can hide in a WITH clause, EXPLAIN ANALYZE or COPY (...): look through the whole tree,
  // except into definitions that only store SQL for later (rules, prepared statements).
  walk(stmt, (k, node) => {
    if (k === 'RuleStmt' || k === 'PrepareStmt') return false;
    if (k === 'DeleteStmt' && !node.whereClause)
      hits.push({
        rule: 'delete without where',
        detail: `delete from ${rangeVar(node.relation)} without where`,
      });
    return true;
  });
  return hits;
}

/**
 * Statements that make `supabase db push` run a file statement by statement instead of in one
 * transaction (observed with supabase 3.1.0), so a failure leaves the statements before it applied.
 */
export function nonTransactional(stmt: PgNode): string | undefined {
  const [kind, body] = entry(stmt);
  if (kind === 'TransactionStmt') return 'transaction control (begin/commit)';
  if (kind === 'IndexStmt' && body.concurrent === true) return 'create index concurrently';
  if (kind === 'ReindexStmt' && list(body.params).some((p) => field(p, 'DefElem').defname === 'concurrently'))
    return 'reindex concurrently';
  if (kind === 'VacuumStmt') return body.is_vacuumcmd === true ? 'vacuum' : undefined;
  if (kind === 'CreatedbStmt' || kind === 'DropdbStmt') return 'create/drop database';
  return undefined;
}

function dropHits(body: PgNode): RuleHit[] {
  const type = str(body.removeType)
    .replace(/^OBJECT_/, '')
    .toLowerCase();
  const names = list(body.objects).map(objectName);
  const cascade = body.behavior === 'DROP_CASCADE';
  const what = `drop ${type.replace(/_/g, ' ')} ${names.join(', ')}${cascade ? ' cascade' : ''}`;
  if (type === 'table') return [{ rule: 'drop table', detail: what }];
  if (type === 'schema') return [{ rule: 'drop schema', detail: what }];
  if (cascade) return [{ rule: 'drop cascade', detail: what }];
  return [];
}

function alterTableHits(body: PgNode): RuleHit[] {
  const rel = rangeVar(body.relation);
  const hits: RuleHit[] = [];
  for (const c of list(body.cmds)) {
    const cmd = field(c, 'AlterTableCmd');
    if (cmd.subtype === 'AT_DropColumn')
      hits.push({ rule: 'drop column', detail: `drop column ${rel}.${str(cmd.name)}` });
    if (cmd.subtype === 'AT_AlterColumnType') {
      const def = field(cmd.def, 'ColumnDef');
      const to = typeName(def.typeName);
      hits.push({
        rule: 'column type change',
        detail: `type change of ${rel}.${str(cmd.name)}${to ? ` to ${to}` : ''}${def.raw_default ? ' using an expression' : ''}`,
      });
    }
  }
  return hits;
}

/** Depth-first over every `{ Kind: fields }` node; `visit` returns false to skip a subtree. */
export function walk(node: unknown, visit: (kind: string, body: PgNode) => boolean): void {
  if (Array.isArray(node)) {
    for (const n of node) walk(n, visit);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    // Node kinds are CamelCase keys holding an object; fields are snake_case or camelCase.
    if (/^[A-Z]/.test(key) && isObject(value)) {
      if (visit(key, value)) walk(value, visit);
    } else {
      walk(value, visit);
    }
  }
}

export function entry(node: PgNode): [string, PgNode] {
  const [kind, body] = Object.entries(node)[0] ?? ['', {}];
  return [kind, isObject(body) ? body : {}];
}

export function field(node: unknown, kind: string): PgNode {
  if (!isObject(node)) return {};
  const inner = node[kind];
  return isObject(inner) ? inner : {};
}

export function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function isObject(value: unknown): value is PgNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rangeVar(node: unknown): string {
  const rv = isObject(node) && 'RangeVar' in node ? field(node, 'RangeVar') : isObject(node) ? node : {};
  return [rv.catalogname, rv.schemaname, rv.relname].filter((p) => typeof p === 'string').join('.');
}

function names(value: unknown): string {
  return list(value)
    .map((n) => str(field(n, 'String').sval))
    .filter(Boolean)
    .join('.');
}

function typeName(node: unknown): string {
  const t = field(node, 'TypeName');
  return names(t.names ?? (isObject(node) ? node.names : undefined)).replace(/^pg_catalog\./, '');
}

function objectName(node: unknown): string {
  if (!isObject(node)) return '?';
  if ('List' in node) return names(field(node, 'List').items);
  if ('String' in node) return str(field(node, 'String').sval);
  if ('TypeName' in node) return typeName(node);
  if ('ObjectWithArgs' in node) return names(field(node, 'ObjectWithArgs').objname);
  return entry(node)[0];
}
