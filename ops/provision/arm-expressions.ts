/**
 * ARM template expressions (`"[parameters('x')]"`), read here so that a template can be checked
 * before Azure sees it (template-check.ts: every parameter and variable referenced exists) and so
 * that the parts that depend only on the parameters can be worked out offline (which conditional
 * resources a deployment contains, what a property becomes). Only the pure functions are
 * evaluated; anything that needs Azure (reference, list*, resourceGroup) throws OfflineError.
 */

export type ArmExpression =
  | { kind: 'string'; value: string }
  | { kind: 'number'; value: number }
  | { kind: 'call'; name: string; args: ArmExpression[] }
  | { kind: 'property'; target: ArmExpression; name: string }
  | { kind: 'index'; target: ArmExpression; index: ArmExpression };

/** A JSON string that ARM evaluates: `[...]`, but not the `[[` escape of a literal bracket. */
export function isExpression(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('[') && value.endsWith(']') && !value.startsWith('[[');
}

export class ExpressionSyntaxError extends Error {}

/** Parses the text of an expression string, brackets included. */
export function parseExpression(text: string): ArmExpression {
  if (!isExpression(text)) throw new ExpressionSyntaxError(`not an expression: ${text}`);
  const src = text.slice(1, -1);
  let at = 0;
  const fail = (what: string): never => {
    throw new ExpressionSyntaxError(`${what} at ${at} in ${text}`);
  };
  const space = () => {
    while (at < src.length && /\s/.test(src[at]!)) at++;
  };
  const ident = (): string => {
    const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(src.slice(at));
    if (!m) fail('a name expected');
    // A dotted name is a namespaced user function (ns.fn) only when a call follows.
    const name = m![0]!;
    at += name.length;
    return name;
  };
  const primary = (): ArmExpression => {
    space();
    const c = src[at];
    if (c === "'") {
      let value = '';
      at++;
      for (;;) {
        if (at >= src.length) fail('an unterminated string');
        if (src[at] === "'") {
          if (src[at + 1] === "'") {
            value += "'";
            at += 2;
            continue;
          }
          at++;
          return { kind: 'string', value };
        }
        value += src[at++];
      }
    }
    const num = /^-?\d+(\.\d+)?/.exec(src.slice(at));
    if (num) {
      at += num[0].length;
      return { kind: 'number', value: Number(num[0]) };
    }
    const name = ident();
    space();
    if (src[at] !== '(') fail(`"(" expected after ${name}`);
    at++;
    const args: ArmExpression[] = [];
    space();
    if (src[at] === ')') at++;
    else
      for (;;) {
        args.push(expression());
        space();
        if (src[at] === ',') {
          at++;
          continue;
        }
        if (src[at] === ')') {
          at++;
          break;
        }
        fail('"," or ")" expected');
      }
    return { kind: 'call', name, args };
  };
  const expression = (): ArmExpression => {
    let node = primary();
    for (;;) {
      space();
      if (src[at] === '.') {
        at++;
        const m = /^[A-Za-z_$][A-Za-z0-9_$-]*/.exec(src.slice(at));
        if (!m) fail('a property name expected');
        at += m![0].length;
        node = { kind: 'property', target: node, name: m![0] };
      } else if (src[at] === '[') {
        at++;
        const index = expression();
        space();
        if (src[at] !== ']') fail('"]" expected');
        at++;
        node = { kind: 'index', target: node, index };
      } else return node;
    }
  };
  const tree = expression();
  space();
  if (at !== src.length) fail('unexpected text');
  return tree;
}

/** Every call in an expression, depth first (to find parameters('x') and variables('y')). */
export function calls(node: ArmExpression): { name: string; args: ArmExpression[] }[] {
  switch (node.kind) {
    case 'call':
      return [{ name: node.name, args: node.args }, ...node.args.flatMap(calls)];
    case 'property':
      return calls(node.target);
    case 'index':
      return [...calls(node.target), ...calls(node.index)];
    default:
      return [];
  }
}

/** Every expression string in a template value, with its JSON path. */
export function expressionsIn(value: unknown, path = ''): { path: string; text: string }[] {
  if (isExpression(value)) return [{ path, text: value }];
  if (Array.isArray(value)) return value.flatMap((v, i) => expressionsIn(v, `${path}[${i}]`));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => expressionsIn(v, path ? `${path}.${k}` : k));
  return [];
}

/** A function that needs Azure (reference, list*, resourceGroup...): not evaluable offline. */
export class OfflineError extends Error {}

export interface EvaluationContext {
  parameters: Record<string, unknown>;
  /** The template's `variables` section, evaluated on first use. */
  variables?: Record<string, unknown>;
  /** The deployment's name (deployment().name). */
  deploymentName?: string;
  subscriptionId?: string;
  /** The current index of each named property copy loop. */
  copyIndex?: Record<string, number>;
}

type Fn = (args: unknown[], ctx: EvaluationContext) => unknown;

const str = (v: unknown, fn: string): string => {
  if (typeof v !== 'string') throw new Error(`${fn}(): a string expected, got ${JSON.stringify(v)}`);
  return v;
};

const isEmpty = (v: unknown) =>
  v === null ||
  v === '' ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && v !== null && Object.keys(v).length === 0);

