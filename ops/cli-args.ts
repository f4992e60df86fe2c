/**
 * Argument parsing and usage texts for every `npm run ops` command, so they all behave alike:
 * `-h`/`--help` anywhere prints the command's usage on stdout and exits 0 (even next to a bad
 * option: someone asking for help should get it), and a bad argument is one line on stderr naming
 * it, with a hint to --help, and exit 2. Each command's options are declared once here and drive
 * both node:util parseArgs and the usage text, so the defaults shown cannot drift.
 */
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  /** The value's name in the usage text (string options). */
  arg?: string;
  default?: string | boolean;
  /** The default as the usage text tells it, when it is not a literal value. */
  defaultText?: string;
  required?: boolean;
  /** A string option that may be given more than once (its value is then an array). */
  multiple?: boolean;
  help: string;
}

export interface CommandSpec {
  /** The words after `npm run ops --` that name the command, e.g. `daily` or `playbook cost-spike`. */
  name: string;
  /** What follows `npm run ops --` in the usage line. */
  synopsis: string;
  /** A few lines on what the command does. */
  about: string[];
  options: Record<string, OptionSpec>;
  /** Extra sections (commands, playbooks), each a heading and its lines. */
  sections?: { heading: string; lines: string[] }[];
  /** What 0 and 1 mean for this command (2 is always a usage or settings problem). */
  exitCodes?: { 0: string; 1: string };
  example: string;
}

/** `ops` for the top level, else `ops <command>`: the prefix of every message a command prints. */
export const prefixOf = (spec: CommandSpec): string => (spec.name ? `ops ${spec.name}` : 'ops');

const hintFor = (spec: CommandSpec) => `npm run ops -- ${spec.name ? `${spec.name} ` : ''}--help`;

/** Options before a `--` terminator ask for help. */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '-h' || a === '--help');
}

export class UsageError extends Error {}

export type OptionValue = string | boolean | string[] | undefined;

export type Parsed = { values: Record<string, OptionValue>; positionals: string[] } | { exit: 0 | 2 };

/**
 * Parses `argv` for `spec`: help (exit 0) and argument errors (exit 2) are printed here. `check`
 * may throw a UsageError for a problem parseArgs cannot see (a missing positional, a bad value).
 */
export function parseCommand(
  argv: string[],
  spec: CommandSpec,
  io: { out: (t: string) => void; err: (t: string) => void },
  check: (parsed: { values: Record<string, OptionValue>; positionals: string[] }) => void = (p) => {
    if (p.positionals.length) throw new UsageError(`unexpected argument ${p.positionals[0]}`);
  },
): Parsed {
  if (wantsHelp(argv)) {
    io.out(formatUsage(spec));
    return { exit: 0 };
  }
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: parseArgsOptions(spec),
    }) as { values: Record<string, OptionValue>; positionals: string[] };
    check(parsed);
    return parsed;
  } catch (error) {
    const message = usageMessage(error);
    if (message === undefined) throw error;
    io.err(`${prefixOf(spec)}: ${message} (see ${hintFor(spec)})\n`);
    return { exit: 2 };
  }
}

/** The one-line message for a usage problem, or undefined for any other error. */
export function usageMessage(error: unknown): string | undefined {
  if (error instanceof UsageError) return error.message;
  const code = (error as { code?: string }).code;
  if (!code?.startsWith('ERR_PARSE_ARGS')) return undefined;
  // parseArgs' messages run to three lines and suggest `--`; say what is wrong in a few words.
  const text = (error as Error).message;
  const quoted = /'([^']+)'/.exec(text)?.[1] ?? '';
  const option = quoted.split(' ')[0]!;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') return `unexpected argument ${quoted}`;
  if (/does not take an argument/.test(text)) return `${option} takes no value`;
  if (/ambiguous/.test(text))
    return `${option} needs a value (write ${option}=VALUE for one starting with -)`;
  if (/argument missing/.test(text)) return `${option} needs a value`;
  return text.split('\n')[0]!;
}

function parseArgsOptions(spec: CommandSpec) {
  const options: Record<
    string,
    { type: 'string' | 'boolean'; default?: string | boolean; short?: string; multiple?: boolean }
  > = {};
  for (const [name, o] of Object.entries(spec.options))
    options[name] = {
      type: o.type,
      ...(o.default !== undefined ? { default: o.default } : {}),
      ...(o.multiple ? { multiple: true } : {}),
    };
  options.help = { type: 'boolean', short: 'h' };
  return options;
}

export function formatUsage(spec: CommandSpec): string {
  const rows: (readonly [string, string])[] = Object.entries(spec.options).map(([name, o]) => {
    const shown = o.defaultText ?? (typeof o.default === 'string' ? o.default : undefined);
    const note =
      (o.required ? ' (required)' : shown !== undefined ? ` (default: ${shown})` : '') +
      (o.multiple ? ' (repeatable)' : '');
    return [`--${name}${o.type === 'string' ? ` ${o.arg ?? 'VALUE'}` : ''}`, `${o.help}${note}`] as const;
  });
  rows.push(['-h, --help', 'show this help']);
  const lines = [`Usage: npm run ops -- ${spec.synopsis}`, '', ...spec.about, ''];
  for (const section of spec.sections ?? []) lines.push(`${section.heading}:`, ...section.lines, '');
  const codes = spec.exitCodes ?? { 0: 'done', 1: 'failed (see stderr)' };
  lines.push(
    'Options:',
    ...table(rows),
    '',
    'Exit codes:',
    ...table([
      ['0', `${codes[0]}; also after --help`],
      ['1', codes[1]],
      ['2', 'bad arguments, or the environment is not ready (nothing was run)'],
    ]),
    '',
    'Example:',
    `  ${spec.example}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Two columns, the second aligned; used for options and command lists. */
export function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`);
}
