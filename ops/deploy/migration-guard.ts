/**
 * The destructive-migration guard: reads each pending migration with PostgreSQL's own parser
 * (@libpg-query/parser, libpg_query compiled to WASM: the server's grammar, comments, string
 * literals and dollar quoting included) and refuses any statement that destroys data
 * (migration-guard-rules.ts) unless the file is explicitly allowed by name.
 *
 * What runs at migration time is reviewed: every top-level statement, and the SQL inside DO
 * blocks (PL/pgSQL parser), including EXECUTE of a literal or format('...') string. A function or
 * procedure body is not: creating one runs nothing, and it is reviewed as application code.
 */
// Loaded on first use: the parser instantiates its WASM when imported, which only a deploy needs
// (and which an action bundle that never deploys does not ship).
let parserModule: Promise<typeof import('@libpg-query/parser')> | undefined;
const parser = () => (parserModule ??= import('@libpg-query/parser'));
const parse = async (sql: string) => (await parser()).parse(sql);
const parsePlPgSQL = async (sql: string) => (await parser()).parsePlPgSQL(sql);
const scan = async (sql: string) => (await parser()).scan(sql);
import {
  entry,
  field,
  list,
  nonTransactional,
  statementHits,
  str,
  walk,
  type GuardRule,
  type PgNode,
  type RuleHit,
} from './migration-guard-rules.js';

export { GUARD_RULES, type GuardRule } from './migration-guard-rules.js';

export interface MigrationFile {
  /** The file name in supabase/migrations, e.g. 20261201000001_drop_x.sql. */
  name: string;
  sql: string;
}

export interface GuardFinding {
  file: string;
  /** 1-based line of the statement (inside a DO block: of the SQL in it). */
  line: number;
  /** The statement, whitespace collapsed and cut to a readable length. */
  statement: string;
  rule: GuardRule;
  /** What it destroys, e.g. `drop column public.devices.name`. */
  detail: string;
}

export interface NonTransactionalNote {
  file: string;
  line: number;
  reason: string;
}

export interface GuardReport {
  /** Destructive statements in files nobody allowed: the push must not run. */
  refused: GuardFinding[];
  /** Destructive statements in files named by an allowance. */
  allowed: GuardFinding[];
  /** Allowances that name no pending file (a typo, or a migration already applied). */
  unusedAllowances: string[];
  /** Files `supabase db push` will not run in one transaction (see docs/deploy.md). */
  nonTransactional: NonTransactionalNote[];
}

export interface FileReview {
  findings: GuardFinding[];
  nonTransactional: NonTransactionalNote[];
}

/** The trailer (a line in a commit message) that allows one destructive migration file. */
export const ALLOW_TRAILER = 'Allow-destructive-migration';

/** Reviews pending migrations against the allowances (file names; a path is reduced to its name). */
export async function guardMigrations(files: MigrationFile[], allow: string[] = []): Promise<GuardReport> {
  const allowed = new Set(allow.map(fileName));
  const report: GuardReport = { refused: [], allowed: [], unusedAllowances: [], nonTransactional: [] };
  for (const file of files) {
    const review = await reviewMigration(file);
    (allowed.has(file.name) ? report.allowed : report.refused).push(...review.findings);
    report.nonTransactional.push(...review.nonTransactional);
  }
  const pending = new Set(files.map((f) => f.name));
  report.unusedAllowances = [...allowed].filter((a) => !pending.has(a)).sort();
  return report;
}

