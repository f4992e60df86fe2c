/**
 * Early validation of an action's inputs: every problem is collected, then reported at once with
 * the input's name, what it accepts and what it got.
 */
import type { ActionCore } from './action-core.js';

export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid inputs: ${problems.join('; ')}`);
    this.name = 'InputError';
  }
}

/** Names the CLI turns into file names and argv: environments, playbooks. */
export const NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

export class InputReader {
  private readonly problems: string[] = [];

  constructor(private readonly core: Pick<ActionCore, 'getInput'>) {}

  choice<T extends string>(name: string, allowed: readonly T[], fallback?: T): T {
    const raw = this.core.getInput(name);
    if (raw === '' && fallback !== undefined) return fallback;
    if ((allowed as readonly string[]).includes(raw)) return raw as T;
    this.problems.push(`"${name}" must be one of ${allowed.join(', ')} (got ${show(raw)})`);
    return allowed[0]!;
  }

  name(name: string, fallback?: string): string {
    const raw = this.core.getInput(name) || fallback || '';
    if (NAME_PATTERN.test(raw)) return raw;
    this.problems.push(`"${name}" must be a lower-case name like "prod" (got ${show(raw)})`);
    return raw;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.core.getInput(name).toLowerCase();
    if (raw === '') return fallback;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    this.problems.push(`"${name}" must be true or false (got ${show(raw)})`);
    return fallback;
  }

  /** A positive whole number, or undefined when not given. */
  optionalCount(name: string): number | undefined {
    const raw = this.core.getInput(name);
    if (raw === '') return undefined;
    if (/^[1-9][0-9]{0,9}$/.test(raw)) return Number(raw);
    this.problems.push(`"${name}" must be a positive whole number (got ${show(raw)})`);
    return undefined;
  }

  /** A relative path inside the workspace (no "..", not absolute). */
  relativePath(name: string, fallback: string): string {
    const raw = this.core.getInput(name) || fallback;
    if (!raw.startsWith('/') && !raw.split(/[\\/]/).includes('..') && !/^[a-zA-Z]:/.test(raw)) return raw;
    this.problems.push(`"${name}" must be a relative path inside the workspace (got ${show(raw)})`);
    return fallback;
  }

  /** Throws one InputError naming every problem found so far. */
  done(): void {
    if (this.problems.length > 0) throw new InputError([...this.problems]);
  }
}

function show(raw: string): string {
  return raw === '' ? 'nothing' : JSON.stringify(raw.length > 60 ? `${raw.slice(0, 60)}...` : raw);
}