/** The pure template functions this project's templates use (a subset of ARM's). */
const FUNCTIONS: Record<string, Fn> = {
  equals: ([a, b]) => JSON.stringify(a) === JSON.stringify(b),
  not: ([a]) => !a,
  and: (args) => args.every(Boolean),
  or: (args) => args.some(Boolean),
  empty: ([a]) => isEmpty(a),
  length: ([a]) => (typeof a === 'string' || Array.isArray(a) ? a.length : Object.keys(a as object).length),
  concat: (args) =>
    args.every(Array.isArray) ? (args as unknown[][]).flat() : args.map((a) => String(a)).join(''),
  format: ([f, ...rest]) =>
    str(f, 'format').replace(/\{(\d+)\}/g, (_m, i: string) => String(rest[Number(i)] ?? '')),
  toLower: ([a]) => str(a, 'toLower').toLowerCase(),
  toUpper: ([a]) => str(a, 'toUpper').toUpperCase(),
  take: ([a, n]) => (typeof a === 'string' ? a.slice(0, Number(n)) : (a as unknown[]).slice(0, Number(n))),
  first: ([a]) => (typeof a === 'string' ? a[0] : (a as unknown[])[0]),
  createArray: (args) => args,
  createObject: (args) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < args.length; i += 2) out[str(args[i], 'createObject')] = args[i + 1];
    return out;
  },
  union: (args) =>
    args.every(Array.isArray)
      ? [...new Set((args as unknown[][]).flat().map((x) => JSON.stringify(x)))].map((x) => JSON.parse(x))
      : Object.assign({}, ...(args as object[])),
  null: () => null,
  true: () => true,
  false: () => false,
  json: ([a]) => JSON.parse(str(a, 'json')),
  string: ([a]) => (typeof a === 'string' ? a : JSON.stringify(a)),
  int: ([a]) => Math.trunc(Number(a)),
  environment: () => ({
    name: 'AzureCloud',
    suffixes: { storage: 'core.windows.net' },
    resourceManager: 'https://management.azure.com/',
  }),
  deployment: (_args, ctx) => ({ name: ctx.deploymentName ?? 'deployment' }),
  subscription: (_args, ctx) => ({
    subscriptionId: ctx.subscriptionId ?? '00000000-0000-0000-0000-000000000000',
  }),
  copyIndex: ([name, offset], ctx) => {
    const key = typeof name === 'string' ? name : '';
    const i = ctx.copyIndex?.[key];
    if (i === undefined) throw new Error(`copyIndex(${key}) outside its copy loop`);
    return i + (typeof name === 'number' ? name : Number(offset ?? 0));
  },
  // Ids are plain strings offline: '<type>/<names...>' is enough to compare and display them.
  resourceId: (args) => args.map(String).join('/'),
  subscriptionResourceId: (args) => args.map(String).join('/'),
  extensionResourceId: (args) => args.map(String).join('/'),
};

/** Evaluates one expression string (or returns a literal as it is). */
export function evaluate(text: unknown, ctx: EvaluationContext): unknown {
  if (!isExpression(text)) return typeof text === 'string' && text.startsWith('[[') ? text.slice(1) : text;
  return evaluateNode(parseExpression(text), ctx);
}

function evaluateNode(node: ArmExpression, ctx: EvaluationContext): unknown {
  switch (node.kind) {
    case 'string':
    case 'number':
      return node.value;
    case 'property': {
      const target = evaluateNode(node.target, ctx) as Record<string, unknown> | null;
      if (!target || typeof target !== 'object' || !(node.name in target))
        throw new Error(`no property ${node.name}`);
      return target[node.name];
    }
    case 'index': {
      const target = evaluateNode(node.target, ctx) as Record<string | number, unknown>;
      const index = evaluateNode(node.index, ctx) as string | number;
      return target[index];
    }
    case 'call': {
      const name = node.name.toLowerCase();
      // if() evaluates only the branch it takes, as ARM does.
      if (name === 'if') {
        const [cond, yes, no] = node.args;
        return evaluateNode(evaluateNode(cond!, ctx) ? yes! : no!, ctx);
      }
      const args = node.args.map((a) => evaluateNode(a, ctx));
      if (name === 'parameters') {
        const key = str(args[0], 'parameters');
        if (!(key in ctx.parameters)) throw new Error(`parameters('${key}') has no value`);
        return ctx.parameters[key];
      }
      if (name === 'variables') {
        const key = str(args[0], 'variables');
        if (!ctx.variables || !(key in ctx.variables)) throw new Error(`variables('${key}') is not declared`);
        return evaluateValue(ctx.variables[key], ctx);
      }
      const fn = Object.entries(FUNCTIONS).find(([k]) => k.toLowerCase() === name)?.[1];
      if (!fn) throw new OfflineError(`${node.name}() needs Azure: not evaluated offline`);
      return fn(args, ctx);
    }
  }
}

/**
 * A template value with every expression evaluated, and property copy loops (`copy: [{ name,
 * count, input }]` inside an object) expanded into their arrays.
 */
export function evaluateValue(value: unknown, ctx: EvaluationContext): unknown {
  if (typeof value === 'string') return evaluate(value, ctx);
  if (Array.isArray(value)) return value.map((v) => evaluateValue(v, ctx));
  if (!value || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key === 'copy' && Array.isArray(v)) {
      for (const loop of v as { name: string; count: unknown; input: unknown }[]) {
        const count = Number(evaluate(loop.count, ctx));
        out[loop.name] = Array.from({ length: count }, (_x, i) =>
          evaluateValue(loop.input, { ...ctx, copyIndex: { ...ctx.copyIndex, [loop.name]: i, '': i } }),
        );
      }
    } else out[key] = evaluateValue(v, ctx);
  }
  return out;
}