export async function reviewMigration(file: MigrationFile): Promise<FileReview> {
  const review: FileReview = { findings: [], nonTransactional: [] };
  if (!file.sql.trim()) return review;
  const source = new Source(file.sql);
  let stmts: { stmt?: PgNode; stmt_location?: number; stmt_len?: number }[];
  try {
    stmts = ((await parse(file.sql)) as { stmts?: typeof stmts }).stmts ?? [];
  } catch (error) {
    const at = (error as { sqlDetails?: { cursorPosition?: number } }).sqlDetails?.cursorPosition ?? 0;
    review.findings.push({
      file: file.name,
      line: source.lineAt(at),
      statement: source.excerpt(at, at + 80),
      rule: 'unreadable',
      detail: `the parser cannot read it: ${(error as Error).message}`,
    });
    return review;
  }
  const starts = await source.tokenStarts();
  for (const s of stmts) {
    if (!s.stmt) continue;
    const from = s.stmt_location ?? 0;
    const to = s.stmt_len ? from + s.stmt_len : source.length;
    // stmt_location points just past the previous `;`: the statement starts at its first token.
    const start = starts.find((t) => t >= from && t < to) ?? from;
    const line = source.lineAt(start);
    const statement = source.excerpt(start, to);
    const at = (hit: RuleHit): GuardFinding => ({ file: file.name, line, statement, ...hit });
    review.findings.push(...statementHits(s.stmt).map(at));
    const [kind, body] = entry(s.stmt);
    if (kind === 'DoStmt') review.findings.push(...(await reviewDoBlock(file.name, body, source, statement)));
    const why = nonTransactional(s.stmt);
    if (why) review.nonTransactional.push({ file: file.name, line, reason: why });
  }
  return review;
}

/** A DO block runs at migration time: its SQL is reviewed like the file's own statements. */
async function reviewDoBlock(
  file: string,
  body: PgNode,
  source: Source,
  statement: string,
): Promise<GuardFinding[]> {
  const args = list(body.args).map((a) => field(a, 'DefElem'));
  const language = str(field(args.find((a) => a.defname === 'language')?.arg, 'String').sval) || 'plpgsql';
  const code = args.find((a) => a.defname === 'as');
  const text = str(field(code?.arg, 'String').sval);
  const codeLine = source.lineAt(typeof code?.location === 'number' ? code.location : 0);
  const unreadable = (detail: string, line = codeLine): GuardFinding => ({
    file,
    line,
    statement,
    rule: 'unreadable',
    detail,
  });
  if (language.toLowerCase() !== 'plpgsql') return [unreadable(`a DO block in language ${language}`)];
  // The PL/pgSQL parser reads function definitions: wrap the block in one whose body starts on
  // the line of the block's opening quote, so its line numbers map onto the file's.
  let tag = 'guard';
  while (text.includes(`$${tag}$`)) tag += '_';
  const wrapped = `create function pg_temp.migration_guard() returns void language plpgsql as $${tag}$${text}$${tag}$`;
  let tree: unknown;
  try {
    tree = await parsePlPgSQL(wrapped);
  } catch (error) {
    return [unreadable(`the PL/pgSQL parser cannot read this DO block: ${(error as Error).message}`)];
  }
  const findings: GuardFinding[] = [];
  const sql: { query: string; line: number; dynamic: boolean }[] = [];
  let line = codeLine;
  walk(tree, (kind, node) => {
    if (typeof node.lineno === 'number') line = codeLine + node.lineno - 1;
    if (kind === 'PLpgSQL_stmt_dynexecute' || kind === 'PLpgSQL_stmt_dynfors')
      sql.push({ query: exprText(node.query), line, dynamic: true });
    if ((kind === 'PLpgSQL_stmt_open' || kind === 'PLpgSQL_stmt_return_query') && node.dynquery)
      sql.push({ query: exprText(node.dynquery), line, dynamic: true });
    // parseMode 0 (RAW_PARSE_DEFAULT): a whole SQL statement, not an expression.
    if (kind === 'PLpgSQL_expr' && (node.parseMode ?? 0) === 0)
      sql.push({ query: str(node.query), line, dynamic: false });
    return true;
  });
  for (const q of sql) {
    const hits = q.dynamic ? await dynamicHits(q.query) : await sqlHits(q.query);
    const excerpt = q.dynamic ? `execute ${collapse(q.query)}` : collapse(q.query);
    for (const hit of hits ?? [
      { rule: 'unreadable', detail: `the parser cannot read ${excerpt}` } as RuleHit,
    ])
      findings.push({ file, line: q.line, statement: cut(excerpt), ...hit });
  }
  return findings;
}

/** The hits of SQL text (one or more statements), or undefined when it does not parse. */
async function sqlHits(query: string): Promise<RuleHit[] | undefined> {
  try {
    const stmts = ((await parse(query)) as { stmts?: { stmt?: PgNode }[] }).stmts ?? [];
    return stmts.flatMap((s) => {
      if (!s.stmt) return [];
      if (entry(s.stmt)[0] === 'DoStmt')
        return [{ rule: 'dynamic sql', detail: 'a DO block inside a DO block' } as RuleHit];
      return statementHits(s.stmt);
    });
  } catch {
    return undefined;
  }
}

