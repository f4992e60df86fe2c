/**
 * Secrets come only from environment variables. Each value read is handed to `mask` (in a
 * workflow, `core.setSecret`, so the runner blanks it in logs) and remembered, so any text we
 * print can be passed through `redact` as a second line of defence.
 */
export interface SecretReader {
  /** The value of `name`; throws naming the variable when it is unset or empty. */
  read(name: string): string;
  /** Like read, but undefined when unset. */
  readOptional(name: string): string | undefined;
  /** Treats a value that did not come from the environment (sandbox credentials) as a secret. */
  track(value: string): void;
  /** `text` with every secret read so far replaced by `***`. */
  redact(text: string): string;
}

export class MissingSecretError extends Error {
  constructor(
    readonly variable: string,
    environment: string,
  ) {
    super(
      `environment variable ${variable} is not set: it carries a secret of environment "${environment}" ` +
        `(a repository or environment secret in GitHub Actions; export it to run the CLI)`,
    );
  }
}

export function createSecretReader(
  environment: string,
  env: Record<string, string | undefined>,
  mask: (value: string) => void = () => undefined,
): SecretReader {
  const seen = new Set<string>();
  const remember = (value: string): void => {
    for (const part of secretParts(value)) {
      if (seen.has(part)) continue;
      seen.add(part);
      mask(part);
    }
  };
  const readOptional = (name: string): string | undefined => {
    const value = env[name];
    if (value === undefined || value === '') return undefined;
    remember(value);
    return value;
  };
  return {
    readOptional,
    track: remember,
    read(name) {
      const value = readOptional(name);
      if (value === undefined) throw new MissingSecretError(name, environment);
      return value;
    },
    redact(text) {
      let out = text;
      // Longest first, so a password inside a URL does not leave the rest of the URL behind.
      for (const s of [...seen].sort((a, b) => b.length - a.length)) out = out.split(s).join('***');
      return out;
    },
  };
}

/** The value, and for a URL with credentials also its password and its encoded form. */
function secretParts(value: string): string[] {
  const parts = [value];
  try {
    const u = new URL(value);
    if (u.password) parts.push(u.password, decodeURIComponent(u.password));
  } catch {
    // not a URL
  }
  // Too short to mask without blanking ordinary text.
  return [...new Set(parts)].filter((p) => p.length >= 4);
}
