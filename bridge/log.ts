/**
 * JSON-lines logger for the bridge: one object per line on stdout, `{ts, level, msg, ...fields}`.
 * Callers never pass secrets (the options are summarised through `describeOptions`).
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function isLogLevel(value: string): value is LogLevel {
  return Object.prototype.hasOwnProperty.call(RANK, value);
}

export function createJsonLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => {
    process.stdout.write(line);
  },
  base: LogFields = {},
): Logger {
  const min = RANK[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lvl] < min) return;
    const entry: LogFields = { ts: new Date().toISOString(), level: lvl, msg, ...base };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) entry[k] = v instanceof Error ? v.message : v;
    }
    write(`${JSON.stringify(entry)}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that keeps entries in memory (tests, embedding). */
export interface MemoryLogger extends Logger {
  entries: Array<{ level: LogLevel; msg: string; fields: LogFields }>;
}

export function createMemoryLogger(echo = false): MemoryLogger {
  const entries: MemoryLogger['entries'] = [];
  const push =
    (level: LogLevel) =>
    (msg: string, fields: LogFields = {}): void => {
      entries.push({ level, msg, fields });
      if (echo) process.stderr.write(`${JSON.stringify({ level, msg, ...fields })}\n`);
    };
  return { entries, debug: push('debug'), info: push('info'), warn: push('warn'), error: push('error') };
}

/** Short, secret-free text for an error (includes the `cause` fetch errors hide their reason in). */
export function errorText(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const code = (err as NodeJS.ErrnoException).code;
    let text = err.message;
    if (code && !text.includes(code)) text = `${code}: ${text}`;
    if (cause instanceof Error && !text.includes(cause.message)) text += ` (${errorText(cause)})`;
    return text;
  }
  return String(err);
}