/**
 * EXECUTE's SQL is built at run time. A literal, or format() of a literal, is still readable:
 * its placeholders become an identifier (%I, %s) or a string (%L) and the result is reviewed.
 * Anything else (concatenation, a variable) cannot be vouched for and is refused as dynamic SQL.
 */
async function dynamicHits(expression: string): Promise<RuleHit[]> {
  const unreadable: RuleHit[] = [{ rule: 'dynamic sql', detail: `execute ${cut(collapse(expression))}` }];
  let template: string | undefined;
  try {
    const tree = (await parse(`select ${expression}`)) as { stmts?: { stmt?: PgNode }[] };
    const select = field(tree.stmts?.[0]?.stmt, 'SelectStmt');
    const value = field(list(select.targetList)[0], 'ResTarget').val;
    template = literal(value) ?? formatTemplate(value);
  } catch {
    return unreadable;
  }
  if (template === undefined) return unreadable;
  // A quoted identifier or string keeps the placeholder readable in the refusal (`drop table %I`).
  const sql = template.replace(
    /%(\d+\$)?-?(\d+|\*(\d+\$)?)?([sIL%])/g,
    (m: string, _p, _w, _s, type: string) => (type === '%' ? '%' : type === 'L' ? `'${m}'` : `"${m}"`),
  );
  return (await sqlHits(sql)) ?? unreadable;
}

function literal(value: unknown): string | undefined {
  const c = field(value, 'A_Const');
  const s = field(c, 'sval').sval;
  return typeof s === 'string' ? s : undefined;
}

function formatTemplate(value: unknown): string | undefined {
  const call = field(value, 'FuncCall');
  const name = list(call.funcname).map((n) => str(field(n, 'String').sval));
  if (name.at(-1) !== 'format' || (name.length === 2 && name[0] !== 'pg_catalog')) return undefined;
  return literal(list(call.args)[0]);
}

function exprText(node: unknown): string {
  return str(field(node, 'PLpgSQL_expr').query);
}

/** A file's text with the parser's byte offsets mapped to lines and excerpts. */
class Source {
  private readonly bytes: Buffer;
  constructor(private readonly sql: string) {
    this.bytes = Buffer.from(sql, 'utf8');
  }
  get length(): number {
    return this.bytes.length;
  }
  lineAt(offset: number): number {
    let line = 1;
    for (let i = 0; i < Math.min(offset, this.bytes.length); i++) if (this.bytes[i] === 0x0a) line++;
    return line;
  }
  excerpt(from: number, to: number): string {
    return cut(collapse(this.bytes.subarray(from, to).toString('utf8')));
  }
  /** Where each token that is not a comment starts (the lexer's, so quotes and comments are exact). */
  async tokenStarts(): Promise<number[]> {
    const { tokens } = (await scan(this.sql)) as { tokens: { start: number; tokenName: string }[] };
    return tokens
      .filter((t) => t.tokenName !== 'SQL_COMMENT' && t.tokenName !== 'C_COMMENT')
      .map((t) => t.start);
  }
}

function collapse(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/;\s*$/, '').trim();
}

function cut(text: string): string {
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

function fileName(allowance: string): string {
  return allowance.trim().split('/').at(-1) ?? '';
}

/** The refusal: each file, line and statement, what it destroys, and how to allow it. */
export function formatRefusal(report: GuardReport, migrationsPath = 'supabase/migrations'): string {
  const files = [...new Set(report.refused.map((f) => f.file))];
  const lines = [
    `refused: ${files.length} pending migration${files.length === 1 ? '' : 's'} would destroy data (nothing was applied):`,
    ...report.refused.map(
      (f) => `  ${migrationsPath}/${f.file}:${f.line}: ${f.detail} [${f.rule}]: ${f.statement}`,
    ),
    'If that is intended, allow each file by name: a line in a commit message of the merge',
    ...files.map((f) => `  ${ALLOW_TRAILER}: ${f}`),
    `or, from a laptop, npm run ops -- deploy ... ${files.map((f) => `--allow-destructive ${f}`).join(' ')}`,
    'A backup is taken before an allowed migration runs; migrations are forward-only (docs/deploy.md, Database).',
  ];
  return lines.join('\n');
}
