/** A command-line option that must be a positive integer; exits 2 naming it otherwise. */
export function positiveIntArg(args: Record<string, unknown>, name: string): number {
  const value = Number(args[name]);
  if (!Number.isInteger(value) || value <= 0) {
    process.stderr.write(`--${name} must be a positive integer, got ${JSON.stringify(args[name])}\n`);
    process.exit(2);
  }
  return value;
}
